"""Main text of a web page: page-type-aware extraction over one fast parse, trafilatura where it wins.

The bytes are decoded here first (``dataflow.readers.decode``: BOM, HTTP/WARC charset, meta charset,
detection, with EUC-KR read as CP949), so Korean legacy pages reach the parsers as correct text.
With ``HtmlConfig.page_types`` (the default) the page is parsed once with lexbor (``html_dom``), its
type detected from that parse (``page_type``: article, documentation, forum, product, collection,
listing, service) and extracted by the strategy configured for that type (``html_types``): trafilatura
(Barbaresi, ACL 2021 demo: https://aclanthology.org/2021.acl-demo.15) for articles, forums and
products, the DOM extractor for listings, category grids and service pages. The type goes into the
metadata (``page_type``, with ``html_strategy``). Without it, trafilatura runs with the configured
settings on every page. ``deduplicate`` stays off: trafilatura's duplicate cache is process-wide, so
with it on a page's output would depend on which pages the same worker saw before (the pipeline
deduplicates globally instead).
"""

from __future__ import annotations

import gzip
import html as html_lib
import re
import unicodedata
from pathlib import Path
from typing import Any

from dataflow.config import ExtractConfig
from dataflow.extractors import html_dom, html_types
from dataflow.extractors.page_type import ARTICLE, PageType, detect
from dataflow.extractors.result import Extraction
from dataflow.readers.decode import decode_html

SOURCE_KIND = "web"
MARKUP_TOO_DEEP = "markup_too_deep"  # elements nest deeper than extract.html.max_depth
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
    """Extract one HTML page; reason ``no_main_text`` when nothing (or too little) is found."""
    cfg = config.html
    markup, encoding = decode_html(content, hints)
    url = page_url(uri)
    metadata: dict[str, Any] = {"encoding": encoding}
    if html_dom.markup_depth(markup) > cfg.max_depth:  # before any parser: their cost grows with depth
        return Extraction(None, "html", SOURCE_KIND, metadata, reason=MARKUP_TOO_DEEP)
    if cfg.page_types:
        tree = html_dom.parse(markup)
        facts = html_dom.read_facts(tree)
        kind = detect(facts, url)
        min_words = cfg.min_block_words.get(kind.name, 0)
        found = html_types.main_text(markup, tree, url, strategy_for(kind, config), cfg, min_words, kind.name)
        text, doc, strategy = found.text, found.document, found.strategy
        if cfg.product_json_ld:
            text = html_types.with_product_parts(text, kind.name, facts.jsonld, facts.heading)
        if kind.name == ARTICLE and facts.heading:
            text = html_types.without_title(text, facts.heading)
        if cfg.description_fallback and html_types.description_stands_in(text, facts.description, cfg.min_chars):
            text, strategy = facts.description, html_types.DESCRIPTION
        metadata.update(page_type=kind.name, html_strategy=strategy)
    else:
        settings = {"favor_precision": cfg.favor_precision, "favor_recall": cfg.favor_recall}
        text, doc = html_types.run_trafilatura(markup, url, cfg, **settings)
    if doc is not None:
        metadata.update({k: v for k in METADATA_FIELDS if isinstance(v := getattr(doc, k, None), str) and v})
    if "title" not in metadata and (title := html_title(markup)):
        metadata["title"] = title
    if url and "url" not in metadata:
        metadata["url"] = url
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) < max(cfg.min_chars, 1):
        return Extraction(None, "html", SOURCE_KIND, metadata, reason="no_main_text")
    return Extraction(text, "html", SOURCE_KIND, metadata)


def strategy_for(kind: PageType, config: ExtractConfig) -> str:
    """The configured strategy of a detected type; the fallback one for a page without evidence."""
    cfg = config.html
    return cfg.strategies.get(kind.name, cfg.fallback_strategy) if kind.evidence else cfg.fallback_strategy


def explain_html(content: bytes, uri: str | None, config: ExtractConfig | None = None) -> str:
    """Why a page gets its type and strategy: the evidence, one line each (``dataflow extract --explain``)."""
    markup, encoding = decode_html(content, {})
    url = page_url(uri)
    config = config or ExtractConfig()
    depth = html_dom.markup_depth(markup)
    if depth > config.html.max_depth:
        limit = config.html.max_depth
        return f"encoding: {encoding}\n{MARKUP_TOO_DEEP}: elements nest {depth} deep (extract.html.max_depth {limit})"
    kind = detect(html_dom.read_facts(html_dom.parse(markup)), url)
    strategy = strategy_for(kind, config)
    head = [f"encoding: {encoding}", f"url: {url or '(none: pass --url to use the address shape)'}"]
    return "\n".join([*head, kind.explain(), f"strategy: {strategy}"])


def explain_file(path: Path, url: str | None, config: ExtractConfig) -> tuple[str, bool]:
    """``explain_html`` for a file (gzip-compressed pages too); (message, False) when it is not a web page."""
    from dataflow.readers.sniff import sniff_record

    content = path.read_bytes()
    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)
    fmt = sniff_record(content, url or path.name, {})
    if fmt != "html":
        return f"{path}: {fmt}, not a web page (--explain covers HTML)", False
    return explain_html(content, url, config), True
