"""The stage contract: one per-document step, after datatrove's ``PipelineStep``.

A stage maps a stream of documents to a stream of documents. Its subclass writes only
``apply(doc)``: change the document in place and return ``None`` to keep it, or return a
stable snake_case reason to drop it. Everything else lives here, once:

* documents already dropped or failed upstream pass through untouched, so one stream carries
  kept documents and rejects to the end, where the engine splits them (rejects are data);
* an exception in ``apply`` fails that one document with its error (outcome ``failed``,
  reason ``failed``), never the run;
* every document is counted in the run's ``Ledger`` under (stage, source kind, language,
  outcome, reason) with documents, bytes and characters in and out, and in datatrove's own
  ``stats`` as ``dropped_<reason>`` so datatrove's executor logs show the same numbers.

Document fields used across stages live in ``doc.metadata`` under the names in ``Meta``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

KEPT, DROPPED, FAILED = "kept", "dropped", "failed"
EXCERPT_CHARS = 300  # enough for an auditor to see what a reason removed


class Meta:
    """Keys of ``Document.metadata`` that form the contract between stages and engines."""

    SOURCE_KIND = "source_kind"  # web, paper, patent, report, text
    SOURCE_URI = "source_uri"  # input file URI
    URL = "url"  # the page's own address, when known
    FORMAT = "format"  # detected format of the raw record: html, warc, text, pdf, ...
    RAW = "raw"  # raw bytes of a record not yet extracted (removed by the extract stage)
    RAW_HINTS = "raw_hints"  # dict of decoding hints for raw bytes: charset, content_type
    LANGUAGE = "language"  # ISO 639-1, set by language ID (datatrove's key)
    LANGUAGE_SCORE = "language_score"
    QUALITY_SIGNALS = "quality_signals"  # dict[str, float]
    QUALITY_SCORE = "quality_score"
    PII_COUNTS = "pii_counts"  # dict[str, int]
    EXTRACT_META = "extract_meta"  # dict from the extractor: title, date, page_count, ...
    OUTCOME = "outcome"  # kept (default), dropped, failed
    STAGE = "rejected_at"  # stage name where the document was dropped or failed
    REASON = "reason"
    ERROR = "error"
    DUPLICATE_OF = "duplicate_of"
    DEDUP_CLUSTER = "dedup_cluster"
    EXCERPT = "excerpt"


def doc_size(doc: Document) -> tuple[int, int]:
    """(bytes, characters) of a document's text; raw records not yet extracted count raw bytes, 0 characters."""
    if doc.text:
        return len(doc.text.encode("utf-8")), len(doc.text)
    raw = doc.metadata.get(Meta.RAW)
    return (len(raw) if raw is not None else int(doc.metadata.get("raw_size", 0))), 0


def is_live(doc: Document) -> bool:
    return doc.metadata.get(Meta.OUTCOME, KEPT) == KEPT


def excerpt(doc: Document) -> str:
    if doc.text:
        return doc.text[:EXCERPT_CHARS]
    raw = doc.metadata.get(Meta.RAW) or b""
    return raw[:EXCERPT_CHARS].decode("utf-8", errors="replace")


def reject(doc: Document, stage: str, reason: str, error: str | None = None) -> None:
    """Mark a document dropped (no error) or failed (error given) at ``stage``."""
    doc.metadata[Meta.OUTCOME] = FAILED if error else DROPPED
    doc.metadata[Meta.STAGE] = stage
    doc.metadata[Meta.REASON] = reason
    doc.metadata[Meta.ERROR] = error
    doc.metadata[Meta.EXCERPT] = excerpt(doc)
    doc.metadata.pop(Meta.RAW, None)  # raw bytes never travel further than the stage that rejected them


StatKey = tuple[int, str, str, str, str, str]  # stage_index, stage, source_kind, language, outcome, reason
_COUNTERS = ("docs_in", "docs_out", "bytes_in", "bytes_out", "chars_in", "chars_out")


