"""Per-page-type main-text extraction: which extractor each page type gets, and the extractors.

Six strategies, chosen per detected type by ``HtmlConfig.strategies`` (defaults measured on the
WCXB dev subset and ScrapingHub, ``bench/bench_extraction.py``):

- ``precision``: trafilatura with ``favor_precision`` (best on news and blog articles: ScrapingHub
  F1 0.964), guarded against its known failure, dropping most of a page: when its text is shorter
  than ``recall_guard`` x the DOM extractor's, trafilatura's default run replaces it. It reads only
  the pruned page's main root, and its first run skips the fallback extractors (``precision_text``):
  ScrapingHub 0.71x -> 1.48x trafilatura default's pages per CPU-second, F1 0.969 -> 0.967.
- ``trafilatura`` / ``recall``: trafilatura default / ``favor_recall`` (product pages: its scoring keeps
  the description and drops the related-item rails and reviews the DOM extractor keeps); the lines
  only pruned chrome holds (a shop's cookie settings, shipping notes) are then dropped
  (``without_chrome_lines``). Its first run skips the fallback extractors (``trafilatura_fast``), guarded
  as the precision strategy is: WCXB dev products 0.727 -> 0.741, at the same speed.
- ``dom``: the lexbor DOM extractor (``html_dom``): boilerplate regions pruned, link-heavy blocks
  dropped (service and feature pages, whose short blocks trafilatura's paragraph scoring discards, and
  forums, where it keeps every post; ``HtmlConfig.min_block_words`` drops the posts' one-word chrome).
- ``dom_links``: the same, keeping link-heavy blocks (listings and category grids, whose item titles
  are links and are the content).
- ``dom_or_precision``: the DOM text, or trafilatura ``favor_precision``'s where that keeps nearly all
  its words (``HtmlConfig.dom_precision_share``): pages that name no type (``fallback_strategy``).

A page whose text comes out shorter than ``HtmlConfig.min_chars`` (a page rendered by script, a media page
with a caption) gets its meta description instead where that is longer (``html_strategy`` ``description``).

``with_product_parts``: product pages often carry their description only in JSON-LD (tabs rendered by
script), and trafilatura leaves the product's name (the ``<h1>``) out; both are added where the text
lacks them (``HtmlConfig.product_json_ld``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from dataflow.config import HTML_STRATEGIES, HtmlConfig
from dataflow.extractors import html_dom
from dataflow.extractors.page_type import FORUM, PRODUCT

PRECISION, TRAFILATURA, RECALL, DOM, DOM_LINKS, DOM_OR_PRECISION = HTML_STRATEGIES
# html_strategy of a page whose extracted text fell short of min_chars and whose meta description stood in for it
# (HtmlConfig.description_fallback); not a strategy one configures
DESCRIPTION = "description"
_TRAFILATURA_STRATEGIES = {PRECISION: {"favor_precision": True}, TRAFILATURA: {}, RECALL: {"favor_recall": True}}


@dataclass
class MainText:
    """The extracted text, the strategy that produced it, and trafilatura's document where it ran."""

    text: str
    strategy: str
    document: Any = None  # trafilatura's Document (metadata fields) or None for the DOM strategies


