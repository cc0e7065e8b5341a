"""Documents/s of the whole pipeline on the local, Spark and Beam engines, 1 vs 2 workers, and peak memory.

Run: ``.venv/bin/python bench/bench_engines.py`` (about 10 minutes on 2 cores; ``--engines spark``
or ``--workers 2`` to run a part). Prints a Markdown table.

Input (read-only, ../shared/testdata and samples/demo): the 181 ScrapingHub English article pages,
the 51 goose3 pages, the 4 real Korean pages, samples/demo, and the 961 KorQuAD v1 dev contexts
as 8 JSONL files (Korean Wikipedia paragraphs): about 1,250 documents, ~75 % Korean by count.
Every run is a fresh process with a fresh data root, so each pays its own start-up (Spark's JVM,
Beam's worker processes) and commits its own snapshot; docs/s = documents read / wall seconds of
``run_pipeline`` (start-up included: that is what a nightly run pays too; Spark's session start
is also shown apart).

Peak memory: the driver's RSS (``VmHWM`` of the Python process), and for Spark the JVM's peak
RSS too (the driver JVM, which in local[N] also runs the executors); for local and Beam the peak
RSS summed over the worker processes, sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
LID = ROOT / "models" / "lid.176.ftz"


def build_inputs(out: Path) -> list[str]:
    """The input globs of the benchmark (JSONL written under ``out``)."""
    with gzip.open(TESTDATA / "korean_text/korquad_v1/KorQuAD_v1.0_dev.json.gz") as f:
        data = json.load(f)
    contexts = list(dict.fromkeys(p["context"] for a in data["data"] for p in a["paragraphs"]))
    out.mkdir(parents=True, exist_ok=True)
    for shard in range(8):
        with open(out / f"korquad-{shard}.jsonl", "w", encoding="utf-8") as f:
            for i, text in enumerate(contexts[shard::8]):
                f.write(json.dumps({"id": f"kq{shard}-{i}", "text": text}, ensure_ascii=False) + "\n")
    web = TESTDATA / "web"
    return [
        str(web / "scrapinghub_article_extraction_benchmark/html/*.html.gz"),
        str(web / "goose3_content_tests/*.html.gz"),
        str(web / "korean_pages/*.html.gz"),
        str(ROOT / "samples/demo"),
        str(out / "*.jsonl"),
    ]


def _peak_sampler(stop: threading.Event, peaks: dict[str, int]) -> None:
    """Peak RSS of the JVM children and of the sum of other child processes (bytes)."""
    import psutil

    me = psutil.Process()
    while not stop.wait(0.2):
        jvm = others = 0
        for child in me.children(recursive=True):
            try:
                rss = child.memory_info().rss
                if "java" in child.name():
                    jvm += rss
                else:
                    others += rss
            except psutil.Error:
                continue
        peaks["jvm"] = max(peaks.get("jvm", 0), jvm)
        peaks["workers"] = max(peaks.get("workers", 0), others)


def one_run(engine: str, workers: int, inputs: list[str], root: str) -> dict:
    """Run in THIS process (a child of ``main``): the pipeline once, with timings and peaks."""
    from dataflow.config import load_config
    from dataflow.run import run_pipeline

    overrides = {
        "read.inputs": inputs,
        "langid.model_path": str(LID),
        "data_root": root,
        "engine.name": engine,
        "engine.workers": workers,
        "engine.tasks": 2 * workers if engine != "local" else 0,  # two shards per core: less tail wait
    }
    cfg = load_config(None, overrides)
    stop, peaks = threading.Event(), {}
    sampler = threading.Thread(target=_peak_sampler, args=(stop, peaks), daemon=True)
    sampler.start()
    session = 0.0
    if engine == "spark":
        from dataflow.engines.spark import spark_session

        t0 = time.perf_counter()
        spark_session(cfg).sparkContext.setLogLevel("ERROR")
        session = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = run_pipeline(cfg)
    wall = time.perf_counter() - t0 + session
    stop.set()
    sampler.join()
    status = Path("/proc/self/status").read_text()
    hwm = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM"))
    return dict(
        engine=engine,
        workers=workers,
        docs_in=result.report.headline.docs_in,
        docs_out=result.report.headline.docs_out,
        chars_in=result.report.headline.chars_in,  # characters of extracted text entering normalize
        raw_bytes_in=result.report.headline.raw_bytes_in,
        wall=wall,
        session=session,
        driver_rss=hwm,
        jvm_rss=peaks.get("jvm", 0),
        workers_rss=peaks.get("workers", 0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="local,spark,beam")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # engine, workers, root, inputs (json)
        engine, workers, root, inputs = json.loads(args.child)
        print("RESULT " + json.dumps(one_run(engine, workers, inputs, root)), flush=True)
        return

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_engines_") as tmp:
        inputs = build_inputs(Path(tmp) / "inputs")
        for engine in args.engines.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                root = str(Path(tmp) / f"{engine}-{workers}")
                child = json.dumps([engine, workers, root, inputs])
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", child], capture_output=True, text=True, cwd=ROOT
                )
                line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
                if line is None:
                    print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
                    raise SystemExit(f"{engine} with {workers} workers failed")
                rows.append(json.loads(line[7:]))
                print(f"{engine} x{workers}: {rows[-1]['wall']:.1f} s", file=sys.stderr, flush=True)

    mib = 1 << 20
    base = {(r["engine"], r["workers"]): r["wall"] for r in rows}
    r0 = rows[0]
    print(f"\n{r0['docs_in']:,} documents in ({r0['raw_bytes_in'] / mib:.1f} MiB raw, {r0['chars_in']:,} characters")
    print(f"of extracted text), {r0['docs_out']:,} kept; 2-core machine\n")
    print(
        "| engine | workers | wall s | docs/s | k chars/s | speed-up vs 1 worker | driver peak RSS MiB "
        "| JVM peak MiB | worker processes peak MiB | of which Spark session start s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        one = base.get((r["engine"], 1))
        speedup = f"{one / r['wall']:.2f}x" if one and r["workers"] != 1 else "-"
        rate = f"{r['docs_in'] / r['wall']:.1f} | {r['chars_in'] / r['wall'] / 1000:.0f}"
        print(
            f"| {r['engine']} | {r['workers']} | {r['wall']:.1f} | {rate} | {speedup} "
            f"| {r['driver_rss'] / mib:.0f} | {r['jvm_rss'] / mib:.0f} | {r['workers_rss'] / mib:.0f} "
            f"| {r['session']:.1f} |"
        )


if __name__ == "__main__":
    main()
