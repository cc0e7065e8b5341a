"""What the run driver hands an engine (``EngineJob``) and what an engine hands back (``EngineResult``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataflow.config import PipelineConfig
from dataflow.ledger import Ledger
from dataflow.readers.discover import InputFile

# the staged rows' columns the dedup planner reads, in the order every engine hands them over: n_chars for
# the keep rule (longest first), the signature verifies candidate pairs (dedup.verify)
DEDUP_KEY_COLUMNS = ("id", "dedup_exact", "dedup_bands", "n_chars", "dedup_signature")
DEDUP_ONLY_COLUMNS = ("dedup_exact", "dedup_bands", "dedup_signature")  # STAGING's columns beyond DOCUMENTS


@dataclass
class EngineJob:
    """One run for an engine: every engine is a function ``(job, *, make_runner) -> EngineResult``."""

    cfg: PipelineConfig
    files: list[InputFile]  # the run's input files, sorted; file i goes to shard i mod shards
    run_id: str
    run_dir: Path  # the run's scratch directory (resumable work, logs)
    table_dirs: dict[str, str]  # table -> directory URI the run's Parquet parts go to (uncommitted)
    # dedup.scope = corpus: dataflow.dedup.index.PublishedIndex of the published documents; None = run scope
    published: Any = None


@dataclass
class EngineResult:
    files: dict[str, list[str]]  # table -> Parquet file URIs written for this run (documents, rejects)
    ledger: Ledger  # every stage's counters, dedup included
    manifests: list[dict]  # inputs-table rows (without run_id), one per input file
