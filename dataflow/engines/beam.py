"""The Beam engine: the same two phases as ``engines.local`` as one labelled Beam graph.

    ListShards -> SpreadShards -> RunStages --staging--> DedupKeys -> PlanDedup --+
                                   |           `-------------------------------> JoinPlan -> FinishDedup
                                   |--rejects--> AllRejects <----- rejects ------------------------'|
                                   |--ledger---> AllLedgers <----- ledger -------------------------'|
                                   `--manifest-> GatherManifests                 documents <--------'
    AllRejects -> WriteRejects, documents -> WriteDocuments (Parquet, table schemas),
    AllLedgers -> MergeLedgers -> WriteLedger, GatherManifests -> WriteManifests (JSON for the driver)

``RunStages`` runs ``pipeline.ShardRunner`` (reading + every per-document stage) over a shard's
files (file i -> shard i mod tasks, as on the local engine); rejects leave through a tagged
output, each stage's outcomes are Beam metrics (namespace ``stages``, name
``<index>_<stage>/<outcome>/<reason>``, documents) and the ledger itself is a tagged output,
merged with a CombineFn and written as JSON for the driver, so the stats table is the local
engine's exactly. Global dedup is ``dedup.beam_cc.PlanDedup`` (GroupByKey over exact and band
keys, bounded label propagation); ``FinishDedup`` applies the plan with ``pipeline.finish_rows``,
the function the local engine uses. Documents and rejects are written by ``WriteToParquet`` with
the exact table schemas, then committed by ``dataflow.run`` like every engine's files.

Runs on the DirectRunner (one process) and on the multi-process direct runner
(``--direct_num_workers``, ``--direct_running_mode=multi_processing``) here, and takes the
documented flags of FlinkRunner, SparkRunner and DataflowRunner (docs/engines.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator

import apache_beam as beam
import pyarrow.fs as pafs
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from dataflow.config import PipelineConfig
from dataflow.dedup.beam_cc import PlanDedup
from dataflow.engines.result import DEDUP_KEY_COLUMNS, DEDUP_ONLY_COLUMNS, EngineJob, EngineResult
from dataflow.ledger import Ledger
from dataflow.pipeline import ShardRunner, finish_rows, shard_count, split_rows
from dataflow.readers.discover import InputFile
from schemas import DOCUMENTS, KEPT, REJECTS

log = logging.getLogger(__name__)


def pipeline_options(cfg: PipelineConfig) -> PipelineOptions:
    """Runner flags from ``engine.beam``; on the DirectRunner ``engine.workers`` worker processes."""
    opts = cfg.engine.beam
    flags = [f"--runner={opts.runner}"]
    if opts.runner == "DirectRunner":
        flags += [f"--direct_num_workers={cfg.engine.workers}"]
        if cfg.engine.workers > 1 and not forks_workers(cfg):
            flags += [f"--direct_running_mode={opts.direct_running_mode}"]
    return PipelineOptions(flags + list(opts.flags))


def forks_workers(cfg: PipelineConfig) -> bool:
    """The multi-process DirectRunner: its SDK workers are forked from a preloaded server
    (``engines.beam_workers``) instead of each starting a fresh interpreter."""
    opts = cfg.engine.beam
    return opts.runner == "DirectRunner" and cfg.engine.workers > 1 and opts.direct_running_mode == "multi_processing"


class _ForkedWorkersNote(logging.Filter):
    """FnApiRunner warns that several workers need ``direct_running_mode=multi_processing``; with the
    forked workers the environment is given to the runner itself, so the mode is left unset on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "direct_running_mode" not in record.getMessage()


@contextlib.contextmanager
def _runner(cfg: PipelineConfig):
    """The runner object for ``beam.Pipeline``: None (the one ``engine.beam.runner`` names), or the
    DirectRunner with forked SDK workers."""
    if not forks_workers(cfg):
        yield None
        return
    from dataflow.engines.beam_workers import forked_workers

    note = _ForkedWorkersNote()
    fn_log = logging.getLogger("apache_beam.runners.portability.fn_api_runner.fn_runner")
    fn_log.addFilter(note)
    try:
        with forked_workers(cfg) as runner:
            yield runner
    finally:
        fn_log.removeFilter(note)


