"""The embedded default engine: datatrove's local executor, several processes, resumable.

Phase 1 (datatrove ``LocalPipelineExecutor``, ``tasks`` shards over ``workers`` processes):
each task reads its share of the input files (file i goes to task i mod tasks), runs the
per-document stages, streams its rejects straight into the rejects table's run directory
(unreferenced until the commit) and writes, atomically at the end of the task, its kept
documents with their dedup keys (staging), its ledger and its input-manifest rows. datatrove
marks the task complete; a rerun of the same run id with the same task count skips completed
tasks (scratch lives in runs/<run id>/local-<tasks>-tasks/: completion markers only hold for one
sharding).

Phase 2 (this process): global exact and near dedup over the dedup keys of every shard (ids
and integers only, never texts), then each shard's staging file is streamed once more to
write the final documents and the dedup rejects.
"""

from __future__ import annotations

import gc
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from tqdm import tqdm

from dataflow.config import PipelineConfig
from dataflow.document import Meta
from dataflow.engines.progress import ProgressBar, TaskProgress
from dataflow.engines.result import DEDUP_KEY_COLUMNS, EngineJob, EngineResult
from dataflow.ledger import Ledger
from dataflow.pipeline import STAGING, ShardRunner, finish_rows, shard_count, split_rows
from dataflow.readers.discover import InputFile
from dataflow.snapshots.files import PartWriter, list_parts
from schemas import TABLES


class ReadInputs(PipelineStep):
    """First step of a task: this task's input files as raw documents."""

    name = "read"
    type = "📖 - READER"

    def __init__(self, runner: ShardRunner, files: list[InputFile], progress_dir: str = "") -> None:
        super().__init__()
        self.runner, self.files, self.progress_dir = runner, files, progress_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        mine = self.files[rank::world_size]
        progress = TaskProgress(self.progress_dir, rank) if self.progress_dir else None
        for doc in self.runner.read(mine):
            self.stat_update("documents")
            if progress is not None:
                progress.record(doc.metadata.get(Meta.SOURCE_URI, ""))
            yield doc
        if progress is not None:
            progress.done(len(mine))


