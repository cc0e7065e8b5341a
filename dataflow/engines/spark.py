"""The Spark engine: the same two phases as ``engines.local``, spread over a Spark cluster (or local[N]).

Phase 1, one pass over the inputs: the driver lists the input files; ``spark.range(tasks)``
makes one row per shard in its own partition and ``mapInArrow`` runs ``ShardRunner`` over the
shard's files (file i -> shard i mod tasks, as on the local engine). Each partition yields ONE
stream of tagged Arrow rows (``kind``: staging = kept document + dedup keys, rejects, ledger,
manifest), written once as Parquet under the run's scratch directory. Rejects, ledgers and
manifests are then selected from that file by ``kind`` (column pruning + predicate pushdown),
so nothing re-reads or re-processes an input.

Phase 2, global dedup on DataFrames (``dedup.spark_cc.plan_dedup``: exact groups, band
buckets, large-star/small-star components, keep = smallest id), joined back onto the staged
documents by id. A run of up to ``engine.spark.driver_plan_max_docs`` documents (100k) is planned on
the driver instead (``spark_cc.driver_plan``: its keys collected as Arrow, the local engine's
union-find, the same plan), which saves the distributed plan's dozens of small jobs. Each partition
then runs ``pipeline.finish_rows``, the very function the local engine uses, so the dedup counters
are counted the same way; its ledger leaves as a tagged row. Documents and rejects are written by
Spark's Parquet writer with the exact table schemas (derived from ``schemas.corpus``, nullability
included, so pyiceberg ``add_files`` accepts the files) into the run's table directories;
``dataflow.run`` commits them.

A document whose stage raises is failed by the stage base class; an exception escaping an input
file's reader is contained per file by ``ShardRunner``, so one bad file never fails the Spark job.

The finished DataFrame is persisted (memory, spilling to disk) because three actions read it: the
ledger collect and the documents and rejects writes. Without it Spark would recompute the
dedup join and ``finish_rows`` once per action.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from dataflow.config import PipelineConfig
from dataflow.dedup.minhash import load_kernels
from dataflow.engines.result import DEDUP_KEY_COLUMNS, DEDUP_ONLY_COLUMNS, EngineJob, EngineResult
from dataflow.ledger import Ledger
from dataflow.pipeline import STAGING, ShardRunner, finish_rows, shard_count, split_rows
from dataflow.readers.discover import InputFile
from dataflow.snapshots.files import list_parts
from schemas import DOCUMENTS, REJECTS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

BATCH_ROWS = 1000  # rows per Arrow batch out of a partition: a few MB of text


def tagged_schema(*schemas: pa.Schema) -> pa.Schema:
    """``kind`` + the union of the given schemas' fields (all nullable) + ``payload`` (JSON of small rows).

    One partition output that carries several tables at once, so a single pass writes them all.
    """
    fields: dict[str, pa.Field] = {"kind": pa.field("kind", pa.string(), nullable=False)}
    for schema in schemas:
        for f in schema:
            if f.name in fields and not fields[f.name].type.equals(f.type):
                raise TypeError(f"field {f.name!r} has two types: {fields[f.name].type} and {f.type}")
            fields.setdefault(f.name, f.with_nullable(True))
    fields["payload"] = pa.field("payload", pa.string())
    return pa.schema(list(fields.values()))


SHARD_SCHEMA = tagged_schema(STAGING, REJECTS)  # phase 1 output
FINISH_SCHEMA = tagged_schema(DOCUMENTS, REJECTS)  # phase 2 output


def spark_schema(schema: pa.Schema) -> StructType:
    """The Spark schema of an Arrow table schema: types and nullability from pyspark's own Arrow
    mapping, each field's doc as the column comment. Never written by hand: one schema, in ``schemas``."""
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import StructField, StructType

    fields = []
    for arrow_field, f in zip(schema, from_arrow_schema(schema).fields, strict=True):
        doc = (arrow_field.metadata or {}).get(b"doc")
        meta = {"comment": doc.decode()} if doc else {}
        fields.append(StructField(f.name, f.dataType, f.nullable, meta))
    return StructType(fields)


