"""Documents to table rows: the one place a pipeline ``Document`` (or a deduplicated row) becomes a
documents or rejects row."""

from __future__ import annotations

import json
from typing import Any

from datatrove.data import Document

from dataflow.document import EXCERPT_CHARS, Meta, doc_size
from schemas import DROPPED, REJECTS


def _json_default(value: Any) -> str:
    return str(value)


def document_row(doc: Document, run_id: str) -> dict[str, Any]:
    """A kept document as a row of the ``documents`` schema."""
    meta = doc.metadata
    n_bytes, n_chars = doc_size(doc)
    return dict(
        id=doc.id,
        text=doc.text,
        source_kind=meta.get(Meta.SOURCE_KIND, ""),
        source_uri=meta.get(Meta.SOURCE_URI, ""),
        url=meta.get(Meta.URL),
        language=meta.get(Meta.LANGUAGE, ""),
        language_score=float(meta.get(Meta.LANGUAGE_SCORE, 0.0)),
        quality_signals={k: float(v) for k, v in (meta.get(Meta.QUALITY_SIGNALS) or {}).items()},
        quality_score=meta.get(Meta.QUALITY_SCORE),
        pii_counts={k: int(v) for k, v in (meta.get(Meta.PII_COUNTS) or {}).items()},
        dedup_cluster=meta.get(Meta.DEDUP_CLUSTER),
        n_bytes=n_bytes,
        n_chars=n_chars,
        metadata=json.dumps(meta.get(Meta.EXTRACT_META) or {}, ensure_ascii=False, default=_json_default),
        run_id=run_id,
        page_type=(meta.get(Meta.EXTRACT_META) or {}).get("page_type"),
        quality_model=meta.get(Meta.QUALITY_MODEL),
    )


def reject_row(doc: Document, run_id: str) -> dict[str, Any]:
    """A dropped or failed document as a row of the ``rejects`` schema."""
    meta = doc.metadata
    n_bytes, n_chars = doc_size(doc)
    return rejects_row(
        id=doc.id,
        run_id=run_id,
        source_kind=meta.get(Meta.SOURCE_KIND, ""),
        source_uri=meta.get(Meta.SOURCE_URI, ""),
        url=meta.get(Meta.URL),
        stage=meta.get(Meta.STAGE, ""),
        outcome=meta.get(Meta.OUTCOME, ""),
        reason=meta.get(Meta.REASON, ""),
        error=meta.get(Meta.ERROR),
        language=meta.get(Meta.LANGUAGE, "") or "",
        excerpt=meta.get(Meta.EXCERPT, ""),
        n_bytes=n_bytes,
        n_chars=n_chars,
        duplicate_of=meta.get(Meta.DUPLICATE_OF),
        duplicate_snapshot=None,
        quality_score=meta.get(Meta.QUALITY_SCORE),
    )


def duplicate_row(
    row: dict[str, Any], stage: str, reason: str, duplicate_of: str | None, duplicate_snapshot: int | None = None
) -> dict[str, Any]:
    """A documents-schema row that dedup dropped, as a row of the ``rejects`` schema
    (``duplicate_snapshot``: the snapshot holding ``duplicate_of`` when that one was already published)."""
    return rejects_row(
        id=row["id"],
        run_id=row["run_id"],
        source_kind=row["source_kind"],
        source_uri=row["source_uri"],
        url=row["url"],
        stage=stage,
        outcome=DROPPED,
        reason=reason,
        error=None,
        language=row["language"],
        excerpt=row["text"][:EXCERPT_CHARS],
        n_bytes=row["n_bytes"],
        n_chars=row["n_chars"],
        duplicate_of=duplicate_of,
        duplicate_snapshot=duplicate_snapshot,
        quality_score=row.get("quality_score"),
    )


def rejects_row(**fields: Any) -> dict[str, Any]:
    """The one constructor of a ``rejects`` row: every field of the schema, nothing else."""
    if set(fields) != set(REJECTS.names):
        raise ValueError(f"rejects row fields differ from the schema: {sorted(set(fields) ^ set(REJECTS.names))}")
    return fields