def run_trafilatura(markup: str, url: str | None, cfg: HtmlConfig, **settings: bool) -> tuple[str, Any]:
    """trafilatura's body (+ comments when configured) as ``extract(output_format="txt")`` joins them."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        markup,
        url=url,
        fast=cfg.fast,
        favor_precision=settings.get("favor_precision", False),
        favor_recall=settings.get("favor_recall", False),
        include_comments=cfg.include_comments,
        include_tables=cfg.include_tables,
        deduplicate=cfg.deduplicate,
        with_metadata=cfg.with_metadata,
    )
    if doc is None:
        return "", None
    parts = [doc.text, doc.comments if cfg.include_comments else None]
    return "\n".join(p for p in parts if p), doc


# page type -> class/id words that name chrome on pages of that type only (the DOM strategies' pruner): on a forum
# the thread's posts are the content and a "comments" block is the chatter under a post (Stack Exchange's comments
# under questions and answers; WCXB's forum ground truth leaves it out); on a blog or product page comments can be
# what a reader came for. WCXB dev forums 0.781 -> 0.805 (five Stack Exchange pages and a forum index up, none down)
TYPE_CHROME_WORDS = {FORUM: frozenset(["comment", "comments"])}


def main_text(
    markup: str, tree, url: str | None, strategy: str, cfg: HtmlConfig, min_words: int = 0, page_type: str = ""
) -> MainText:
    """Main text of a page with ``strategy``; ``tree`` is the lexbor parse (pruned here, for the DOM text).

    ``min_words``: the DOM strategies drop non-heading blocks shorter than this (``HtmlConfig.min_block_words``);
    ``page_type``: the detected type, whose own chrome words (``TYPE_CHROME_WORDS``) the DOM strategies prune.
    """
    if strategy in (DOM, DOM_LINKS):
        chrome = TYPE_CHROME_WORDS.get(page_type, frozenset())
        return MainText(html_dom.dom_text(tree, strategy == DOM_LINKS, min_words, chrome), strategy)
    if strategy == DOM_OR_PRECISION:
        return dom_or_precision(markup, tree, url, cfg, min_words)
    if strategy == PRECISION:
        return precision_text(markup, tree, url, cfg)
    return trafilatura_text(markup, tree, url, strategy, cfg)


def trafilatura_text(markup: str, tree, url: str | None, strategy: str, cfg: HtmlConfig) -> MainText:
    """The ``trafilatura`` and ``recall`` strategies: trafilatura on the whole page, without chrome's lines.

    With ``trafilatura_fast`` the first run skips trafilatura's fallback extractors; where its text is shorter
    than ``recall_guard`` x the pruned page's main text (it has dropped the content), the full run replaces it.
    """
    settings = _TRAFILATURA_STRATEGIES[strategy]
    text, doc = run_trafilatura(markup, url, replace(cfg, fast=True) if cfg.trafilatura_fast else cfg, **settings)
    chrome, body = chrome_lines(tree)
    guarded = cfg.trafilatura_fast and cfg.recall_guard > 0 and body is not None  # else no second run to decide
    main = html_dom.main_root(body) if guarded else None
    if main is not None and lost_content(text, html_dom.block_text(html_dom.blocks(main)), cfg):
        text, doc = run_trafilatura(markup, url, cfg, **settings)
    text = without_chrome_lines(text, chrome)
    # long repeated lines kept once, as the DOM text does (product pages: WCXB products 0.699 -> 0.703; on
    # articles, the precision strategy, ScrapingHub F1 0.967 -> 0.966, so it is left alone there)
    return MainText("\n".join(html_dom.without_repeats(text.split("\n"))), strategy, doc)


# elements without text that trafilatura drops without images (include_images off): ~10% of a ScrapingHub
# main root's elements, and each one costs its XPath rules time (ScrapingHub ~4% faster, F1 unchanged)
_IMAGES = "img, picture, source"


def main_root_markup(tree) -> tuple[str | None, str]:
    """The pruned page's main root re-serialized as a page of its own, images left out (``None`` for a
    page without a body), and the DOM extractor's text of it; prunes ``tree``."""
    body = html_dom.prune(tree)
    if body is None:
        return None, ""
    root = html_dom.main_root(body)
    dom = html_dom.block_text(html_dom.blocks(root))
    for node in root.css(_IMAGES):
        node.decompose()
    return f"<html><body>{root.html}</body></html>", dom


def precision_text(markup: str, tree, url: str | None, cfg: HtmlConfig) -> MainText:
    """The precision strategy: trafilatura ``favor_precision``, guarded by the DOM text (``recall_guard``).

    With ``precision_main_root`` trafilatura reads only the main root of the lexbor-pruned tree (its
    cost grows with the elements its XPath rules visit: ScrapingHub pages shrink from 173 to 21 KB), and
    with ``precision_fast`` the first run skips trafilatura's fallback extractors; where the guard trips,
    trafilatura's full default run on the same markup replaces it. trafilatura's metadata needs the
    page's ``<head>``, so ``with_metadata`` keeps the whole page as its input.
    """
    if cfg.precision_main_root and not cfg.with_metadata:
        root_page, dom = main_root_markup(tree)
        page = root_page or markup
    else:
        page, dom = markup, html_dom.dom_text(tree) if cfg.recall_guard > 0 else ""
    first = replace(cfg, fast=True) if cfg.precision_fast else cfg
    text, doc = run_trafilatura(page, url, first, favor_precision=True)
    if lost_content(text, dom, cfg):
        text, doc = run_trafilatura(page, url, cfg)
        return MainText(text, f"{PRECISION}>{TRAFILATURA}", doc)
    return MainText(text, PRECISION, doc)


def lost_content(text: str, dom: str, cfg: HtmlConfig) -> bool:
    """The recall guard: trafilatura's ``text`` is shorter than ``recall_guard`` x the DOM text of the same page
    (it has dropped content; never with ``recall_guard`` 0)."""
    return cfg.recall_guard > 0 and len(text) < cfg.recall_guard * len(dom)


# chrome words whose elements keep their lines in trafilatura's text (without_chrome_lines): layers a click
# opens (a product's details sheet is a "modal") and filter rails (an FAQ accordion in a "facet-row") hold
# the page's own text there, which trafilatura's scoring has already judged (WCXB dev: sparing them,
# products 0.712 -> 0.714 and collections 0.764 -> 0.774)
_SPARED_CHROME_WORDS = frozenset(["modal", "popup", "overlay", "drawer", "offcanvas", "filters", "facet", "facets"])


# class/id words of customer reviews, chrome on the pages the trafilatura strategies get (products): the buyers'
# text, not the product's, which trafilatura's scoring keeps as prose (WCXB dev products 0.714 -> 0.721, 12 pages
# up and 5 down: a course page whose ground truth keeps its testimonials; overall 0.8327 -> 0.8336, floors same)
REVIEW_WORDS = frozenset(["review", "reviews"])


