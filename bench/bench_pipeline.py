"""End-to-end throughput and peak memory: our pipeline vs a plain datatrove pipeline, same input.

The input is a set of WARC.gz files built from the real pages in ../shared/testdata/web (ScrapingHub
articles, trafilatura's evaluation pages, goose3 pages, the Korean pages), cycled to the requested
document count. Both pipelines read the same files in one benchmark run:

* baseline: datatrove WarcReader -> Trafilatura -> LanguageFilter(en, ko; lid.176 offline)
  -> GopherQualityFilter -> JsonlWriter (trafilatura with our settings: favour_precision, and
  deduplicate off, since its process-wide cache would empty the cycled copies and flatter it);
* ours_equal: `dataflow.run.run_pipeline` configured for the baseline's work (extract, normalize,
  langid, Gopher quality; no boilerplate, Korean rules, PII or dedup), committed to Iceberg;
* ours: the default pipeline (extract, normalize, boilerplate, langid, Gopher/C4/FineWeb English
  and FineWeb-2 Korean rules, PII, exact + near dedup, Iceberg commit).

Rates are per document and per MB of HTML each pipeline actually took in: datatrove's WarcReader
silently skips records that libmagic does not call text/html or that do not decode (about 30 % of
these real pages), while ours reads and accounts for every record. Each pipeline runs in a fresh
child process; the child reports wall time, datatrove's per-step
time and its peak RSS (largest single process, and the sampled sum over the whole process tree). Usage:

    python bench/bench_pipeline.py --docs 1000 --workers 1
    python bench/bench_pipeline.py --docs 10000 --workers 2 --only ours     # memory at 10k
    python bench/bench_pipeline.py --docs 200 --only baseline,ours_equal    # a quick subset
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT.parent / "shared" / "testdata" / "web"
LID = ROOT / "models" / "lid.176.ftz"


def pages() -> list[bytes]:
    found = sorted(WEB.rglob("*.html.gz")) + sorted(WEB.rglob("*.html"))
    out = []
    for p in found:
        data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        if b"<" in data[:2000]:
            out.append(data)
    return out


def build_warcs(directory: Path, n_docs: int, n_files: int) -> int:
    source = pages()
    return write_warcs(
        directory, [(f"https://bench.example/{i}", source[i % len(source)]) for i in range(n_docs)], n_files
    )


def write_warcs(directory: Path, records: list[tuple[str, bytes]], n_files: int) -> int:
    """(url, HTML) records as HTTP responses, record i in file i mod n_files; returns the HTML bytes."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    total = 0
    for f in range(n_files):
        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=True)
        for url, body in records[f::n_files]:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)
            writer.write_record(rec)
            total += len(body)
        (directory / f"part-{f:03d}.warc.gz").write_bytes(buf.getvalue())
    return total


def cpu_seconds() -> float:
    """User + sys CPU seconds of this process and of every child it has waited for (datatrove's workers;
    with one worker datatrove runs the tasks in this process)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def jsonl_rows(directory: Path) -> int:
    """Documents datatrove's JsonlWriter wrote (its .jsonl.gz files, one document a line)."""
    total = 0
    for path in directory.glob("*.jsonl.gz"):
        with gzip.open(path) as f:
            total += sum(1 for _ in f)
    return total


def step_times(stats_json: Path) -> dict[str, float]:
    """Total seconds per pipeline step from datatrove's merged stats.json."""
    out = {}
    for step in json.loads(stats_json.read_text()):
        name = step["name"].split(":")[-1].strip()
        t = step.get("time_stats")
        if isinstance(t, dict) and t.get("total"):
            out[name] = round(t["total"], 2)
    return out


