"""The document contract on the ground floor: metadata keys, sizes, excerpts and rejection.

Every part of the pipeline (readers, extractors, stages, dedup, engines, reports) agrees on these
names; nothing here imports another part of ``dataflow``. A pipeline document is datatrove's
``Document``; the fields stages share live in ``doc.metadata`` under the keys of ``Meta``. The
outcome vocabulary (kept, dropped, failed) is written to disk, so it lives in ``schemas``.
"""

from __future__ import annotations

from datatrove.data import Document

from schemas import DROPPED, FAILED, KEPT

EXCERPT_CHARS = 300  # enough for an auditor to see what a reason removed


class Meta:
    """Keys of ``Document.metadata`` that form the contract between stages and engines."""

    SOURCE_KIND = "source_kind"  # web, paper, patent, report, text
    SOURCE_URI = "source_uri"  # input file URI
    URL = "url"  # the page's own address, when known
    FORMAT = "format"  # detected format of the raw record: html, warc, text, pdf, ...
    RAW = "raw"  # raw bytes of a record not yet extracted (removed by the extract stage)
    RAW_HINTS = "raw_hints"  # dict of decoding hints for raw bytes: charset, content_type
    RAW_SIZE = "raw_size"  # raw bytes of a record whose bytes were not kept (too large, unreadable)
    LANGUAGE = "language"  # ISO 639-1, set by language ID (datatrove's key)
    LANGUAGE_SCORE = "language_score"
    QUALITY_SIGNALS = "quality_signals"  # dict[str, float]
    QUALITY_SCORE = "quality_score"
    QUALITY_MODEL = "quality_model"  # version (file name, content hash inside) of the model that scored
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
    if text := doc.text:
        # str.isascii is O(1) in CPython (a flag of the string object): ASCII text is one byte a character;
        # surrogatepass: a lone surrogate (which normalize removes later) counts its 3 bytes instead of raising
        return (len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))), len(text)
    raw = doc.metadata.get(Meta.RAW)
    return (len(raw) if raw is not None else int(doc.metadata.get(Meta.RAW_SIZE, 0))), 0


def is_live(doc: Document) -> bool:
    """True while no stage has dropped or failed the document."""
    return doc.metadata.get(Meta.OUTCOME, KEPT) == KEPT


def excerpt(doc: Document) -> str:
    """The first ``EXCERPT_CHARS`` characters of the text, or of the raw bytes before extraction."""
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