def count_stages(ledger: Ledger) -> None:
    """Every (stage, outcome, reason) cell of a ledger as a Beam counter of documents."""
    for (index, stage, _kind, _lang, outcome, reason), cell in ledger.cells.items():
        name = f"{index:02d}_{stage}/{outcome}" + (f"/{reason}" if outcome != KEPT else "")
        Metrics.counter("stages", name).inc(cell[0])


class RunStages(beam.DoFn):
    """One shard index -> its kept documents with dedup keys (main), rejects, ledger, manifest (tagged)."""

    def __init__(self, cfg: PipelineConfig, files: list[InputFile], run_id: str, tasks: int, make_runner: Callable):
        self.cfg, self.files, self.run_id, self.tasks, self.make_runner = cfg, files, run_id, tasks, make_runner

    def process(self, index: int) -> Iterator:
        runner = self.make_runner(self.cfg)
        for kind, row in split_rows(runner.run(self.files[index :: self.tasks]), self.run_id, self.cfg):
            yield row if kind == "staging" else beam.pvalue.TaggedOutput(kind, row)
        count_stages(runner.ledger)
        yield beam.pvalue.TaggedOutput("ledger", runner.ledger)
        yield beam.pvalue.TaggedOutput("manifest", (index, runner.manifests))


class FinishDedup(beam.DoFn):
    """(id, {row: [staged row], plan: [entry]}) -> a documents row (main) or a dedup reject (tagged),
    counted by ``finish_rows`` into a per-bundle ledger that leaves as a tagged output."""

    def __init__(self, cfg: PipelineConfig) -> None:
        self.cfg = cfg

    def start_bundle(self) -> None:
        self.ledger = Ledger()

    def process(self, item) -> Iterator:
        doc_id, parts = item
        for kind, row in finish_rows(parts["row"], entry_plan(doc_id, parts["plan"]), self.cfg, self.ledger):
            yield row if kind == "documents" else beam.pvalue.TaggedOutput(kind, row)

    def finish_bundle(self) -> Iterator:
        from apache_beam.transforms.window import GlobalWindows

        count_stages(self.ledger)
        yield beam.pvalue.TaggedOutput("ledger", GlobalWindows.windowed_value(self.ledger))


def entry_plan(doc_id: str, entries: list[tuple]):
    """The ``DedupPlan`` of one document from its ``PlanDedup`` entries (none, or one): (reason,
    duplicate_of, cluster) and, in corpus scope, the snapshot of a published kept copy."""
    from dataflow.dedup import DedupPlan

    plan = DedupPlan.from_rows((doc_id, *entry[:3]) for entry in entries)
    plan.published_in = {e[1]: e[3] for e in entries if len(e) > 3 and e[3] is not None}
    return plan


class MergeLedgers(beam.CombineFn):
    def create_accumulator(self) -> Ledger:
        return Ledger()

    def add_input(self, acc: Ledger, ledger: Ledger) -> Ledger:
        return acc.merge(ledger)

    def merge_accumulators(self, accs) -> Ledger:
        out = Ledger()
        for acc in accs:
            out.merge(acc)
        return out

    def extract_output(self, acc: Ledger) -> str:
        return acc.dumps()


def _beam_path(uri: str) -> str:
    """Beam's local filesystem takes plain paths; gs://, s3://, hdfs:// URIs pass through."""
    return uri.removeprefix("file://")


def _clear(directory: str) -> None:
    """Remove parts a failed earlier attempt of this (uncommitted) run left in its own directory."""
    from dataflow.snapshots.files import list_parts

    fs, _ = pafs.FileSystem.from_uri(directory)
    for uri in list_parts(directory):
        fs.delete_file(pafs.FileSystem.from_uri(uri)[1])