def child_baseline(inputs: Path, work: Path, workers: int, tasks: int) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import GopherQualityFilter, LanguageFilter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    from bench.baseline_lid import LocalFT176

    lang = LanguageFilter(languages=["en", "ko"])
    lang.model = LocalFT176(["en", "ko"])
    pipeline = [
        WarcReader(str(inputs), glob_pattern="*.warc.gz"),
        Trafilatura(favour_precision=True, deduplicate=False),
        lang,
        GopherQualityFilter(),
        JsonlWriter(str(work / "out")),
    ]
    t, cpu = time.perf_counter(), cpu_seconds()
    LocalPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=str(work / "logs")).run()
    seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    stats = json.loads((work / "logs" / "stats.json").read_text())
    reader = stats[0]["stats"]  # what WarcReader turned into documents: it silently skips records libmagic
    docs_in = reader["documents"]["total"]  # does not call text/html and records it cannot decode
    html_bytes = reader["doc_len"]["total"]
    kept = jsonl_rows(work / "out")
    steps = step_times(work / "logs" / "stats.json")
    return dict(seconds=seconds, cpu_s=cpu, steps=steps, docs_in=docs_in, bytes_in=html_bytes, docs_out=kept)


# the baseline's work only: extraction, language ID, Gopher quality (plus our normalize and the commit)
EQUAL_WORK = {
    "boilerplate.enabled": False,
    "quality.english_filters": ["gopher"],
    "quality.korean": False,
    "pii.enabled": False,
    "dedup.exact": False,
    "dedup.near": False,
    "dedup.scope": "run",  # no dedup at all: nothing to look up in the published index either
}


def child_ours(inputs: Path, work: Path, workers: int, tasks: int, equal_work: bool = False) -> dict:
    from dataflow.config import load_config
    from dataflow.run import run_pipeline

    overrides = {
        "read.inputs": [str(inputs)],
        "data_root": str(work / "data"),
        "langid.model_path": str(LID),
        "engine.workers": workers,
        "engine.tasks": tasks,
    }
    cfg = load_config(None, overrides | (EQUAL_WORK if equal_work else {}))
    t, cpu = time.perf_counter(), cpu_seconds()
    result = run_pipeline(cfg)
    seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    logs = work / "data" / "runs" / result.run_id / f"local-{tasks}-tasks" / "logs" / "stats.json"
    h = result.report.headline
    steps = step_times(logs)
    return dict(
        seconds=seconds, cpu_s=cpu, steps=steps, docs_in=h.docs_in, bytes_in=h.raw_bytes_in, docs_out=h.docs_out
    )


def child_ours_equal(inputs: Path, work: Path, workers: int, tasks: int) -> dict:
    return child_ours(inputs, work, workers, tasks, equal_work=True)


def run_children(
    chosen: list[str], inputs: Path, tmp: Path, workers: int, tasks: int, module: str = "bench.bench_pipeline"
) -> dict[str, dict]:
    """``run_child`` for each pipeline in ``chosen``, one after the other, with the load average around each."""
    results = {}
    for which in chosen:
        work = tmp / which
        work.mkdir()
        load0 = os.getloadavg()[0]
        results[which] = run_child(which, inputs, work, workers, tasks, module=module)
        results[which]["load"] = (load0, os.getloadavg()[0])
        print(f"{which}: {results[which]['seconds']:.1f} s", file=sys.stderr, flush=True)
    return results


def run_child(
    which: str, inputs: Path, work: Path, workers: int, tasks: int, module: str = "bench.bench_pipeline"
) -> dict:
    """``module.child_<which>`` in a fresh process: its result (``cpu_s`` included) and peak RSS."""
    code = (
        f"import json, resource, sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from loguru import logger; logger.remove()\n"
        f"from {module} import child_{which} as f\n"
        "from pathlib import Path\n"
        f"out = f(Path({str(inputs)!r}), Path({str(work)!r}), {workers}, {tasks})\n"
        "me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "out['peak_rss_mb'] = round(max(me.ru_maxrss, kids.ru_maxrss) / 1024, 1)\n"
        "print('RESULT ' + json.dumps(out))\n"
    )
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err, text=True, cwd=ROOT)
        tree_peak = peak_tree_rss(proc)
        out.seek(0)
        err.seek(0)
        for line in out.read().splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[7:]) | {"peak_tree_rss_mb": round(tree_peak / 2**20, 1)}
        raise RuntimeError(f"{which} failed:\n{err.read()[-4000:]}")


