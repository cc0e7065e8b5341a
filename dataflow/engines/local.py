"""The embedded default engine: datatrove's local executor, several processes, resumable.

Phase 1 (datatrove ``LocalPipelineExecutor``, ``tasks`` shards over ``workers`` processes):
each task reads its share of the input files (file i goes to task i mod tasks), runs the
per-document stages and writes, atomically at the end of the task, its kept documents with
their dedup keys (staging), its rejects (straight into the rejects table's run directory),
its ledger and its input-manifest rows. datatrove marks the task complete; a rerun of the
same run id skips completed tasks.

Phase 2 (this process): global exact and near dedup over the dedup keys of every shard (ids
and integers only, never texts), then each shard's staging file is streamed once more to
write the final documents and the dedup rejects.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from tqdm import tqdm

from dataflow.config import PipelineConfig
from dataflow.engines.result import EngineResult
from dataflow.pipeline import STAGING, ShardRunner, finish_rows, split_rows
from dataflow.readers.discover import InputFile
from dataflow.snapshots.files import PartWriter
from dataflow.stages.base import Ledger
from schemas import TABLES


class ReadInputs(PipelineStep):
    """First step of a task: this task's input files as raw documents."""

    name = "read"
    type = "📖 - READER"

    def __init__(self, runner: ShardRunner, files: list[InputFile]) -> None:
        super().__init__()
        self.runner, self.files = runner, files

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        for doc in self.runner.read(self.files[rank::world_size]):
            self.stat_update("documents")
            yield doc


class WriteShard(PipelineStep):
    """Last step of a task: staging (kept + dedup keys), rejects, ledger and manifest, made
    visible together by one directory rename when the task's stream is exhausted."""

    name = "write_shard"
    type = "💽 - WRITER"

    def __init__(self, runner: ShardRunner, cfg: PipelineConfig, run_id: str, staging: str, rejects_dir: str) -> None:
        super().__init__()
        self.runner, self.cfg, self.run_id = runner, cfg, run_id
        self.staging, self.rejects_dir = staging, rejects_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        final = Path(self.staging) / f"{rank:05d}"
        tmp = Path(self.staging) / f"_tmp-{rank:05d}"
        shutil.rmtree(tmp, ignore_errors=True)
        writers = {
            "staging": PartWriter(STAGING, tmp.as_uri(), "staging"),
            "rejects": PartWriter(TABLES["rejects"], tmp.as_uri(), "rejects"),
        }
        batch: dict[str, list[dict]] = {"staging": [], "rejects": []}
        for kind, row in split_rows(data or (), self.run_id, self.cfg):
            batch[kind].append(row)
            if len(batch[kind]) >= 1000:  # bounded memory: flush every 1,000 rows
                writers[kind].write(batch[kind])
                batch[kind] = []
        for kind, rows in batch.items():
            writers[kind].write(rows)
            writers[kind].close()
        (tmp / "ledger.json").write_text(self.runner.ledger.dumps(), encoding="utf-8")
        (tmp / "inputs.json").write_text(json.dumps(self.runner.manifests, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        # the shard's rejects go into the rejects table's run directory under a per-shard name
        rejects_dir = Path(self.rejects_dir.removeprefix("file://"))
        rejects_dir.mkdir(parents=True, exist_ok=True)
        for part in sorted(final.glob("rejects-*.parquet")):
            shutil.copyfile(part, rejects_dir / f"stream-{rank:05d}-{part.name}")
        return iter(())


def run_local(
    cfg: PipelineConfig, files: list[InputFile], run_id: str, run_dir: Path, table_dirs: dict[str, str]
) -> EngineResult:
    tasks = cfg.engine.tasks or cfg.engine.workers
    runner = ShardRunner(cfg)
    staging = run_dir / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    executor = LocalPipelineExecutor(
        pipeline=[
            ReadInputs(runner, files),
            *runner.stages,
            WriteShard(runner, cfg, run_id, str(staging), table_dirs["rejects"]),
        ],
        tasks=tasks,
        workers=min(cfg.engine.workers, tasks),
        logging_dir=str(run_dir / "logs"),
    )
    executor.run()

    shards = [staging / f"{rank:05d}" for rank in range(tasks)]
    ledger = Ledger()
    manifests: list[dict] = []
    for shard in shards:
        ledger.merge(Ledger.loads((shard / "ledger.json").read_text(encoding="utf-8")))
        manifests += json.loads((shard / "inputs.json").read_text(encoding="utf-8"))

    from dataflow.dedup import plan_dedup

    staged = [part for shard in shards for part in sorted(shard.glob("staging-*.parquet"))]

    def key_rows() -> Iterator[tuple[str, bytes, list[int]]]:
        for part in staged:
            keys = pq.read_table(part, columns=["id", "dedup_exact", "dedup_bands"])
            yield from zip(*(keys.column(c).to_pylist() for c in ("id", "dedup_exact", "dedup_bands")), strict=True)

    plan = plan_dedup(key_rows(), cfg.dedup)

    docs_writer = PartWriter(TABLES["documents"], table_dirs["documents"], "part")
    rejects_writer = PartWriter(TABLES["rejects"], table_dirs["rejects"], "dedup")
    writers = {"documents": docs_writer, "rejects": rejects_writer}
    for part in tqdm(staged, desc="dedup + write", unit="part", disable=None):
        for batch in pq.ParquetFile(part).iter_batches(batch_size=1000):
            out: dict[str, list[dict]] = {"documents": [], "rejects": []}
            for kind, row in finish_rows(batch.to_pylist(), plan, cfg, ledger):
                out[kind].append(row)
            for kind, rows in out.items():
                writers[kind].write(rows)
    # URIs built from the directory URI, not Path.as_uri(): that percent-encodes the "=" of run_id=...,
    # which pyiceberg does not decode
    rejects_root = table_dirs["rejects"].rstrip("/")
    stream_rejects = sorted(Path(table_dirs["rejects"].removeprefix("file://")).glob("stream-*.parquet"))
    return EngineResult(
        files={
            "documents": docs_writer.close(),
            "rejects": [f"{rejects_root}/{p.name}" for p in stream_rejects] + rejects_writer.close(),
        },
        ledger=ledger,
        manifests=manifests,
    )