class WriteShard(PipelineStep):
    """Last step of a task: staging (kept + dedup keys), ledger and manifest, made visible together
    by one directory rename when the task's stream is exhausted; rejects go straight into the rejects
    table's run directory under this task's own names (a rerun of the task rewrites the same files,
    and nothing is referenced before the commit)."""

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
            "rejects": PartWriter(TABLES["rejects"], self.rejects_dir, stream_prefix(world_size, rank)),
        }
        for kind, row in split_rows(data or (), self.run_id, self.cfg):
            writers[kind].append(row)
        for writer in writers.values():
            writer.close()
        (tmp / "ledger.json").write_text(self.runner.ledger.dumps(), encoding="utf-8")
        (tmp / "inputs.json").write_text(json.dumps(self.runner.manifests, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        return iter(())


def stream_prefix(tasks: int, rank: int) -> str:
    """Name prefix of a task's reject parts; the task count is in it so that a rerun with another
    sharding never picks up an earlier layout's files."""
    return f"stream-{tasks}x{rank:05d}"


def preload(runner: ShardRunner) -> None:
    """Fill, in this process, the per-process caches the stages otherwise fill on their first documents
    (fastText's LID model, Kiwi, spaCy, the quality model's word table, numba and its MinHash kernels), so
    that forked workers inherit them copy-on-write instead of each loading them again. bench/bench_engines.py
    measured the second worker's cost under forkserver at about 3.5 CPU-seconds per worker (imports 0.7 s,
    Kiwi 1.4 s, the rest the models and numba), a fifth of the whole single-worker run.

    The collector is off meanwhile: what the preload creates (modules, models) lives as long as the process,
    and the full collections it triggers (3 in a fresh process, ~280k objects tracked after it) only traverse it
    (preload 4.3 instead of 5.0 CPU-s, mean of 6 fresh processes each, 2026-12-02). A caller that forks
    next freezes it (``gc.freeze``), so a worker's own full collections skip it too."""
    gc.disable()
    try:
        _preload_models(runner)
    finally:
        gc.enable()


def _preload_models(runner: ShardRunner) -> None:
    from datatrove.utils.word_tokenizers import SpaCyTokenizer, load_word_tokenizer

    from dataflow.dedup.minhash import load_kernels
    from dataflow.stages.base import FilterStage
    from dataflow.stages.korean_words import ngram_fracs
    from dataflow.stages.langid import LangIdStage, load_model
    from dataflow.stages.quality_ko import KoreanQualityStage
    from dataflow.stages.quality_model import QualityModelStage, scores

    for stage in runner.stages:
        if isinstance(stage, LangIdStage) and stage.cfg.model_path:
            load_model(stage.cfg.model_path)
        elif isinstance(stage, QualityModelStage):
            # the quality model and its word table (~0.6 CPU-s to build for the default's 156k words)
            scores(["preload"], stage.cfg.model_path, stage.cfg.max_chars)
        elif isinstance(stage, KoreanQualityStage):
            # the process's shared Kiwi and its first analysis, which loads the rest of its model lazily
            # (1.6 CPU-s in a forked worker after the preload without it: cProfile, 2026-12-02)
            stage.tokenizer.word_tokenize("한국어 문장을 미리 분석합니다.")
            # the fast path's numba kernels (n-grams, record sums), loaded from their cache (~0.5 CPU-s per
            # fresh process; korean_words._kernels loads both on the n-gram kernel's first call)
            ngram_fracs("preload " * 8, list(range(8)), (2,), (5,))
        elif isinstance(stage, FilterStage) and hasattr(stage.filter, "language"):
            # the English filters' spaCy, imported through english_words.import_spacy (torch blocked: ~0.9 CPU-s per
            # process; datatrove's cached tokenizer for "en" (C4's sentences) stays loaded in forked workers
            tokenizer = load_word_tokenizer(stage.filter.language)
            if isinstance(tokenizer, SpaCyTokenizer):
                _ = tokenizer.tokenizer
    load_kernels(runner.cfg.dedup)


def start_method(workers: int) -> str:
    """How datatrove starts its worker processes: ``fork`` where the platform has it, so the workers
    share the driver's imports and preloaded models; datatrove's default ``forkserver`` re-imports
    everything and reloads every model in every worker (1 -> 2 workers gave 0.56-1.51x on 2 cores)."""
    import multiprocessing

    return "fork" if workers > 1 and "fork" in multiprocessing.get_all_start_methods() else "forkserver"


def run_local(job: EngineJob, *, make_runner: Callable[[PipelineConfig], ShardRunner] = ShardRunner) -> EngineResult:
    """Run the pipeline on datatrove's local executor; ``make_runner`` builds the tasks' ``ShardRunner``."""
    cfg, files, run_id, run_dir, table_dirs = job.cfg, job.files, job.run_id, job.run_dir, job.table_dirs
    tasks = shard_count(cfg, len(files))
    runner = make_runner(cfg)
    workers = min(cfg.engine.workers, tasks)
    method = start_method(workers)
    if method == "fork":
        preload(runner)
        # the driver's objects out of the collector's generations before the fork: a worker's full collection
        # would otherwise traverse and write every one of them (after the preload: 0.47 s and 20,090 pages
        # copied on write per collection in a forked child, 0 and 93 when frozen; 2026-12-02)
        gc.freeze()
    work = run_dir / f"local-{tasks}-tasks"  # datatrove's completion markers are only valid for one sharding
    staging = work / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    executor = LocalPipelineExecutor(
        pipeline=[
            ReadInputs(runner, files, str(work / "progress")),
            *runner.stages,
            WriteShard(runner, cfg, run_id, str(staging), table_dirs["rejects"]),
        ],
        tasks=tasks,
        workers=workers,
        logging_dir=str(work / "logs"),
        start_method=method,
    )
    try:
        with ProgressBar(work / "progress", len(files)):  # files and records across the worker processes
            executor.run()
    finally:
        gc.unfreeze()  # the driver collects them again (tests run many engines in one process)

    shards = [staging / f"{rank:05d}" for rank in range(tasks)]
    ledger = Ledger()
    manifests: list[dict] = []
    for shard in shards:
        ledger.merge(Ledger.loads((shard / "ledger.json").read_text(encoding="utf-8")))
        manifests += json.loads((shard / "inputs.json").read_text(encoding="utf-8"))

    from dataflow.dedup import plan_dedup
    from dataflow.dedup.local import table_rows

    staged = [part for shard in shards for part in sorted(shard.glob("staging-*.parquet"))]

    def key_rows() -> Iterator[tuple[str, bytes, list[int], int, bytes]]:
        for part in staged:
            yield from table_rows(pq.read_table(part, columns=list(DEDUP_KEY_COLUMNS)))

    plan = plan_dedup(key_rows(), cfg.dedup, job.published)

    def staged_rows() -> Iterator[dict]:
        for part in tqdm(staged, desc="dedup + write", unit="part", disable=None):
            for batch in pq.ParquetFile(part).iter_batches(batch_size=1000):
                yield from batch.to_pylist()

    writers = {
        "documents": PartWriter(TABLES["documents"], table_dirs["documents"], "part"),
        "rejects": PartWriter(TABLES["rejects"], table_dirs["rejects"], "dedup"),
    }
    for kind, row in finish_rows(staged_rows(), plan, cfg, ledger):
        writers[kind].append(row)
    stream_rejects = [
        uri for rank in range(tasks) for uri in list_parts(table_dirs["rejects"], stream_prefix(tasks, rank) + "-")
    ]
    return EngineResult(
        files={"documents": writers["documents"].close(), "rejects": stream_rejects + writers["rejects"].close()},
        ledger=ledger,
        manifests=manifests,
    )