class Ledger:
    """Mergeable per-stage accounting of documents, bytes and characters in and out.

    Pure Python so that every engine can carry one per partition and merge them at the end
    (``merge``) or ship them as rows (``to_rows`` / ``from_rows``).
    """

    def __init__(self) -> None:
        self.cells: dict[StatKey, list[int]] = {}

    def record(
        self,
        stage_index: int,
        stage: str,
        doc: Document,
        before: tuple[int, int],
        after: tuple[int, int],
    ) -> None:
        meta = doc.metadata
        outcome = meta.get(Meta.OUTCOME, KEPT)
        reason = "" if outcome == KEPT else meta.get(Meta.REASON, "")
        kind, lang = meta.get(Meta.SOURCE_KIND, ""), meta.get(Meta.LANGUAGE, "") or ""
        self.count((stage_index, stage, kind, lang, outcome, reason), before, after)

    def count(self, key: StatKey, before: tuple[int, int], after: tuple[int, int]) -> None:
        """Count one document under ``key`` with its (bytes, chars) before and after the stage."""
        cell = self.cells.setdefault(key, [0] * 6)
        kept = key[4] == KEPT
        cell[0] += 1
        cell[1] += kept
        cell[2] += before[0]
        cell[3] += after[0] if kept else 0
        cell[4] += before[1]
        cell[5] += after[1] if kept else 0

    def merge(self, other: Ledger) -> Ledger:
        for key, values in other.cells.items():
            cell = self.cells.setdefault(key, [0] * 6)
            for i, v in enumerate(values):
                cell[i] += v
        return self

    def to_rows(self, run_id: str) -> list[dict[str, Any]]:
        """Rows of the ``stage_stats`` table, sorted by stage then key."""
        rows = []
        for (index, stage, kind, lang, outcome, reason), values in sorted(self.cells.items()):
            row = dict(run_id=run_id, stage_index=index, stage=stage, source_kind=kind, language=lang)
            row.update(outcome=outcome, reason=reason, **dict(zip(_COUNTERS, values, strict=True)))
            rows.append(row)
        return rows

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]]) -> Ledger:
        ledger = cls()
        for r in rows:
            key = (int(r["stage_index"]), r["stage"], r["source_kind"], r["language"], r["outcome"], r["reason"])
            ledger.cells[key] = [int(r[c]) for c in _COUNTERS]
        return ledger

    def dumps(self) -> str:
        return json.dumps(self.to_rows(""), ensure_ascii=False)

    @classmethod
    def loads(cls, text: str) -> Ledger:
        return cls.from_rows(json.loads(text))


class Stage(PipelineStep):
    """Base of every per-document step. Subclasses set ``name`` and implement ``apply``.

    ``index`` (position in the pipeline) and ``ledger`` are set by ``bind`` when the pipeline is
    built; a stage used on its own (tests, notebooks) counts into its own fresh ledger.
    """

    name = "stage"
    type = "🧩 - STAGE"

    def __init__(self) -> None:
        super().__init__()
        self.index = 0
        self.ledger = Ledger()

    def bind(self, index: int, ledger: Ledger) -> Stage:
        self.index, self.ledger = index, ledger
        return self

    def apply(self, doc: Document) -> str | None:
        """Change ``doc`` in place; return None to keep it or a snake_case reason to drop it."""
        raise NotImplementedError

    def process(self, doc: Document) -> Document:
        """Run ``apply`` on one live document with failure capture and accounting."""
        before = doc_size(doc)
        try:
            reason = self.apply(doc)
        except Exception as err:  # one bad document must never stop the run
            reject(doc, self.name, FAILED, error=f"{type(err).__name__}: {err}")
            self.stat_update("failed")
        else:
            if reason is not None:
                reject(doc, self.name, reason)
                self.stat_update("dropped", f"dropped_{reason}")
            else:
                self.stat_update("forwarded")
        self.ledger.record(self.index, self.name, doc, before, doc_size(doc))
        return doc

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        for doc in data or ():
            if not is_live(doc):
                yield doc
                continue
            self.stat_update("total")
            with self.track_time():
                doc = self.process(doc)
            yield doc


class FilterStage(Stage):
    """Adapter for a stock datatrove filter (Gopher, C4, FineWeb, ...) under the stage contract.

    datatrove filters return ``True``, ``False`` or ``(False, reason)``; a bare ``False`` becomes
    ``default_reason``.
    """

    def __init__(self, name: str, datatrove_filter: Any, default_reason: str | None = None) -> None:
        self.name = name  # before the base __init__, which names datatrove's stats after it
        super().__init__()
        self.filter = datatrove_filter
        self.default_reason = default_reason or name

    def apply(self, doc: Document) -> str | None:
        result = self.filter.filter(doc)
        keep, reason = result if isinstance(result, tuple) else (result, None)
        return None if keep else (reason or self.default_reason)


def run_stages(stages: list[Stage], docs: Iterable[Document]) -> Iterator[Document]:
    """Chain stages over a stream of documents (what every engine does per partition)."""
    stream: Iterable[Document] = docs
    for stage in stages:
        stream = stage.run(stream)
    return iter(stream)
