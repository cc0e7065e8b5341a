"""Main text of a web page with trafilatura (Barbaresi, ACL 2021 demo: https://aclanthology.org/2021.acl-demo.15).

The bytes are decoded here first (``dataflow.readers.decode``: BOM, HTTP/WARC charset, meta charset,
detection, with EUC-KR read as CP949), so Korean legacy pages reach trafilatura as correct text.
trafilatura's settings come from ``HtmlConfig``; they were chosen by F1 on the ScrapingHub
article-extraction benchmark (``bench/bench_extraction.py``). ``deduplicate`` stays off: trafilatura's
duplicate cache is process-wide, so with it on a page's output would depend on which pages the same
worker saw before (the pipeline deduplicates globally instead).
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from typing import Any

from dataflow.config import ExtractConfig
from dataflow.extractors.result import Extraction
from dataflow.readers.decode import decode_html

SOURCE_KIND = "web"
METADATA_FIELDS = ("title", "author", "date", "sitename", "hostname", "description", "url")
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TITLE_SCAN_CHARS = 65536  # <title> sits in <head>; never scan a whole large page for it


def page_url(uri: str | None) -> str | None:
    """The page's web address if ``uri`` is one (a file:// path tells trafilatura nothing)."""
    return uri if uri and uri.lower().startswith(("http://", "https://")) else None


def html_title(markup: str) -> str | None:
    """The document's ``<title>``, unescaped and with whitespace collapsed: cheap metadata."""
    match = _TITLE_RE.search(markup[:_TITLE_SCAN_CHARS])
    title = " ".join(html_lib.unescape(match.group(1)).split()) if match else ""
    return title or None


def extract_html(content: bytes, uri: str | None, hints: dict, config: ExtractConfig) -> Extraction:
    """Extract one HTML page; reason ``no_main_text`` when trafilatura finds none (or too little)."""
    import trafilatura

    cfg = config.html
    markup, encoding = decode_html(content, hints)
    url = page_url(uri)
    doc = trafilatura.bare_extraction(
        markup,
        url=url,
        fast=cfg.fast,
        favor_precision=cfg.favor_precision,
        favor_recall=cfg.favor_recall,
        include_comments=cfg.include_comments,
        include_tables=cfg.include_tables,
        deduplicate=cfg.deduplicate,
        with_metadata=cfg.with_metadata,
    )
    metadata: dict[str, Any] = {"encoding": encoding}
    if doc is not None:
        metadata.update({k: v for k in METADATA_FIELDS if isinstance(v := getattr(doc, k, None), str) and v})
    if "title" not in metadata and (title := html_title(markup)):
        metadata["title"] = title
    if url and "url" not in metadata:
        metadata["url"] = url
    parts = [doc.text, doc.comments if cfg.include_comments else None] if doc is not None else []
    # what trafilatura.extract(output_format="txt") returns: body, then comments, NFC-normalized
    text = unicodedata.normalize("NFC", "\n".join(p for p in parts if p)).strip()
    if len(text) < max(cfg.min_chars, 1):
        return Extraction(None, "html", SOURCE_KIND, metadata, reason="no_main_text")
    return Extraction(text, "html", SOURCE_KIND, metadata)
