"""PDF text extraction with PyMuPDF: the one interface over the PDF backend.

PyMuPDF (https://pymupdf.readthedocs.io, MuPDF underneath) is AGPL-3.0. Every call into it lives in this
module, behind ``extract_pdf``; the layout logic (reading order, running headers, hyphenation, Korean line
joins) is backend-free in ``dataflow.extractors.pdf_layout``. Replacing the backend means rewriting
``_page_lines`` and ``_tables`` here, nothing else.

What this module does with the backend:

* opens the bytes (``%PDF-`` header required, ``%%EOF`` trailer required: a file cut short is
  ``corrupt_pdf`` rather than a silently partial document; a file that needs a password is ``encrypted``);
* reads each page's text lines (``page.get_text("dict")`` with ligatures expanded and whitespace kept);
* finds ruled tables with ``page.find_tables()`` (only on pages that draw enough rules, since the table
  finder costs 50-150 ms a page) and renders them as Markdown in place of their shredded lines;
* reads the title (PDF metadata, else the first largest-font line of page 1), author and page count.

A PDF without any text layer (scans, image-only files) is ``no_text_layer``: OCR is out of scope for this
pipeline. At most ``PdfConfig.max_pages`` pages are read so one huge file cannot stall a worker.
"""

from __future__ import annotations

import re
from typing import Any

from dataflow.config import ExtractConfig
from dataflow.extractors.pdf_layout import (
    JoinContext,
    Line,
    PageLines,
    document_text,
    join_lines,
    largest_font_title,
    merge_rows,
    normalize_spaces,
)
from dataflow.extractors.result import Extraction

_FLAGS = 2 | 64  # TEXT_PRESERVE_WHITESPACE | TEXT_MEDIABOX_CLIP; ligatures expanded, images skipped
# metadata titles that are placeholders or file names ("Microsoft Word - draft.doc", "10811.exe")
_BAD_TITLE = re.compile(r"^(untitled|microsoft (word|powerpoint) - .*|[\w\-. ]+\.[a-z0-9]{2,5})$", re.I)


def _backend() -> Any:
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)  # MuPDF would print repair warnings for every broken file
    pymupdf.TOOLS.mupdf_display_warnings(False)
    pymupdf.no_recommend_layout()  # find_tables prints an advert for pymupdf_layout otherwise
    return pymupdf


def _page_lines(page: Any) -> tuple[list[Line], list[Line]]:
    """The page's text lines, and its spans (as one-span lines, for assembling table cells)."""
    lines: list[Line] = []
    spans_out: list[Line] = []
    for block in page.get_text("dict", flags=_FLAGS)["blocks"]:
        for ln in block.get("lines", ()):
            spans = ln["spans"]
            text = normalize_spaces("".join(s["text"] for s in spans))
            if not text.strip():
                continue
            dx, dy = ln["dir"]
            horizontal = dx > 0.99 and abs(dy) < 0.01
            # dominant size: the size carrying the most characters (superscripts do not count)
            sizes: dict[float, int] = {}
            for s in spans:
                size = round(s["size"], 1)
                sizes[size] = sizes.get(size, 0) + len(s["text"].strip())
                if s["text"].strip():
                    spans_out.append(Line(normalize_spaces(s["text"]), *s["bbox"], size, horizontal))
            lines.append(Line(text, *ln["bbox"], max(sizes, key=sizes.get), horizontal))
    return lines, spans_out


def _cell(spans: list[Line], bbox: tuple[float, float, float, float] | None) -> str:
    """A table cell's text from the page's own spans (PyMuPDF's cell text reorders glyphs such as "_")."""
    if bbox is None:
        return ""
    box = Line("", *bbox, 0.0)
    inside = sorted((s for s in spans if _inside(s, box)), key=lambda s: (s.y0, s.x0))
    out = ""
    for row in merge_rows(inside):
        out = join_lines(out, row.text, False, JoinContext())
    return " ".join(out.split()).replace("|", "\\|")


def _ruled_area(page: Any) -> tuple[float, float, float, float] | None:
    """The box around the page's drawn rules, or None where they cannot form a ruled table.

    PyMuPDF's table finder (default "lines" strategy) builds cells from crossing horizontal and vertical
    rules and costs 50-150 ms a page, 20-50x the text extraction; on the test PDFs it found no table on a
    page with fewer than three vertical rules or four boxes, so such pages skip it, and the finder is
    clipped to the rules' box so its per-character work stays near the table.
    """
    h = v = boxes = 0
    xs: list[float] = []
    ys: list[float] = []
    for path in page.get_drawings():
        for item in path["items"]:
            if item[0] == "l":
                a, b = item[1], item[2]
                is_h, is_v = abs(a.y - b.y) < 1 and abs(a.x - b.x) > 5, abs(a.x - b.x) < 1 and abs(a.y - b.y) > 5
                h, v = h + is_h, v + is_v
                if is_h or is_v:
                    xs += [a.x, b.x]
                    ys += [a.y, b.y]
            elif item[0] == "re":
                r = item[1]
                h += r.height < 3 and r.width > 5
                v += r.width < 3 and r.height > 5
                boxes += r.width >= 3 and r.height >= 3
                xs += [r.x0, r.x1]
                ys += [r.y0, r.y1]
    if not ((v >= 3 and h >= 2) or boxes >= 4):
        return None
    return (min(xs) - 3, min(ys) - 3, max(xs) + 3, max(ys) + 3)


