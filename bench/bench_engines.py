"""Documents/s of the whole pipeline on the local, Spark and Beam engines, 1 vs 2 workers, and peak memory.

Run: ``.venv/bin/python bench/bench_engines.py`` (7.7 minutes on 2 cores on 2026-12-02; ``--engines spark``
or ``--workers 2`` to run a part; ``--copies 1`` for the input once only; ``--set KEY=VALUE`` for a config
setting on every run, e.g. ``--set engine.spark.driver_plan_max_docs=0`` for Spark's distributed dedup
plan). Prints Markdown tables.

By default every engine and worker count runs twice: on the input once and on four copies of it
(``--copies 1,4``). A nightly run lasts hours, so what decides its cost is the steady state, not the
start-up a 17-second run is dominated by; both are reported. From the two walls of one engine and
worker count, wall(c) = fixed + c x per-copy: the fixed start-up (JVM, worker processes, model
loading, commit) and the per-copy work are given apart, with the speed-up of each.

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

Profile (printed as a second table): the run is cut into phases at calls the engines make
(wrapped in the child process only; the engines are not changed for it), and each phase gets its
wall seconds, the CPU seconds (user + sys) of the driver process alone and of the whole process
tree (driver, JVM, Python and SDK workers, datatrove's pool; exited children count through their
parent's ``children_*`` times), and the JVM's own share of it. Tree CPU / wall is how many cores
the phase kept busy: 2.0 is both cores, 1.0 means the second worker idled. The load average of the
machine is printed before and after each run (other engineers share it). Shard balance: input
bytes per shard, and for the local engine each datatrove task's seconds in the stages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
LID = ROOT / "models" / "lid.176.ftz"


def build_inputs(out: Path, copies: int = 1) -> list[str]:
    """The input globs of the benchmark (JSONL written under ``out``). ``copies`` > 1: that many copies of
    every input file under ``out`` (the same documents again: phase 1 does the same work per copy, dedup then
    drops the copies), so that per-process start-up is a smaller share of the run."""
    with gzip.open(TESTDATA / "korean_text/korquad_v1/KorQuAD_v1.0_dev.json.gz") as f:
        data = json.load(f)
    contexts = list(dict.fromkeys(p["context"] for a in data["data"] for p in a["paragraphs"]))
    out.mkdir(parents=True, exist_ok=True)
    for shard in range(8):
        with open(out / f"korquad-{shard}.jsonl", "w", encoding="utf-8") as f:
            for i, text in enumerate(contexts[shard::8]):
                f.write(json.dumps({"id": f"kq{shard}-{i}", "text": text}, ensure_ascii=False) + "\n")
    web = TESTDATA / "web"
    globs = [
        str(web / "scrapinghub_article_extraction_benchmark/html/*.html.gz"),
        str(web / "goose3_content_tests/*.html.gz"),
        str(web / "korean_pages/*.html.gz"),
        str(ROOT / "samples/demo"),
        str(out / "*.jsonl"),
    ]
    if copies == 1:
        return globs
    import glob
    import shutil

    for k in range(copies):
        for i, pattern in enumerate(globs):
            target = out / f"copy-{k}" / str(i)
            if Path(pattern).is_dir():
                shutil.copytree(pattern, target)
            else:
                target.mkdir(parents=True)
                for path in glob.glob(pattern):
                    shutil.copy(path, target)
    return [str(out / f"copy-{k}") for k in range(copies)]


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


def tree_cpu() -> tuple[float, float, float]:
    """(driver CPU s, process-tree CPU s, of which JVM s): user + sys, exited children included via
    ``children_*`` (Spark's Python workers are the JVM's children: counted apart from it)."""
    import psutil

    me = psutil.Process()
    t = me.cpu_times()
    driver = t.user + t.system
    total, jvm = driver + t.children_user + t.children_system, 0.0
    for child in me.children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system + c.children_user + c.children_system
            if "java" in child.name():
                jvm += c.user + c.system
        except psutil.Error:
            continue
    return driver, total, jvm


class Timeline:
    """Phase boundaries: (phase that starts here, wall, driver CPU, tree CPU, JVM CPU)."""

    def __init__(self) -> None:
        self.points: list[tuple[str, float, float, float, float]] = []

    def mark(self, phase: str) -> None:
        self.points.append((phase, time.perf_counter(), *tree_cpu()))

    def phases(self) -> list[dict]:
        out: dict[str, dict] = {}  # a phase entered several times (Spark writes) is summed
        for (name, w0, d0, c0, j0), (_, w1, d1, c1, j1) in zip(self.points, self.points[1:], strict=False):
            acc = out.setdefault(name, dict(phase=name, wall=0.0, driver_cpu=0.0, tree_cpu=0.0, jvm_cpu=0.0))
            acc["wall"] += w1 - w0
            acc["driver_cpu"] += d1 - d0
            acc["tree_cpu"] += c1 - c0
            acc["jvm_cpu"] += j1 - j0
        return list(out.values())


def _wrap(owner, attr: str, timeline: Timeline, enter: str, leave: str | None = None, first_only: bool = False):
    """Replace ``owner.attr`` by a function marking ``enter`` before and ``leave`` after each call."""
    inner = getattr(owner, attr)
    calls = [0]

    def wrapped(*args, **kwargs):
        calls[0] += 1
        if first_only and calls[0] > 1:
            return inner(*args, **kwargs)
        timeline.mark(enter)
        try:
            return inner(*args, **kwargs)
        finally:
            if leave:
                timeline.mark(leave)

    setattr(owner, attr, wrapped)


def instrument(engine: str, timeline: Timeline, shards: dict) -> None:
    """Phase marks at the calls each engine makes (this process only)."""
    import dataflow.engines.beam as beam_engine
    import dataflow.engines.local as local_engine
    import dataflow.engines.spark as spark_engine
    from dataflow import pipeline

    inner_count = pipeline.shard_count

    def count(cfg, n_files):  # records the sharding: input bytes per shard (file i -> shard i mod n)
        n = inner_count(cfg, n_files)
        shards["tasks"] = n
        return n

    for module in (local_engine, spark_engine, beam_engine):
        module.shard_count = count
    for module, name in ((local_engine, "run_local"), (spark_engine, "run_spark"), (beam_engine, "run_beam")):
        fn = getattr(module, name)

        def engine_fn(job, _fn=fn, **kwargs):
            shards["bytes"] = [f.size for f in job.files]
            shards["names"] = [f.path.name for f in job.files]
            return _fn(job, **kwargs)

        setattr(module, name, engine_fn)
    if engine == "local":
        import dataflow.dedup

        _wrap(local_engine.LocalPipelineExecutor, "run", timeline, "phase 1: datatrove tasks", "ledgers + dedup plan")
        _wrap(dataflow.dedup, "plan_dedup", timeline, "ledgers + dedup plan", "finish + write (driver)")
        _wrap(local_engine, "run_local", timeline, "engine setup", "commit + report")
    elif engine == "spark":
        from pyspark.sql import DataFrameWriter

        _wrap(spark_engine, "run_spark", timeline, "engine setup", "commit + report")
        # the three Parquet writes of run_spark, in order; phase 2's first action (the ledger collect)
        # computes the dedup plan, the join and finish_rows, persisted for the two table writes
        names = iter(["phase 1: shards (mapInArrow + write)", "phase 2: write documents", "phase 2: write rejects"])
        inner_parquet = DataFrameWriter.parquet

        def parquet(self, *args, **kwargs):
            name = next(names, "other write")
            timeline.mark(name)
            try:
                return inner_parquet(self, *args, **kwargs)
            finally:
                if name.startswith("phase 1"):
                    timeline.mark("phase 2: collects + dedup plan + join + finish")

        DataFrameWriter.parquet = parquet
    else:
        import apache_beam as beam

        _wrap(beam_engine, "run_beam", timeline, "graph build", "commit + report")
        _wrap(beam.Pipeline, "run", timeline, "graph run (every stage)", "read ledger + manifests")


def one_run(engine: str, workers: int, inputs: list[str], root: str, settings: dict | None = None) -> dict:
    """Run in THIS process (a child of ``main``): the pipeline once, with timings and peaks (``settings``:
    config keys set on top of the bench's, ``--set``)."""
    from dataflow.config import load_config
    from dataflow.run import run_pipeline

    overrides = {
        "read.inputs": inputs,
        "langid.model_path": str(LID),
        "data_root": root,
        "engine.name": engine,
        "engine.workers": workers,
        "engine.tasks": 2 * workers if engine != "local" else 0,  # two shards per core: less tail wait
        **(settings or {}),
    }
    cfg = load_config(None, overrides)
    stop, peaks = threading.Event(), {}
    sampler = threading.Thread(target=_peak_sampler, args=(stop, peaks), daemon=True)
    sampler.start()
    timeline, shards = Timeline(), {}
    instrument(engine, timeline, shards)
    load0 = os.getloadavg()[0]
    session = 0.0
    if engine == "spark":
        from dataflow.engines.spark import spark_session

        timeline.mark("session / JVM start")
        t0 = time.perf_counter()
        spark_session(cfg).sparkContext.setLogLevel("ERROR")
        session = time.perf_counter() - t0
    t0 = time.perf_counter()
    timeline.mark("discover + run id")
    result = run_pipeline(cfg)
    timeline.mark("end")
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
        phases=timeline.phases(),
        load=(load0, os.getloadavg()[0]),
        shard_bytes=shard_bytes(shards),
        task_walls=task_walls(root),
    )


