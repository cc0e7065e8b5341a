"""Plain-text records: decode the bytes (BOM, declared charset, detection; EUC-KR as CP949) and keep them.

There is nothing to strip from plain text at this point; Unicode normalization, boilerplate and
quality rules run later, the same way for every format.
"""

from __future__ import annotations

from dataflow.config import ExtractConfig
from dataflow.extractors.result import Extraction
from dataflow.readers.decode import decode_detail

SOURCE_KIND = "text"


def extract_text(content: bytes, uri: str | None, hints: dict, config: ExtractConfig) -> Extraction:
    """Decoded text of a plain-text record; reason ``empty`` when it is only whitespace. NUL bytes removed
    and mixed-encoding spans repaired by the decoder are counted in the metadata when there are any."""
    d = decode_detail(content, hints, scan_meta=False)
    text, metadata = d.text, {"encoding": d.encoding, **d.repairs()}
    if not text.strip():
        return Extraction(None, "text", SOURCE_KIND, metadata, reason="empty")
    return Extraction(text, "text", SOURCE_KIND, metadata)
