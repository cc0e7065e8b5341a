"""What every extractor returns: the text, or the named reason there is none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Extraction:
    """Result of extracting one record.

    ``text`` is None exactly when ``reason`` is set. ``error`` is set only when extraction raised
    unexpectedly (the document is then *failed*, not *dropped*).
    """

    text: str | None
    format: str  # detected record format: html, text, pdf, patent_xml, hwp, hwpx, ...
    source_kind: str  # web, paper, patent, report, text
    metadata: dict[str, Any] = field(default_factory=dict)  # title, date, page_count, ...
    reason: str | None = None  # no_main_text, too_large, corrupt_pdf, encrypted, ...
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None
