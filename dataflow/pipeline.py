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
  .. quality_model  fastText quality classifier (opt-in): score on every document, low_quality_score
  .. pii         redaction last among per-document stages, so filters see the original text
  .. exact_dedup, near_dedup   global: need every surviving document of the run
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from datatrove.data import Document

from dataflow.config import PipelineConfig
from dataflow.document import doc_size, is_live
from dataflow.ledger import Ledger
from dataflow.readers.discover import InputFile
from dataflow.readers.records import InputReader, failed_manifest
from dataflow.records import document_row, duplicate_row, reject_row
from dataflow.stages.base import Stage, run_stages
from schemas import DOCUMENTS, DROPPED, KEPT

log = logging.getLogger(__name__)

READ_STAGE = "read"
EXACT_DEDUP, NEAR_DEDUP = "exact_dedup", "near_dedup"

# Kept documents between the per-document pass and global dedup: the documents schema plus the
# dedup keys, so finishing never recomputes hashes and never re-reads the inputs. dedup_signature: the
# MinHash signature (dedup.verify.signature_bytes, b"" when the text is too short or near dedup is off)
# that verifies candidate pairs (dedup.verify)
STAGING = (
    DOCUMENTS.append(pa.field("dedup_exact", pa.binary(), nullable=False))
    .append(pa.field("dedup_bands", pa.list_(pa.int64()), nullable=False))
    .append(pa.field("dedup_signature", pa.binary(), nullable=False))
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
    if cfg.quality_model.enabled:  # after the rules (cheaper per document), before PII: it scores the original text
        from dataflow.stages.quality_model import QualityModelStage

        stages.append(QualityModelStage(cfg.quality_model))
    if cfg.pii.enabled:
        stages.append(PIIStage(cfg.pii))
    return stages


def stage_names(cfg: PipelineConfig) -> list[str]:
    """Every stage name in order, reading and dedup included (index = position)."""
    names = [READ_STAGE] + [s.name for s in build_stages(cfg)]
    return names + [n for n, on in ((EXACT_DEDUP, cfg.dedup.exact), (NEAR_DEDUP, cfg.dedup.near)) if on]


def shard_count(cfg: PipelineConfig, n_files: int) -> int:
    """Shards of a run's input list (file i -> shard i mod shards): ``engine.tasks``, else one per
    worker, never more than there are files (an empty shard only costs a task start), at least one."""
    return max(1, min(cfg.engine.tasks or cfg.engine.workers, n_files or 1))


@dataclass
class ShardRunner:
    """Runs reading and the per-document stages over a list of input files.

    One runner per task/partition: it owns the ledger its stages count into and the manifest
    rows of the files it read. ``run`` yields every document, kept or rejected. An exception that
    escapes a file's reader is contained here, for every engine: the file's manifest row says
    ``failed`` (or ``partial``, with the records read before it) with the error, and the shard goes
    on with its next file.
    """

    cfg: PipelineConfig
    ledger: Ledger = field(default_factory=Ledger)
    manifests: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stages = [stage.bind(i + 1, self.ledger) for i, stage in enumerate(build_stages(self.cfg))]

    def open_reader(self, f: InputFile) -> InputReader:
        """The document iterator of one input file (tests override it to inject reader faults)."""
        return InputReader(f, self.cfg.read)

    def read(self, files: Iterable[InputFile]) -> Iterator[Document]:
        for f in files:
            reader, records = self.open_reader(f), 0
            try:
                for doc in reader:
                    records += 1
                    size = doc_size(doc)
                    self.ledger.record(0, READ_STAGE, doc, size, size)
                    yield doc
                manifest = reader.manifest
            except Exception as err:  # a reader bug must fail this file, not the shard
                log.exception("input %s failed", f.uri)
                manifest = failed_manifest(f, records, err)
            self.manifests.append(manifest)

    def run(self, files: Iterable[InputFile]) -> Iterator[Document]:
        return run_stages(self.stages, self.read(files))


KEY_BATCH = 256  # documents per dedup-key batch (bench/bench_dedup.py --speed; BENCHMARKS.md "MinHash signatures")


def split_rows(docs: Iterable[Document], run_id: str, cfg: PipelineConfig) -> Iterator[tuple[str, dict]]:
    """('staging', row) for kept documents, ('rejects', row) for the rest, in input order."""
    from itertools import islice

    from dataflow.dedup.minhash import dedup_keys_batch

    it = iter(docs)
    while batch := list(islice(it, KEY_BATCH)):  # keys of a batch at once: faster than one by one (BENCHMARKS.md)
        keys = iter(dedup_keys_batch([d.text for d in batch if is_live(d)], cfg.dedup))
        for doc in batch:
            if is_live(doc):
                row = document_row(doc, run_id)
                k = next(keys)
                row["dedup_exact"], row["dedup_bands"], row["dedup_signature"] = k.exact, list(k.bands), k.signature
                yield "staging", row
            else:
                yield "rejects", reject_row(doc, run_id)


def finish_rows(rows: Iterable[dict], plan, cfg: PipelineConfig, ledger: Ledger) -> Iterator[tuple[str, dict]]:
    """Apply a dedup plan to staging rows: ('documents', row) or ('rejects', row), counted in ``ledger``.

    ``plan`` has ``drops: id -> (reason, duplicate_of)``, ``clusters: id -> cluster id`` and
    ``published_in: kept id -> snapshot`` for duplicates of already published documents.
    Reasons ``exact_duplicate`` count under stage exact_dedup, ``near_duplicate`` under near_dedup.
    """
    from dataflow.dedup import EXACT_DUPLICATE, NEAR_DUPLICATE

    names = stage_names(cfg)
    # (stage index, stage name, the reason it drops) of each dedup stage that is on
    dedup_stages = [
        (names.index(stage), stage, reason)
        for stage, reason, on in (
            (EXACT_DEDUP, EXACT_DUPLICATE, cfg.dedup.exact),
            (NEAR_DEDUP, NEAR_DUPLICATE, cfg.dedup.near),
        )
        if on
    ]
    for row in rows:
        size = (row["n_bytes"], row["n_chars"])
        kind, lang = row["source_kind"], row["language"]
        reason, dup_of = plan.drops.get(row["id"], (None, None))
        for index, stage, drops in dedup_stages:
            out = DROPPED if reason == drops else KEPT
            ledger.count((index, stage, kind, lang, out, reason if out == DROPPED else ""), size, size)
            if out == DROPPED:
                yield "rejects", duplicate_row(row, stage, reason, dup_of, plan.published_in.get(dup_of))
                break
        else:
            # nullable columns no stage fills (documents.n_tokens: filled by `dataflow mix`) are null here
            doc_row = {k: row.get(k) for k in DOCUMENTS.names}
            doc_row["dedup_cluster"] = plan.clusters.get(row["id"])
            yield "documents", doc_row