def peak_tree_rss(proc: subprocess.Popen, every: float = 0.2) -> int:
    """Largest summed RSS of the process and all its descendants (worker processes included),
    sampled every ``every`` seconds until it exits."""
    import psutil

    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(every)
    return peak


# datatrove's step names (emoji stripped) -> our stage names, so the per-step table lines up
BASELINE_STEPS = {"Warc": "read", "Trafilatura": "extract", "Language ID": "langid", "Gopher Quality": "gopher_en"}
BASELINE_STEPS |= {"Jsonl": "write"}


def stage_name(step: str) -> str:
    return next((ours for theirs, ours in BASELINE_STEPS.items() if step.endswith(theirs)), step)


def header() -> str:
    """Machine state and the commit measured (the tree is shared: the commit says which code ran)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "dataflow"], capture_output=True, text=True, cwd=ROOT)
    return (
        f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
        f"{os.getloadavg()[0]:.1f}; commit {commit.stdout.strip()}"
        + (" + uncommitted dataflow/ edits" if dirty.stdout else "")
    )


def report(results: dict[str, dict], docs: int, workers: int) -> None:
    """Each pipeline's rates, then one table of seconds per stage, then the ratios to the baseline."""
    cores = min(workers, os.cpu_count() or 1)
    for which, r in results.items():
        r["mb_per_s_core"] = r["bytes_in"] / 1e6 / r["seconds"] / cores
        r["mb_per_cpu_s"] = r["bytes_in"] / 1e6 / r["cpu_s"]
        print(
            f"{which}: {r['seconds']:.1f} s wall, {r['cpu_s']:.1f} CPU-s; took in {r['docs_in']} of {docs} pages, "
            f"kept {r['docs_out']} "
            f"({r['bytes_in'] / 1e6:.1f} MB of HTML): {r['docs_in'] / r['seconds'] / cores:.1f} docs/s and "
            f"{r['mb_per_s_core']:.2f} MB/s per core, {r['mb_per_cpu_s']:.2f} MB per CPU-s; peak RSS of the "
            f"process tree {r['peak_tree_rss_mb']} MB (largest single process {r['peak_rss_mb']} MB); load "
            f"average {r['load'][0]:.1f}-{r['load'][1]:.1f}"
        )
    stages: dict[str, dict[str, float]] = {}
    for which, r in results.items():
        for step, sec in r["steps"].items():
            stages.setdefault(stage_name(step), {})[which] = sec
    print("\nSeconds per stage, summed over tasks (datatrove's step timers; '-': not run)\n")
    print("| stage | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for stage, row in stages.items():
        print(f"| {stage} | " + " | ".join(f"{row[w]:.1f}" if w in row else "-" for w in results) + " |")
    print("| **whole run (wall)** | " + " | ".join(f"{r['seconds']:.1f}" for r in results.values()) + " |")
    if "baseline" in results:
        base = results["baseline"]
        print()
        for which, r in results.items():
            if which != "baseline":
                wall = r["mb_per_s_core"] / base["mb_per_s_core"]
                cpu = r["mb_per_cpu_s"] / base["mb_per_cpu_s"]
                print(
                    f"ratio {which} / baseline, MB of HTML taken in per second per core: {wall:.2f}x "
                    f"(per CPU-second: {cpu:.2f}x)"
                )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--only", help="comma-separated subset of baseline,ours_equal,ours")
    ap.add_argument("--json", help="also write the raw results to this file")
    args = ap.parse_args()
    if not WEB.is_dir():
        sys.exit(f"test data not found at {WEB}")
    chosen = args.only.split(",") if args.only else ["baseline", "ours_equal", "ours"]
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        raw = build_warcs(inputs, args.docs, args.files)
        print(
            f"input: {args.docs} pages, {raw / 1e6:.1f} MB of HTML in {args.files} WARC.gz files; "
            f"workers={args.workers}; {header()}\n"
        )
        results = run_children(chosen, inputs, Path(tmp), args.workers, args.files)
        report(results, args.docs, args.workers)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
