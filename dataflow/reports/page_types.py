"""Kept web pages by detected page type (a report section): how much of the web output is articles,
forums, product pages, listings...

Read from the run's documents table (``documents.page_type``, ``n_chars``), not from logs; rejects carry
no page type, so the section counts what was kept. A run with no typed web page (other sources only,
or ``extract.html.page_types`` off) has no rows and the section is not shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dataflow.config import PAGE_TYPES


@dataclass(frozen=True)
class PageTypeRow:
    page_type: str
    docs: int
    chars: int
    docs_share: float  # of the kept web pages that have a page type
    chars_share: float


def page_type_rows(kept: Iterable[tuple[str | None, int]]) -> list[PageTypeRow]:
    """(page type, n_chars) of kept documents -> one row per type, in PAGE_TYPES order; untyped ones skipped."""
    docs: dict[str, int] = {}
    chars: dict[str, int] = {}
    for kind, n_chars in kept:
        if kind:
            docs[kind] = docs.get(kind, 0) + 1
            chars[kind] = chars.get(kind, 0) + int(n_chars or 0)
    total_docs, total_chars = sum(docs.values()), sum(chars.values())
    order = [k for k in PAGE_TYPES if k in docs] + sorted(set(docs) - set(PAGE_TYPES))
    return [
        PageTypeRow(k, docs[k], chars[k], docs[k] / total_docs, chars[k] / total_chars if total_chars else 0.0)
        for k in order
    ]


HEADERS = ["page type", "kept docs", "kept chars", "% of typed docs", "% of typed chars"]


def cells(row: PageTypeRow) -> list[str]:
    """One table row, shared by the text, Markdown and HTML renderers."""
    return [row.page_type, f"{row.docs:,}", f"{row.chars:,}", f"{row.docs_share:.2%}", f"{row.chars_share:.2%}"]
