"""Per-rank environment, then the stage: ``accelerate launch ... -m training.launch.per_rank training.cpt ARGS``.

accelerate launch starts the 8 processes of a node with one environment; some settings must differ per rank:
- MIOpen (ROCm) keeps its kernel database and compiled-kernel cache in ``~/.config/miopen`` and ``~/.cache/miopen``
  by default: 8 ranks per node (and every node, on a shared home) writing one SQLite database serialise on its
  lock or corrupt it. Each rank gets its own directory under ``$MIOPEN_CACHE_ROOT`` (node-local scratch;
  default ``/tmp/$USER-miopen``), set before torch first touches the GPU.
The stage module then runs as ``__main__`` with the remaining arguments.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path


def rank_environment(env: dict[str, str]) -> dict[str, str]:
    """The per-rank variables for a process whose launcher set RANK (pure: returns only what to add)."""
    rank = env.get("RANK", env.get("SLURM_PROCID", "0"))
    root = env.get("MIOPEN_CACHE_ROOT") or f"/tmp/{env.get('USER', 'user')}-miopen"
    cache = str(Path(root) / f"rank-{int(rank):05d}")
    return {"MIOPEN_USER_DB_PATH": cache, "MIOPEN_CUSTOM_CACHE_DIR": cache}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit("usage: python -m training.launch.per_rank MODULE [ARGS...]")
    extra = rank_environment(dict(os.environ))
    Path(extra["MIOPEN_USER_DB_PATH"]).mkdir(parents=True, exist_ok=True)
    os.environ.update(extra)
    module, *rest = argv
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
