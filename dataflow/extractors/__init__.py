"""Text extraction from one record's bytes: ``extract`` (public as ``dataflow.extract``) and the format table.

The pipeline's extract stage calls the same ``extract`` function, so a notebook sees exactly
what a run would keep. Each record format has one extractor function with the signature
``(content: bytes, uri: str | None, hints: dict, config: ExtractConfig) -> Extraction``,
named in ``EXTRACTORS`` by module path and imported on first use (PDF, HWP and patent
extraction pull in heavy libraries only when such a record turns up).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from dataflow.config import ExtractConfig
from dataflow.extractors.result import Extraction

# record format (as returned by dataflow.readers.sniff.sniff_record) -> "module:function"
EXTRACTORS: dict[str, str] = {
    "html": "dataflow.extractors.html:extract_html",
    "text": "dataflow.extractors.text:extract_text",
    "pdf": "dataflow.extractors.pdf:extract_pdf",
    "patent_xml": "dataflow.extractors.patent:extract_patent_xml",
    "patent_aps": "dataflow.extractors.patent:extract_patent_aps",
    "hwp": "dataflow.extractors.hwp:extract_hwp",
    "hwpx": "dataflow.extractors.hwp:extract_hwpx",
}


def _extractor(fmt: str) -> Callable[..., Extraction]:
    module, func = EXTRACTORS[fmt].split(":")
    return getattr(importlib.import_module(module), func)


def extract(
    content: bytes,
    uri: str | None = None,
    *,
    hints: dict[str, Any] | None = None,
    config: ExtractConfig | None = None,
) -> Extraction:
    """Extract the main text of one record.

    Args:
        content: the record's raw bytes (an HTML page, a PDF file, an HWP file, ...).
        uri: where it came from; its extension is only a tie-breaker, the format is detected
            from the content.
        hints: decoding hints from the container (``charset``, ``content_type`` from HTTP or
            WARC headers).
        config: extraction settings; the documented defaults when None.

    Returns:
        An ``Extraction`` with the text, the detected format and source kind and metadata, or
        with ``text=None`` and the named ``reason`` (``empty``, ``too_large``,
        ``unsupported_format``, ``no_main_text``, ...). It never raises for bad input.
    """
    from dataflow.readers.sniff import sniff_record

    config = config or ExtractConfig()
    hints = hints or {}
    fmt = sniff_record(content, uri, hints)
    if fmt == "empty":
        return Extraction(None, fmt, "", reason="empty")
    if fmt not in EXTRACTORS:
        return Extraction(None, fmt, "", reason="unsupported_format")
    if fmt not in config.formats:
        return Extraction(None, fmt, "", reason="format_disabled")
    try:
        return _extractor(fmt)(content, uri, hints, config)
    except Exception as err:  # an extractor bug must fail one record, not the run
        return Extraction(None, fmt, "", reason="failed", error=f"{type(err).__name__}: {err}")


__all__ = ["EXTRACTORS", "Extraction", "extract"]