def _tables(page: Any, spans: list[Line]) -> list[Line]:
    """Ruled tables on the page as pseudo-lines carrying their Markdown rendering."""
    clip = _ruled_area(page)
    if clip is None:
        return []
    out: list[Line] = []
    area = page.rect.width * page.rect.height
    for table in page.find_tables(clip=clip).tables:
        rows = [[_cell(spans, c) for c in row.cells] for row in table.rows]
        cells = [c for row in rows for c in row]
        x0, y0, x1, y1 = table.bbox
        # a 1-row or 1-column "table" is a ruled box around text, and a page-sized one is a frame: keep as text
        if table.row_count < 2 or table.col_count < 2 or (x1 - x0) * (y1 - y0) > 0.8 * area:
            continue
        if sum(bool(c) for c in cells) < 0.4 * len(cells):
            continue
        ncol = max(len(r) for r in rows)
        rows = [r + [""] * (ncol - len(r)) for r in rows]
        md = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * ncol]
        md += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        out.append(Line("\n".join(md), x0, y0, x1, y1, 0.0, True, table="\n".join(md)))
    return out


def _inside(ln: Line, box: Line) -> bool:
    cx, cy = (ln.x0 + ln.x1) / 2, (ln.y0 + ln.y1) / 2
    return box.x0 - 1 <= cx <= box.x1 + 1 and box.y0 - 1 <= cy <= box.y1 + 1


def _title(doc: Any, first: PageLines | None) -> str:
    title = " ".join((doc.metadata or {}).get("title", "").split())
    if title and not _BAD_TITLE.match(title) and sum(c.isalpha() for c in title) >= 3:
        return title
    return largest_font_title(first) if first is not None else ""


def extract_pdf(content: bytes, uri: str | None, hints: dict, config: ExtractConfig) -> Extraction:
    """Extract a PDF's text in reading order (see the module docstring), or name why there is none.

    Reasons: ``corrupt_pdf`` (not a PDF, truncated, unreadable), ``encrypted`` (needs a password),
    ``no_text_layer`` (no extractable characters; OCR is out of scope), ``no_main_text`` (text existed
    but only running headers and page numbers).
    """
    cfg = config.pdf

    def fail(reason: str, **meta: Any) -> Extraction:
        return Extraction(None, "pdf", cfg.source_kind, meta, reason=reason)

    if b"%PDF-" not in content[:1024]:
        return fail("corrupt_pdf")
    if b"%%EOF" not in content[-4096:]:  # the trailer is missing: the file was cut short
        return fail("corrupt_pdf", truncated=True)
    pymupdf = _backend()
    try:
        doc = pymupdf.open(stream=content, filetype="pdf")
    except Exception:
        return fail("corrupt_pdf")
    with doc:
        if doc.needs_pass:
            return fail("encrypted")
        try:
            page_count = doc.page_count
        except Exception:
            return fail("corrupt_pdf")
        if page_count == 0:
            return fail("corrupt_pdf")
        n = min(page_count, cfg.max_pages)
        pages: list[PageLines] = []
        failed = tables = 0
        for i in range(n):
            try:
                page = doc.load_page(i)
                lines, spans = _page_lines(page)
                found = _tables(page, spans) if cfg.tables and lines else []
            except Exception:  # one broken page costs that page, not the document
                failed += 1
                continue
            lines = [ln for ln in lines if not any(_inside(ln, t) for t in found)] + found
            tables += len(found)
            pages.append(PageLines(page.rect.width, page.rect.height, lines))
        if failed == n:
            return fail("corrupt_pdf")
        meta: dict[str, Any] = {"page_count": page_count, "title": _title(doc, pages[0] if pages else None)}
        author = " ".join((doc.metadata or {}).get("author", "").split())
        if author:
            meta["author"] = author
        if n < page_count:
            meta["pages_extracted"] = n
        if failed:
            meta["pages_failed"] = failed
        if tables:
            meta["tables"] = tables
    if not any(ln.text.strip() for p in pages for ln in p.lines):
        return fail("no_text_layer", **meta)
    text = document_text(pages, cfg.korean_line_join)
    if not text.strip():
        return fail("no_main_text", **meta)
    return Extraction(text, "pdf", cfg.source_kind, meta)
