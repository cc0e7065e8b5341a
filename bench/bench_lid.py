"""Language-ID accuracy, lid.176 alone vs the Korean-aware decision (`make bench` runs it; BENCHMARKS.md).

Run: ``.venv/bin/python bench/bench_lid.py`` (a few seconds): the tables of ``python -m quality_models.lid_eval``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quality_models.lid_eval import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