def without_chrome_lines(text: str, chrome: set[str]) -> str:
    """trafilatura's text without the lines that are only chrome's (``chrome_lines``), compared without
    whitespace.

    trafilatura default on a whole product page keeps such blocks (a shop's cookie settings, shipping and
    protection notes); the pruned tree names them without changing what trafilatura chose (re-serializing
    the pruned page as its input moved other product pages both ways). WCXB dev products 0.703 -> 0.714.
    """
    if not chrome:
        return text
    return "\n".join(line for line in text.split("\n") if _unspaced(line) not in chrome)


def chrome_lines(tree) -> tuple[set[str], Any]:
    """The texts (whitespace removed) of the blocks the pruner removes and of none it keeps (consent dialogs,
    hidden and screen-reader text, menus, share bars, and here customer reviews: ``REVIEW_WORDS``), and the
    pruned body (None for a page without one); prunes ``tree``."""
    if tree.body is None:
        return set(), None
    before = {b.text for b in html_dom.blocks(tree.body)}
    body = html_dom.prune(tree, _SPARED_CHROME_WORDS, REVIEW_WORDS)
    if body is None:
        return set(), None
    return {_unspaced(t) for t in before - {b.text for b in html_dom.blocks(body)}}, body


def _unspaced(line: str) -> str:
    """``line`` without any whitespace: trafilatura and the DOM blocks space inline elements differently
    ("$12.99/ month" against "$12.99 / month"), so lines are compared without it."""
    return "".join(line.split())


def dom_or_precision(markup: str, tree, url: str | None, cfg: HtmlConfig, min_words: int = 0) -> MainText:
    """The DOM text, or trafilatura ``favor_precision``'s where it keeps ``dom_precision_share`` of its words.

    For pages that name no type: most are service, listing and category pages, where trafilatura drops
    the short blocks that are the content, but some are stories, where the DOM text keeps the leftover
    chrome ("Share this page", related headlines) that trafilatura's scoring drops. When trafilatura's
    text holds nearly all the DOM text's words the page is such a story and trafilatura's text is taken.
    """
    dom = html_dom.dom_text(tree, False, min_words)
    text, doc = run_trafilatura(markup, url, cfg, favor_precision=True)
    if text and _word_bag_share(dom, text) >= cfg.dom_precision_share:
        return MainText(text, f"{DOM}>{PRECISION}", doc)
    return MainText(dom, DOM)


def json_ld_description(objects: list[dict]) -> str:
    """The ``description`` of the page's JSON-LD Product (or ProductGroup), whitespace collapsed."""
    for obj in objects:
        kind = obj.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and k.lower() in ("product", "productgroup") for k in kinds):
            value = obj.get("description")
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())
    return ""


_WORD = re.compile(r"\w+")
# the JSON-LD description is taken as already in the text when this share of its words is: compared as
# words, since JSON-LD often spells quotes and dashes differently from the page (' vs \u2019)
PRODUCT_DESCRIPTION_SEEN = 0.5


def _word_share(part: str, text: str) -> float:
    """The share of ``part``'s words (lower-cased ``\\w+``) that occur anywhere in ``text``."""
    words = _WORD.findall(part.lower())
    seen = set(_WORD.findall(text.lower()))
    return sum(w in seen for w in words) / max(1, len(words))


def _word_bag_share(part: str, text: str) -> float:
    """The share of ``part``'s words, counted with repeats, that ``text`` has as many times."""
    words, seen = Counter(_WORD.findall(part.lower())), Counter(_WORD.findall(text.lower()))
    return sum((words & seen).values()) / max(1, sum(words.values()))


def with_product_parts(text: str, page_type: str, objects: list[dict], heading: str) -> str:
    """A product page's name (its ``<h1>``) first and its JSON-LD description last, where the text lacks them.

    trafilatura treats the name as metadata and skips script-rendered description tabs; WCXB's product
    ground truth starts with the name.
    """
    if page_type != PRODUCT:
        return text
    flat = " ".join(text.split())
    description = json_ld_description(objects)
    if description and _word_share(description, text) < PRODUCT_DESCRIPTION_SEEN:
        text = f"{text}\n{description}" if text else description
    if heading and heading not in flat:
        text = f"{heading}\n{text}"
    return text


def description_stands_in(text: str, description: str, min_chars: int) -> bool:
    """Whether the page's meta description replaces its extracted text: the text is shorter than ``min_chars``
    (it would be no_main_text) and the description is longer than it."""
    kept = len(text.strip())
    return kept < min_chars and len(description) > kept


def without_title(text: str, heading: str) -> str:
    """An article's text without its headline line: the title is metadata (trafilatura and the article
    benchmarks' ground truth leave it out), and the DOM strategies emit it as the first heading."""
    lines = text.split("\n")
    return "\n".join(line for line in lines if line.strip() != heading) if heading in lines[:3] else text