def spark_session(cfg: PipelineConfig) -> SparkSession:
    """The active session, or a new one from ``engine.spark`` (local[workers] with no setup).

    Under ``spark-submit`` the master and resources come from the command line (the gateway port
    is then in the environment); started from plain Python, the worker interpreter must be this
    one (else workers start ``python3`` from PATH, and mapInArrow fails with "No module named 'pyarrow'").
    """
    from pyspark.sql import SparkSession

    opts = cfg.engine.spark
    builder = SparkSession.builder.appName("dataflow")
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    master = opts.master or (None if submitted else f"local[{cfg.engine.workers}]")
    if master:
        builder = builder.master(master)
    if master and master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no loopback-hostname warning
        builder = builder.config("spark.driver.memory", opts.driver_memory)
        # the JVM's JIT: C1 only (no C2 recompiles of the planner's and codegen's short-lived code); on
        # local[1], 1,249 documents, phase 2 took 23.6 JVM CPU-s instead of 43.6 (bench/bench_engines.py
        # phases, 2026-12-02). A long JVM-heavy run may want C2 back: engine.spark.conf overrides it
        builder = builder.config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
        builder = with_preloading_daemon(builder, cfg)
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(opts.shuffle_partitions),
        # Arrow batches in and out of the Python workers; rows are whole documents, so keep batches modest
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(BATCH_ROWS),
    }
    for key, value in {**settings, **opts.conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if opts.checkpoint_dir:
        spark.sparkContext.setCheckpointDir(opts.checkpoint_dir)
    return spark


def with_preloading_daemon(builder, cfg: PipelineConfig):
    """``local[N]``: PySpark's worker daemon replaced by ``engines.spark_daemon``, which loads the stages'
    models once before forking the N Python workers (each loaded them again: the second worker's main
    cost in bench/bench_engines.py). Not on a cluster, whose executors may not have these paths."""
    import dataclasses

    from dataflow.engines.spark_daemon import PRELOAD_ENV

    preload = json.dumps(dataclasses.asdict(cfg), ensure_ascii=False)
    builder = builder.config("spark.python.daemon.module", "dataflow.engines.spark_daemon")
    return builder.config(f"spark.executorEnv.{PRELOAD_ENV}", preload)


def _localize_models(cfg: PipelineConfig) -> None:
    """On an executor, a model shipped with ``spark-submit --files`` sits in SparkFiles' directory:
    use that copy whenever it is there (the configured path is the driver's, which executors on other
    machines do not have), else the configured path (``local[*]``, or a path every node mounts)."""
    path = cfg.langid.model_path
    if path:
        from pyspark import SparkFiles

        shipped = os.path.join(SparkFiles.getRootDirectory(), os.path.basename(path))
        if os.path.exists(shipped):
            cfg.langid.model_path = shipped


def _batches(rows: list[dict], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


def run_shard(
    cfg: PipelineConfig, files: list[InputFile], run_id: str, index: int, make_runner: Callable = ShardRunner
) -> Iterator[pa.RecordBatch]:
    """Phase 1 of one shard: tagged rows (``SHARD_SCHEMA``) of its documents, then its ledger and manifests."""
    _localize_models(cfg)
    runner = make_runner(cfg)
    rows: list[dict] = []
    for kind, row in split_rows(runner.run(files), run_id, cfg):
        rows.append(dict(row, kind=kind))
        if len(rows) >= BATCH_ROWS:
            yield from _batches(rows, SHARD_SCHEMA)
            rows = []
    _fail_once(cfg.engine.spark.fail_once_dir, index)
    rows.append(dict(kind="ledger", payload=runner.ledger.dumps()))
    rows.append(dict(kind="manifest", payload=json.dumps([index, runner.manifests], ensure_ascii=False)))
    yield from _batches(rows, SHARD_SCHEMA)


def _fail_once(directory: str, index: int) -> None:
    """The test hook ``engine.spark.fail_once_dir``: shard 0's first attempt dies after its work, as an
    executor lost mid-task would; the retry must neither lose nor duplicate its rows."""
    if not directory or index != 0:
        return
    marker = Path(directory) / "shard-0-failed-once"
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"attempt failed on pid {os.getpid()}\n", encoding="utf-8")
        raise RuntimeError("injected one-time task failure (engine.spark.fail_once_dir)")


def finish_partition(cfg: PipelineConfig, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Phase 2 of one partition: staged rows with their plan columns -> documents, dedup rejects, ledger."""
    _localize_models(cfg)  # finish_rows names the stages, which builds them: the model must resolve here too
    ledger = Ledger()
    for batch in batches:
        rows = batch.to_pylist()
        out = [dict(r, kind=kind) for kind, r in finish_rows(rows, partition_plan(rows), cfg, ledger)]
        yield from _batches(out, FINISH_SCHEMA)
    yield from _batches([dict(kind="ledger", payload=ledger.dumps())], FINISH_SCHEMA)


def partition_plan(rows: list[dict]):
    """The ``DedupPlan`` of one partition's staged rows, from the plan columns joined onto them
    (``dedup.spark_cc.PLAN_COLUMNS``): drops, clusters and, for duplicates of published documents
    (``dedup.scope = corpus``), the snapshot holding the kept copy."""
    from dataflow.dedup import DedupPlan

    plan = DedupPlan.from_rows((r["id"], r["reason"], r["duplicate_of"], r["cluster"]) for r in rows)
    plan.published_in = {r["duplicate_of"]: r["published_in"] for r in rows if r.get("published_in") is not None}
    return plan


def _cast_batches(schema: pa.Schema) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def cast(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for f in schema:
                if not f.nullable and batch.column(f.name).null_count:
                    raise ValueError(f"column {f.name!r} of a {schema.metadata[b'doc'][:40]!r} row is null")
            yield pa.RecordBatch.from_arrays([batch.column(f.name) for f in schema], schema=schema)

    return cast


def with_table_schema(df: DataFrame, schema: pa.Schema) -> DataFrame:
    """``df`` with exactly ``schema`` (column order, types, NOT NULL flags): after joins and unions
    Spark marks every column nullable, and Iceberg rejects an optional file column for a required
    table field. Non-null columns are checked, not assumed."""
    return df.select(*schema.names).mapInArrow(_cast_batches(schema), spark_schema(schema))


def run_spark(job: EngineJob, *, make_runner: Callable[[PipelineConfig], ShardRunner] = ShardRunner) -> EngineResult:
    """Run the pipeline on Spark; ``make_runner`` builds each partition's ``ShardRunner`` (tests inject faults)."""
    cfg, files, run_id, run_dir, table_dirs = job.cfg, job.files, job.run_id, job.run_dir, job.table_dirs
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from dataflow.dedup.spark_cc import driver_plan, plan_dedup

    spark = spark_session(cfg)
    tasks = shard_count(cfg, len(files))
    scratch = f"file://{run_dir.resolve()}/spark"
    # this driver runs no stage, so the commit would load the dedup kernels after the engine (numba, ~1.1 s in a
    # Beam driver, 2026-12-02); loaded meanwhile, while it waits on the JVM (py4j calls release the GIL)
    kernels = threading.Thread(target=load_kernels, args=(cfg.dedup,), name="dedup-kernels", daemon=True)
    kernels.start()

    # phase 1: per-document stages, one pass, written once
    shard_fn = _shard_fn(cfg, files, run_id, tasks, make_runner)
    tagged = spark.range(0, tasks, 1, tasks).mapInArrow(shard_fn, spark_schema(SHARD_SCHEMA))
    tagged.write.mode("overwrite").parquet(f"{scratch}/shards")
    shards = spark.read.parquet(f"{scratch}/shards")

    ledger = Ledger()
    manifests: list[tuple[int, list[dict]]] = []
    for row in shards.where(F.col("kind").isin("ledger", "manifest")).select("kind", "payload").collect():
        if row.kind == "ledger":
            ledger.merge(Ledger.loads(row.payload))
        else:
            index, rows = json.loads(row.payload)
            manifests.append((index, rows))

    # phase 2: global dedup plan, joined back onto the staged documents
    staging = shards.where(F.col("kind") == "staging")
    keys = staging.select(*DEDUP_KEY_COLUMNS)
    # corpus scope: + the published index; a run that fits the driver is planned there (driver_plan_max_docs)
    plan = driver_plan(keys, cfg.dedup, cfg.engine.spark.driver_plan_max_docs, job.published)
    if plan is None:
        plan = plan_dedup(keys, cfg.dedup, cfg.engine.spark.cc_max_rounds, job.published)
    joined = staging.select(*STAGING.names).drop(*DEDUP_ONLY_COLUMNS).join(plan, "id", "left")
    finish_fn = _finish_fn(cfg)
    finished = joined.mapInArrow(finish_fn, spark_schema(FINISH_SCHEMA)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        for row in finished.where(F.col("kind") == "ledger").select("payload").collect():
            ledger.merge(Ledger.loads(row.payload))
        documents = finished.where(F.col("kind") == "documents")
        rejects = shards.where(F.col("kind") == "rejects").select(*REJECTS.names)
        rejects = rejects.unionByName(finished.where(F.col("kind") == "rejects").select(*REJECTS.names))
        with_table_schema(documents, DOCUMENTS).write.mode("overwrite").parquet(table_dirs["documents"])
        with_table_schema(rejects, REJECTS).write.mode("overwrite").parquet(table_dirs["rejects"])
    finally:
        finished.unpersist()
    kernels.join()

    return EngineResult(
        files={name: list_parts(table_dirs[name], recursive=True) for name in ("documents", "rejects")},
        ledger=ledger,
        manifests=[m for _, rows in sorted(manifests, key=lambda p: p[0]) for m in rows],
    )


def _shard_fn(cfg: PipelineConfig, files: list[InputFile], run_id: str, tasks: int, make_runner: Callable):
    """The mapInArrow function of phase 1 (a closure: Spark pickles it with cfg, files and make_runner)."""

    def shard(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for index in batch.column(0).to_pylist():
                yield from run_shard(cfg, files[index::tasks], run_id, index, make_runner)

    return shard


def _finish_fn(cfg: PipelineConfig):
    def finish(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from finish_partition(cfg, batches)

    return finish
