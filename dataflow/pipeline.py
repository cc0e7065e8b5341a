"""The pipeline definition every engine runs: the stage list, one shard's processing, dedup finishing.

Engines differ only in how they spread shards, group dedup keys and write files; the work on
each document is here, so the same config and inputs give the same kept ids and counters on
every engine.

Stage order and why:
  0 read         raw records from the inputs (size caps, broken containers)
  1 extract      main text from HTML, PDF, HWP, patents (format detected from content)
  2 normalize    NFC, control characters, whitespace (before anything measures text)
  3 boilerplate  Korean/English web chrome lines: before language ID, because Korean chrome
                 around an English article makes lid.176 call the page Korean, and before the
                 quality rules, so they judge the article, not its byline and share buttons
  4 langid       fastText lid.176: keep Korean and English
  5.. quality    per-language heuristic filters (Gopher/C4/FineWeb for English, FineWeb-2 Korean)
  .. pii         redaction last among per-document stages, so filters see the original text
  .. exact_dedup, near_dedup   global: need every surviving document of the run
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from datatrove.data import Document

from dataflow.config import PipelineConfig
from dataflow.readers.discover import InputFile
from dataflow.readers.records import InputReader
from dataflow.records import document_row, reject_row
from dataflow.stages.base import EXCERPT_CHARS, KEPT, Ledger, Meta, Stage, doc_size, run_stages
from schemas import DOCUMENTS

READ_STAGE = "read"
EXACT_DEDUP, NEAR_DEDUP = "exact_dedup", "near_dedup"

# Kept documents between the per-document pass and global dedup: the documents schema plus the
# dedup keys, so finishing never recomputes hashes and never re-reads the inputs.
STAGING = DOCUMENTS.append(pa.field("dedup_exact", pa.binary(), nullable=False)).append(
    pa.field("dedup_bands", pa.list_(pa.int64()), nullable=False)
)


def build_stages(cfg: PipelineConfig) -> list[Stage]:
    """The per-document stages for ``cfg``, in order (indices start at 1: 0 is reading)."""
    from dataflow.stages.boilerplate import BoilerplateStage
    from dataflow.stages.extract import ExtractStage
    from dataflow.stages.langid import LangIdStage
    from dataflow.stages.normalize import NormalizeStage
    from dataflow.stages.pii import PIIStage
    from dataflow.stages.quality import quality_stages

    stages: list[Stage] = [ExtractStage(cfg.extract), NormalizeStage(cfg.normalize)]
    if cfg.boilerplate.enabled:
        stages.append(BoilerplateStage(cfg.boilerplate))
    stages.append(LangIdStage(cfg.langid))
    stages += quality_stages(cfg.quality)
    if cfg.pii.enabled:
        stages.append(PIIStage(cfg.pii))
    return stages


def stage_names(cfg: PipelineConfig) -> list[str]:
    """Every stage name in order, reading and dedup included (index = position)."""
    names = [READ_STAGE] + [s.name for s in build_stages(cfg)]
    return names + [n for n, on in ((EXACT_DEDUP, cfg.dedup.exact), (NEAR_DEDUP, cfg.dedup.near)) if on]


@dataclass
class ShardRunner:
    """Runs reading and the per-document stages over a list of input files.

    One runner per task/partition: it owns the ledger its stages count into and the manifest
    rows of the files it read. ``run`` yields every document, kept or rejected.
    """

    cfg: PipelineConfig
    ledger: Ledger = field(default_factory=Ledger)
    manifests: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stages = [stage.bind(i + 1, self.ledger) for i, stage in enumerate(build_stages(self.cfg))]

    def read(self, files: Iterable[InputFile]) -> Iterator[Document]:
        for f in files:
            reader = InputReader(f, self.cfg.read)
            for doc in reader:
                size = doc_size(doc)
                self.ledger.record(0, READ_STAGE, doc, size, size)
                yield doc
            self.manifests.append(reader.manifest)

    def run(self, files: Iterable[InputFile]) -> Iterator[Document]:
        return run_stages(self.stages, self.read(files))


def split_rows(docs: Iterable[Document], run_id: str, cfg: PipelineConfig) -> Iterator[tuple[str, dict]]:
    """('staging', row) for kept documents, ('rejects', row) for the rest."""
    from dataflow.dedup import dedup_keys

    for doc in docs:
        if doc.metadata.get(Meta.OUTCOME, KEPT) == KEPT:
            row = document_row(doc, run_id)
            keys = dedup_keys(doc.text, cfg.dedup)
            row["dedup_exact"], row["dedup_bands"] = keys.exact, list(keys.bands)
            yield "staging", row
        else:
            yield "rejects", reject_row(doc, run_id)


def finish_rows(rows: Iterable[dict], plan, cfg: PipelineConfig, ledger: Ledger) -> Iterator[tuple[str, dict]]:
    """Apply a dedup plan to staging rows: ('documents', row) or ('rejects', row), counted in ``ledger``.

    ``plan`` has ``drops: id -> (reason, duplicate_of)`` and ``clusters: id -> cluster id``.
    Reasons ``exact_duplicate`` count under stage exact_dedup, ``near_duplicate`` under near_dedup.
    """
    names = stage_names(cfg)
    exact_index = names.index(EXACT_DEDUP) if cfg.dedup.exact else None
    near_index = names.index(NEAR_DEDUP) if cfg.dedup.near else None
    for row in rows:
        size = (row["n_bytes"], row["n_chars"])
        kind, lang = row["source_kind"], row["language"]
        drop = plan.drops.get(row["id"])
        reason, dup_of = drop if drop else (None, None)
        if exact_index is not None:
            out = "dropped" if reason == "exact_duplicate" else KEPT
            ledger.count((exact_index, EXACT_DEDUP, kind, lang, out, reason if out != KEPT else ""), size, size)
        if near_index is not None and reason != "exact_duplicate":
            out = "dropped" if reason == "near_duplicate" else KEPT
            ledger.count((near_index, NEAR_DEDUP, kind, lang, out, reason if out != KEPT else ""), size, size)
        if reason is None:
            doc_row = {k: row[k] for k in DOCUMENTS.names}
            doc_row["dedup_cluster"] = plan.clusters.get(row["id"])
            yield "documents", doc_row
        else:
            stage = EXACT_DEDUP if reason == "exact_duplicate" else NEAR_DEDUP
            yield (
                "rejects",
                dict(
                    id=row["id"],
                    run_id=row["run_id"],
                    source_kind=kind,
                    source_uri=row["source_uri"],
                    url=row["url"],
                    stage=stage,
                    outcome="dropped",
                    reason=reason,
                    error=None,
                    language=lang,
                    excerpt=row["text"][:EXCERPT_CHARS],
                    n_bytes=row["n_bytes"],
                    n_chars=row["n_chars"],
                    duplicate_of=dup_of,
                ),
            )