def shard_bytes(shards: dict) -> list[int]:
    """Input bytes per shard under the engines' sharding (file i -> shard i mod tasks)."""
    tasks, sizes = shards.get("tasks", 1), shards.get("bytes", [])
    return [sum(sizes[i::tasks]) for i in range(tasks)]


def task_walls(root: str) -> list[float]:
    """The local engine's datatrove tasks: seconds per task in the stages (datatrove's step time stats)."""
    walls = []
    for path in sorted(Path(root).glob("**/local-*-tasks/logs/stats/*.json")):
        steps = json.loads(path.read_text())
        times = [step.get("time_stats") for step in steps]  # 0 for a step datatrove does not time (the reader)
        walls.append(round(sum(t["total"] for t in times if isinstance(t, dict)), 2))
    return walls


def total_cpu(row: dict) -> float:
    """Process-tree CPU seconds of a whole run (every phase)."""
    return sum(ph["tree_cpu"] for ph in row["phases"])


def fit_line(walls: dict[int, float]) -> tuple[float, float] | None:
    """(fixed s, s per copy) of wall(c) = fixed + c x per-copy through the fewest and most copies run."""
    if len(walls) < 2:
        return None
    lo, hi = min(walls), max(walls)
    per_copy = (walls[hi] - walls[lo]) / (hi - lo)
    return walls[lo] - lo * per_copy, per_copy


