"""Discovery cost: ``discover_inputs`` (links resolved and checked against the roots, every path
classified) against the anchor ``os.walk(followlinks=True)`` + ``is_file`` that it replaced.

    flock /tmp/bench.lock .venv/bin/python bench/bench_discovery.py [--files 20000] [--dirs 200]

Builds a synthetic tree in a temporary directory (plain files in nested directories plus 1% links
inside the tree and 1% hidden files), then times each lister best-of-5 and prints a Markdown row.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import best_of  # noqa: E402  (bench/ is on sys.path when run as a script)

from dataflow.readers.discover import discover_inputs  # noqa: E402


def build(root: Path, files: int, dirs: int) -> None:
    for d in range(dirs):
        sub = root / f"d{d // 20:03d}" / f"s{d:04d}"
        sub.mkdir(parents=True)
    subs = sorted(root.glob("*/*"))
    for i in range(files):
        (subs[i % dirs] / f"f{i:06d}.html").write_bytes(b"<p>x</p>")
    for i in range(0, files, 100):  # links inside the tree and hidden names: the cases discovery classifies
        target = subs[i % dirs] / f"f{i:06d}.html"
        (subs[(i + 1) % dirs] / f"link{i:06d}.html").symlink_to(target)
        (subs[(i + 2) % dirs] / f".hidden{i:06d}").write_bytes(b"x")


def anchor(root: Path) -> int:
    """The lister discovery replaced: follows every link, checks nothing, drops hidden names silently."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            p = Path(dirpath, name)
            if not name.startswith(".") and p.is_file():
                found.add(p.resolve())
    return len(found)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--dirs", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "in"
        build(root, args.files, args.dirs)
        t_anchor, n_anchor = best_of(lambda: anchor(root), 5)
        t_ours, d = best_of(lambda: discover_inputs([str(root)]), 5)
        print(f"paths: anchor {n_anchor} files; discover_inputs {len(d.files)} read + {len(d.refused)} refused")
        print("| lister | files | seconds (best of 5) | files/s | ratio to anchor |")
        print("|---|---|---|---|---|")
        print(
            f"| os.walk(followlinks) + is_file (anchor) | {args.files:,} | {t_anchor:.3f} | "
            f"{args.files / t_anchor:,.0f} | 1.00 |"
        )
        print(
            f"| discover_inputs | {args.files:,} | {t_ours:.3f} | {args.files / t_ours:,.0f} | "
            f"{t_ours / t_anchor:.2f}x the time |"
        )


if __name__ == "__main__":
    main()
