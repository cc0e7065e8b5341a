"""The ``extract`` stage: raw record bytes to text, through ``dataflow.extractors.extract_record`` (what
``dataflow.extract`` calls on each record after the same reader).

Records that arrive with text already (JSONL / Parquet / plain-text inputs, format ``text``) pass
through untouched apart from a default source kind. Raw records (HTML, PDF, HWP, patents, ...) are
extracted; the raw bytes leave the document here whatever the outcome, so they never reach the tables.
"""

from __future__ import annotations

from datatrove.data import Document

from dataflow.config import ExtractConfig
from dataflow.document import Meta
from dataflow.extractors import extract_record
from dataflow.stages.base import Stage

DEFAULT_TEXT_KIND = "text"  # source kind of text records whose reader named none


class ExtractionError(RuntimeError):
    """An extractor raised unexpectedly; carries its message so the document is marked failed."""


class ExtractStage(Stage):
    name = "extract"

    def __init__(self, config: ExtractConfig | None = None) -> None:
        super().__init__()
        self.config = config or ExtractConfig()

    def apply(self, doc: Document) -> str | None:
        meta = doc.metadata
        raw = meta.pop(Meta.RAW, None)
        hints = meta.pop(Meta.RAW_HINTS, None) or {}
        if doc.text:
            meta.setdefault(Meta.FORMAT, "text")
            meta.setdefault(Meta.SOURCE_KIND, DEFAULT_TEXT_KIND)
            return None
        if not raw:
            return "empty"
        # the page's own address is the better name (trafilatura resolves links with it); the input
        # file's URI still gives the extension when there is none
        uri = meta.get(Meta.URL) or meta.get(Meta.SOURCE_URI)
        ex = extract_record(raw, uri, hints=hints, config=self.config)
        meta[Meta.FORMAT] = ex.format
        if ex.error:
            raise ExtractionError(f"{ex.format} extractor: {ex.error}")
        if not ex.ok:
            return ex.reason or "no_text"
        doc.text = ex.text or ""
        if not meta.get(Meta.SOURCE_KIND):
            meta[Meta.SOURCE_KIND] = ex.source_kind
        meta[Meta.EXTRACT_META] = dict(ex.metadata)
        if not meta.get(Meta.URL) and isinstance(ex.metadata.get("url"), str):
            meta[Meta.URL] = ex.metadata["url"]
        return None