def print_scaling(rows: list[dict]) -> None:
    """Per engine and worker count: walls and tree CPU at each copy count, the fixed start-up and the
    per-copy work from them, and the 1 -> N worker speed-ups of the wall at each copy count and of the
    per-copy work (the steady state)."""
    runs: dict[tuple[str, int], dict[int, dict]] = {}
    for r in rows:
        runs.setdefault((r["engine"], r["workers"]), {})[r["copies"]] = r
    copies = sorted({r["copies"] for r in rows})
    head = " | ".join(f"wall s, {c} cop. | tree CPU s, {c} cop. | speed-up, {c} cop." for c in copies)
    print(f"\nScaling: wall(copies) = fixed + copies x per-copy (a line through {copies[0]} and {copies[-1]} copies)\n")
    print(f"| engine | workers | {head} | fixed start-up s | per copy s | per-copy speed-up |")
    print("|---|---|" + "---|---|---|" * len(copies) + "---|---|---|")
    for (engine, workers), by_copies in runs.items():
        one = runs.get((engine, 1), {})
        cells = []
        for c in copies:
            r = by_copies.get(c)
            if r is None:
                cells.append("| - | - | -")
                continue
            speedup = f"{one[c]['wall'] / r['wall']:.2f}x" if workers != 1 and c in one else "-"
            cells.append(f"| {r['wall']:.1f} | {total_cpu(r):.1f} | {speedup}")
        fit = fit_line({c: r["wall"] for c, r in by_copies.items()})
        fit_one = fit_line({c: r["wall"] for c, r in one.items()})
        fixed = f"{fit[0]:.1f} | {fit[1]:.1f}" if fit else "- | -"
        steady = f"{fit_one[1] / fit[1]:.2f}x" if fit and fit_one and workers != 1 and fit[1] > 0 else "-"
        print(f"| {engine} | {workers} {' '.join(cells)} | {fixed} | {steady} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="local,spark,beam")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--json", help="also write the raw rows (phases included) to this file")
    parser.add_argument("--copies", default="1,4", help="copies of the input to run on, e.g. 1,4")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config setting for every run (YAML value), e.g. engine.spark.driver_plan_max_docs=0",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # engine, workers, root, inputs, settings (json)
        engine, workers, root, inputs, settings = json.loads(args.child)
        print("RESULT " + json.dumps(one_run(engine, workers, inputs, root, settings)), flush=True)
        return
    from dataflow.config import parse_sets

    settings = parse_sets(args.set)

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_engines_") as tmp:
        for copies in (int(c) for c in args.copies.split(",")):
            inputs = build_inputs(Path(tmp) / f"inputs-{copies}", copies)
            for engine in args.engines.split(","):
                for workers in (int(w) for w in args.workers.split(",")):
                    root = str(Path(tmp) / f"{engine}-{workers}-{copies}")
                    child = json.dumps([engine, workers, root, inputs, settings])
                    proc = subprocess.run(
                        [sys.executable, __file__, "--child", child], capture_output=True, text=True, cwd=ROOT
                    )
                    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
                    if line is None:
                        print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
                        raise SystemExit(f"{engine} with {workers} workers on {copies} copies failed")
                    rows.append(dict(json.loads(line[7:]), copies=copies))
                    print(
                        f"{engine} x{workers}, {copies} copies: {rows[-1]['wall']:.1f} s", file=sys.stderr, flush=True
                    )

    if args.json:  # first: the raw rows survive a failure in the tables below
        Path(args.json).write_text(json.dumps(rows, indent=1))
    mib = 1 << 20
    base = {(r["engine"], r["workers"], r["copies"]): r["wall"] for r in rows}
    for copies in dict.fromkeys(r["copies"] for r in rows):
        r0 = next(r for r in rows if r["copies"] == copies)
        print(f"\n{copies} copies: {r0['docs_in']:,} documents in ({r0['raw_bytes_in'] / mib:.1f} MiB raw, ", end="")
        print(f"{r0['chars_in']:,} characters of extracted text), {r0['docs_out']:,} kept; 2-core machine")
    print(
        "\n| engine | workers | copies | wall s | docs/s | k chars/s | speed-up vs 1 worker | driver peak RSS MiB "
        "| JVM peak MiB | worker processes peak MiB | of which Spark session start s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        one = base.get((r["engine"], 1, r["copies"]))
        speedup = f"{one / r['wall']:.2f}x" if one and r["workers"] != 1 else "-"
        rate = f"{r['docs_in'] / r['wall']:.1f} | {r['chars_in'] / r['wall'] / 1000:.0f}"
        print(
            f"| {r['engine']} | {r['workers']} | {r['copies']} | {r['wall']:.1f} | {rate} | {speedup} "
            f"| {r['driver_rss'] / mib:.0f} | {r['jvm_rss'] / mib:.0f} | {r['workers_rss'] / mib:.0f} "
            f"| {r['session']:.1f} |"
        )
    print_scaling(rows)

    print("\nProfile: wall s / driver CPU s / process-tree CPU s per phase (tree CPU / wall = cores busy)\n")
    print(
        "| engine | workers | copies | load avg start-end | phase | wall s | driver CPU s | tree CPU s "
        "| of which JVM s | cores busy |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        run = f"| {r['engine']} | {r['workers']} | {r['copies']} | {r['load'][0]:.1f}-{r['load'][1]:.1f}"
        for ph in r["phases"]:
            busy = ph["tree_cpu"] / ph["wall"] if ph["wall"] > 0 else 0.0
            print(
                f"{run} | {ph['phase']} | {ph['wall']:.1f} | {ph['driver_cpu']:.1f} | {ph['tree_cpu']:.1f} "
                f"| {ph.get('jvm_cpu', 0.0):.1f} | {busy:.2f} |"
            )
        jvm = sum(ph.get("jvm_cpu", 0.0) for ph in r["phases"])
        print(f"{run} | **total** | {r['wall']:.1f} | | {total_cpu(r):.1f} | {jvm:.1f} | |")
    print("\nShard balance: input MiB per shard; local: seconds in the stages per datatrove task\n")
    for r in rows:
        mibs = ", ".join(f"{b / mib:.1f}" for b in r["shard_bytes"])
        print(f"- {r['engine']} x{r['workers']}, {r['copies']} copies: {mibs} MiB; tasks {r['task_walls'] or '-'} s")


if __name__ == "__main__":
    main()
