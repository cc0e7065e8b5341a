"""`make bench`: run every benchmark in turn, print its table and keep it in bench/results/.

    python bench/run_all.py                 # all of them (tens of minutes on 2 cores)
    python bench/run_all.py pdf dedup       # only those whose name contains a word given

Numbers go into BENCHMARKS.md by hand, with the command, the machine and the date.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ["bench_extraction.py"],
    ["bench_pipeline.py", "--docs", "1000", "--workers", "1"],
    ["bench_pipeline_ko.py"],
    ["bench_text_stages.py"],
    ["bench_text_stages.py", "--english"],
    ["bench_quality_ko.py"],
    ["bench_quality_model.py"],
    ["bench_lid.py"],
    ["bench_pii.py"],
    ["bench_dedup.py"],
    ["bench_pdf.py"],
    ["bench_patent.py"],
    ["bench_hwp.py"],
    ["bench_engines.py"],
    ["bench_spark_dedup.py"],
    ["bench_judge.py"],
    ["bench_mix.py"],
    ["bench_nightly.py", "index"],
    ["bench_nightly.py", "soak", "--docs", "10000"],
    ["bench_nightly_engines.py"],
]


def main(words: list[str]) -> int:
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    failed = []
    for cmd in BENCHES:
        if words and not any(w in cmd[0] for w in words):
            continue
        if not (HERE / cmd[0]).is_file():
            continue
        print(f"\n## {' '.join(cmd)}", flush=True)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], capture_output=True, text=True)
        print(proc.stdout)
        # one results file per variant: bench_nightly-index, bench_nightly-soak, bench_text_stages-english
        part = f"-{cmd[1].lstrip('-')}" if cmd[1:] and cmd[1] != "--docs" else ""
        (out_dir / f"{Path(cmd[0]).stem}{part}.md").write_text(proc.stdout, encoding="utf-8")
        if proc.returncode:
            failed.append(cmd[0])
            print(proc.stderr[-3000:], file=sys.stderr)
        print(f"({time.perf_counter() - t:.0f} s)", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