def run_beam(job: EngineJob, *, make_runner: Callable[[PipelineConfig], ShardRunner] = ShardRunner) -> EngineResult:
    """Build and run the Beam graph above; ``make_runner`` builds each shard's ``ShardRunner``."""
    # imported here, in the driver: every SDK worker process imports this module to unpickle the DoFns,
    # and dataflow.snapshots brings pyiceberg and SQLAlchemy (0.8 s of imports per worker, -X importtime)
    from dataflow.dedup.minhash import load_kernels
    from dataflow.snapshots.files import PartWriter, list_parts

    cfg, table_dirs = job.cfg, job.table_dirs
    tasks = shard_count(cfg, len(job.files))
    scratch = job.run_dir / "beam"
    scratch.mkdir(parents=True, exist_ok=True)
    for name in ("documents", "rejects"):
        _clear(table_dirs[name])

    with _runner(cfg) as runner:
        p = beam.Pipeline(runner=runner, options=pipeline_options(cfg))
        _build_graph(p, job, tasks, make_runner, scratch)
        if runner is not None:
            # this driver runs no stage, so the commit would load the dedup kernels after the graph (~1.1 s of its
            # 1.4-1.6 s on 1,249 documents, 2026-12-02); loaded now, while the workers' server preloads (~5 s)
            load_kernels(cfg.dedup)
        result = p.run()
        result.wait_until_finish()
    for counter in result.metrics().query()["counters"]:
        log.info("beam counter %s/%s = %s", counter.key.metric.namespace, counter.key.metric.name, counter.committed)

    ledger = Ledger.loads((scratch / "ledger.json").read_text(encoding="utf-8"))
    manifests = json.loads((scratch / "inputs.json").read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for name, schema in (("documents", DOCUMENTS), ("rejects", REJECTS)):
        out[name] = list_parts(table_dirs[name], "part") or PartWriter(schema, table_dirs[name], "empty").close()
    return EngineResult(files=out, ledger=ledger, manifests=manifests)


def _build_graph(p: beam.Pipeline, job: EngineJob, tasks: int, make_runner: Callable, scratch) -> None:
    """The graph of the module docstring on ``p``."""
    cfg, files, run_id, table_dirs = job.cfg, job.files, job.run_id, job.table_dirs
    docs_dir, rejects_dir = _beam_path(table_dirs["documents"]), _beam_path(table_dirs["rejects"])
    shards = (
        p
        | "ListShards" >> beam.Create(list(range(tasks)))
        | "SpreadShards" >> beam.Reshuffle()
        | "RunStages"
        >> beam.ParDo(RunStages(cfg, files, run_id, tasks, make_runner)).with_outputs(
            "rejects", "ledger", "manifest", main="staging"
        )
    )
    plan = (
        shards.staging
        | "DedupKeys" >> beam.Map(lambda row: tuple(row[c] for c in DEDUP_KEY_COLUMNS))
        | "PlanDedup" >> PlanDedup(cfg.dedup, cfg.engine.beam.cc_rounds, job.published)  # corpus scope: + the index
    )
    staged = shards.staging | "ById" >> beam.Map(
        lambda row: (row["id"], {k: v for k, v in row.items() if k not in DEDUP_ONLY_COLUMNS})
    )
    finished = (
        {"row": staged, "plan": plan}
        | "JoinPlan" >> beam.CoGroupByKey()
        | "FinishDedup" >> beam.ParDo(FinishDedup(cfg)).with_outputs("rejects", "ledger", main="documents")
    )
    _ = finished.documents | "WriteDocuments" >> beam.io.WriteToParquet(
        f"{docs_dir}/part", DOCUMENTS, file_name_suffix=".parquet"
    )
    _ = (
        (shards.rejects, finished.rejects)
        | "AllRejects" >> beam.Flatten()
        | "WriteRejects" >> beam.io.WriteToParquet(f"{rejects_dir}/part", REJECTS, file_name_suffix=".parquet")
    )
    _ = (
        (shards.ledger, finished.ledger)
        | "AllLedgers" >> beam.Flatten()
        | "MergeLedgers" >> beam.CombineGlobally(MergeLedgers())
        | "WriteLedger" >> beam.io.WriteToText(str(scratch / "ledger"), ".json", num_shards=1, shard_name_template="")
    )
    _ = (
        shards.manifest
        | "GatherManifests" >> beam.combiners.ToList()
        | "ManifestJson" >> beam.Map(lambda parts: json.dumps([m for _, ms in sorted(parts) for m in ms]))
        | "WriteManifests"
        >> beam.io.WriteToText(str(scratch / "inputs"), ".json", num_shards=1, shard_name_template="")
    )
