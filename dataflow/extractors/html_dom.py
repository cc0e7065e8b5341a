"""One fast parse of a web page (selectolax/lexbor) and the DOM facts the other HTML modules read.

lexbor parses a page about 3x faster than lxml builds trafilatura's tree (bench/bench_extraction.py,
"parsers"), so the page is parsed once here and everything cheap is read from that tree: JSON-LD
objects and their schema.org types, OpenGraph and other meta tags, counts of structural elements
for the page-type detector, and the visible text blocks left after boilerplate regions are pruned
(the DOM extractor that listings, collections, service pages, forums and pages without any
type evidence use; see ``html_types.py``).

Pruning removes what is never main content on any page type: scripts, styles, forms' controls,
``<nav>``/``<aside>``/``<footer>``, page-level ``<header>``, ARIA landmark roles for navigation and
banners, hidden elements, and containers whose class or id names them as menus, cookie banners,
share bars and the like. Text is then emitted block by block (one line per paragraph, heading,
list item or table row), and a block that is mostly link text is dropped unless the page type says
links are content (``keep_link_blocks``; a bare list of nothing but links still goes then, as a menu:
``drop_link_lists``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, groupby
from operator import sub

from selectolax.lexbor import LexborHTMLParser, LexborNode

# removed before anything is read: not visible text on any page
_INVISIBLE = "script, style, noscript, template, svg, canvas, iframe, object, embed, head, link, meta"
# controls and chrome: never main text
_CHROME_TAGS = "nav, aside, footer, dialog, button, select, option, input, textarea, menu"
_CHROME_ROLES = ",".join(
    f'[role="{role}"]'
    for role in ("navigation", "banner", "contentinfo", "complementary", "search", "dialog", "menu", "menubar")
)
# hidden (a [popover] too: shown only when a control opens it, like a <dialog>), and text only screen readers
# get (Bootstrap's sr-only and d-none, Shopify's visually-hidden "Regular price" on every card, WordPress's
# screen-reader-text): not what a reader of the page sees. A collapsed panel stays (_shown_later), and so does a
# link marked aria-hidden: it is visible, only kept from screen readers as a second link to the same place (a
# card's title link beside its image link), and a listing's item titles are such links (WCXB dev collections
# 0.785 -> 0.794, one page up 0.52, one down 0.01)
_HIDDEN = (
    '[hidden], [aria-hidden="true"]:not(a), [style*="display:none"], [style*="display: none"], '
    '[class*="sr-only"], [class*="visually-hidden"], [class*="visuallyhidden"], [class*="screen-reader"], '
    '[class*="show-for-sr"], [class*="sr-text"], [popover], .d-none'
)
_SHOWN_AT_BREAKPOINT = re.compile(r"\bd-(sm|md|lg|xl|xxl)-(?!none)")
_MAIN_LANDMARK = 'main, [role="main"]'
# the fields a visitor types into (not a checkbox, a quantity or a hidden token): a form with one and no prose
# is a search box, a sign-up, login or reply form (prune; WCXB dev: 11 listing, service and forum pages up by
# 0.003-0.036, none down)
_TEXT_FIELDS = (
    'textarea, input:not([type]), input[type="text" i], input[type="search" i], input[type="email" i], '
    'input[type="password" i]'
)
# chrome that names itself in ARIA labels or microdata rather than in class names
_LABELLED_CHROME = '[aria-label*="breadcrumb" i], [itemtype*="BreadcrumbList"], [aria-label*="share" i]'
# a forum poster's card beside each post: XenForo's message-userTitle, -userBanner and -userExtras (rank, badges,
# join date, post count), phpBB's postprofile (WCXB dev forums 0.802 -> 0.805: 12 pages up, none down)
_POSTER_CARD_WORDS = frozenset(["usertitle", "userbanner", "userextras", "postprofile"])
# class/id words that name chrome, matched as whole tokens split on - _ and spaces (so "menu" does
# not match "menuitem-description" but does match "main-menu")
_CHROME_WORDS = _POSTER_CARD_WORDS | frozenset(
    [
        "nav",
        "navbar",
        "navigation",
        "menu",
        "megamenu",
        "breadcrumb",
        "breadcrumbs",
        "cookie",
        "cookies",
        "consent",
        "gdpr",
        "newsletter",
        "subscribe",
        "signup",
        "login",
        "share",
        "sharing",
        "social",
        "sidebar",
        "footer",
        "masthead",
        "topbar",
        "toolbar",
        "skip",
        "skiplink",
        "popup",
        "modal",
        "overlay",
        "banner",
        "advert",
        "advertisement",
        "ads",
        "adsense",
        "sponsored",
        "promo",
        "related",
        "recommended",
        "pagination",
        "pager",
        "offcanvas",
        "drawer",
        "avatar",
        "signature",
        "byline",
        "votes",
        "vote",
        "reactions",
        "badges",
        "buttons",
        "filters",
        "facet",
        "facets",
    ]
)
# chrome words that inside the page's main landmark name its hero and feature sections (a theme's "banner"
# is the page's headline block, a "promo" its offer), not a site banner or an advert
_HERO_WORDS = frozenset(["banner", "promo"])
# a consent dialog goes whatever its size (a cookie vendor list can outweigh a short page): no layout wrapper
# is named after cookies
_CONSENT_WORDS = frozenset(["cookie", "cookies", "consent", "gdpr"])
# chrome words that no content word redeems: a "post-signature" is the poster's card or sign-off, never the
# post, and an "article-footer" or "footer-wrap" holds tags, share links and related items (WCXB dev 0.8293 ->
# 0.8305, every type level or up; ScrapingHub 0.968 -> 0.967). A footer wrapping the whole page is kept by _small
_ALWAYS_CHROME_WORDS = frozenset(["signature", "avatar", "footer"]) | _POSTER_CARD_WORDS
# class/id words of folded content that a click opens (see _is_collapsed_panel)
_PANEL_WORDS = frozenset(["faq", "accordion", "collapse", "collapsible", "answer", "tab", "tabpanel", "panel"])
_CONTENT_WORDS = frozenset(
    ["content", "main", "article", "post", "entry", "body", "text", "story", "page", "wrap", "wrapper", "container"]
)
# a chrome-looking element holding more than this share of the body's text is a layout wrapper, not chrome
MAX_CHROME_SHARE = 0.4
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")
# elements that end a line of text
_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "li",
        "dt",
        "dd",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "figcaption",
        "table",
        "ul",
        "ol",
        "dl",
        "br",
        "hr",
        "address",
        "details",
        "summary",
        "caption",
        "header",
        "form",
        "fieldset",
        "legend",
    ]
)
_HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
# a line this long that the page repeats is kept once (without_repeats): WCXB dev forums 0.752 -> 0.773
# (quoted posts), collections 0.756 -> 0.764; 20 and 80 characters give the same within 0.001
REPEAT_CHARS = 40
LONG_PARAGRAPH = 150  # characters: two sentences of English prose, about five of Korean
# a block that is mostly link text is navigation (readability uses 0.5 for its link-density test)
MAX_LINK_SHARE = 0.5
# a <ul>/<ol> of this many links that is this much link text is a menu (drop_link_lists): on the WCXB dev
# subset's detected documentation pages 0.912 -> 0.917, collections 0.700 -> 0.710, listings unchanged;
# 12-20 links and 0.7-0.9 give the same within 0.002, 6 links starts eating listings (0.716 -> 0.710)
LINK_LIST_MIN_LINKS = 15
LINK_LIST_SHARE = 0.8


@dataclass
class PageFacts:
    """What the page says about itself, read from one parse (inputs of the page-type detector)."""

    jsonld_types: list[str] = field(default_factory=list)  # schema.org @type values, lower-cased
    jsonld: list[dict] = field(default_factory=list)  # the JSON-LD objects themselves (flattened @graph)
    og_type: str = ""  # <meta property="og:type">, lower-cased
    generator: str = ""  # <meta name="generator"> (forum software names itself here)
    description: str = ""  # <meta name="description">, else og:description: the page's summary, case kept
    heading: str = ""  # the first <h1>, whitespace collapsed
    counts: dict[str, int] = field(default_factory=dict)  # structural element counts (see _count)


_NOSCRIPT_TAG = re.compile(r"<(/?)noscript\b", re.IGNORECASE)
# elements that never hold children (void) or that the next sibling closes implicitly: counting them as
# levels would make a long list of unclosed <li> or <p> look deep
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track"}
_IMPLIED_END = {"p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rp", "thead", "tbody"}
_NO_LEVEL = frozenset(_VOID | _IMPLIED_END | {"wbr", "tfoot", "colgroup"})
# a start or end tag of an element that is a level of nesting (not one of _NO_LEVEL; ASCII case folded only,
# as str.lower() on the ASCII name would): only its slash is captured
_NO_LEVEL_NAME = "|".join(sorted(_NO_LEVEL, key=len, reverse=True))
_LEVEL_TAG = re.compile(
    rf"<(/?)(?!(?:{_NO_LEVEL_NAME})(?![A-Za-z0-9:-]))[A-Za-z][A-Za-z0-9:-]*", re.IGNORECASE | re.ASCII
)


# the raw-text elements, their names in any ASCII case only (what a search of the lower-cased page would find:
# IGNORECASE alone would also take the long s and the Kelvin sign for s and k), searched in the page itself
_RAW_TEXT_NAMES = ("script", "style", "textarea", "xmp")
_RAW_TEXT_OPEN = re.compile(rf"<((?ai:{'|'.join(_RAW_TEXT_NAMES)}))\b")
_RAW_TEXT_CLOSE = {name: re.compile(rf"</(?ai:{name})") for name in _RAW_TEXT_NAMES}


def _without_raw_text(markup: str) -> str:
    """``markup`` without the contents of script, style, textarea and xmp elements, in one linear pass
    (an unclosed one runs to the end of the page, as in a browser)."""
    parts, pos = [], 0
    while match := _RAW_TEXT_OPEN.search(markup, pos):
        parts.append(markup[pos : match.start()])
        close = _RAW_TEXT_CLOSE[match.group(1).lower()].search(markup, match.end())
        if close is None:
            return "".join(parts)
        pos = close.end()  # past "</script": neither tag counts as a level
    parts.append(markup[pos:])
    return "".join(parts)


def markup_depth(markup: str) -> int:
    """How deep the page's elements nest, from its tags alone (no parser): an upper estimate, since
    the HTML parser may close some elements early; script and style text is skipped, so ``a<b`` in
    code does not count as a tag."""
    # the depth after a start tag is the running sum of +1 (start) / -1 (end) steps less the lowest sum before
    # it, or 0 (an end tag at depth 0 keeps it at 0); after an end tag this difference is at most the depth
    # before it less one, so the largest difference over all tags is the peak. In C iterators: the per-tag
    # Python loop cost ~3 ms a page
    sums = list(accumulate(map((1, -1).__getitem__, map(len, _LEVEL_TAG.findall(_without_raw_text(markup))))))
    return max(0, max(map(sub, sums, accumulate(sums, min, initial=0)), default=0))


def parse(markup: str) -> LexborHTMLParser:
    """The page as a lexbor tree (never raises on malformed markup).

    A parser with scripting on reads ``<noscript>`` as raw text. Some sites (Discourse forums, for
    one) serve the whole thread inside ``<noscript>`` for clients without JavaScript; when that raw
    text outweighs the rest of the body (and is over 1,000 characters), the page is parsed again with
    those elements as ``<div>``.
    """
    tree = LexborHTMLParser(markup)
    body = tree.body
    if body is None:
        return tree
    hidden = sum(len(node.text(deep=True)) for node in body.css("noscript"))
    # the rest of the body's text, without script and style bodies (Flarum's page is 145 kB of
    # inline JSON beside its 27 kB <noscript> thread)
    code = sum(len(node.text(deep=True)) for node in body.css("script, style")) if hidden > 1000 else 0
    if hidden > 1000 and hidden > len(body.text(deep=True)) - hidden - code:
        tree = LexborHTMLParser(_NOSCRIPT_TAG.sub(r"<\1div", markup))
    return tree


def _jsonld(tree: LexborHTMLParser) -> list[dict]:
    objects: list[dict] = []
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text(deep=True) or "null")
        except (ValueError, RecursionError):
            continue  # broken JSON-LD is common; it just says nothing
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])
    return objects


def _types(objects: list[dict]) -> list[str]:
    types = []
    for obj in objects:
        value = obj.get("@type")
        for name in value if isinstance(value, list) else [value]:
            if isinstance(name, str):
                types.append(name.rsplit("/", 1)[-1].lower())
    return types


def _meta_content(tree: LexborHTMLParser, attr: str, name: str) -> str:
    """The content of the page's first ``<meta attr="name">``, whitespace collapsed ("" without one)."""
    node = tree.css_first(f'meta[{attr}="{name}"]')
    return " ".join((node.attributes.get("content") or "").split()) if node else ""


def _meta(tree: LexborHTMLParser, attr: str, name: str) -> str:
    return _meta_content(tree, attr, name).lower()


def _count(tree: LexborHTMLParser) -> dict[str, int]:
    """Structural counts the detector reads; each selector is one lexbor query (microseconds)."""
    css = {
        "article": "article",
        "main": 'main, [role="main"]',
        "h1": "h1",
        "p": "p",
        "li": "li",
        "table": "table",
        "pre": "pre, code",
        "price": '[itemprop="price"], [class*="price"], [data-price]',
        "add_to_cart": '[name="add-to-cart"], [class*="add-to-cart"], [class*="addtocart"], [id*="add-to-cart"]',
        "post": '[class*="post"], [id^="post"], [class*="message"], [class*="reply"], [class*="answer"]',
        "user": '[class*="author"], [class*="username"], [class*="user-info"], [class*="userinfo"]',
        "product_card": '[class*="product"]',
        "card": '[class*="card"], [class*="tile"], [class*="grid-item"], [class*="item"]',
        "time": "time",
        "form": "form",
        "pricing": '[class*="pricing"], [class*="plan"], [class*="tier"]',
        "linked_heading": "h2 > a, h3 > a, h4 > a, a > h2, a > h3, a > h4",
        "section_heading": "h2, h3",
    }
    counts = {key: len(tree.css(selector)) for key, selector in css.items()}
    # paragraphs of prose: an article has several, a landing page's blocks are short
    # (an element's own text, so old pages that break paragraphs with <br> inside one <div> count too)
    counts["long_p"] = sum(
        len(node.text(deep=node.tag == "p", strip=True)) >= LONG_PARAGRAPH for node in tree.css("p, div, td")
    )
    return counts


def read_facts(tree: LexborHTMLParser) -> PageFacts:
    """JSON-LD, meta tags and structural counts; call before ``prune`` (it removes scripts)."""
    objects = _jsonld(tree)
    h1 = tree.css_first("h1")
    return PageFacts(
        heading=" ".join(h1.text(deep=True).split()) if h1 is not None else "",
        jsonld_types=_types(objects),
        jsonld=objects,
        og_type=_meta(tree, "property", "og:type"),
        generator=_meta(tree, "name", "generator"),
        description=_meta_content(tree, "name", "description") or _meta_content(tree, "property", "og:description"),
        counts=_count(tree),
    )


@lru_cache(maxsize=16384)
def _split_names(names: str) -> frozenset[str]:
    """The lower-cased words of a class and id string, split on - _ and spaces."""
    return frozenset(_TOKEN_SPLIT.split(names.lower())) - {""}


# a page repeats its class names on every card and row, so the words of a name are split once a process
# (prune's CPU time -19 %, BENCHMARKS.md)
@lru_cache(maxsize=16384)
def _named_chrome_words(names: str, chrome: frozenset[str] = frozenset()) -> frozenset[str]:
    """The chrome words a class and id string says: ``_CHROME_WORDS`` and ``chrome`` (a page type's own), or
    only ``_ALWAYS_CHROME_WORDS`` where the name also says content."""
    tokens = _split_names(names)
    # readability's rule: a name that also says content ("content-sidebar-wrap") is not chrome
    if _CONTENT_WORDS.isdisjoint(tokens):
        return frozenset(tokens & (_CHROME_WORDS | chrome))
    return frozenset(tokens & _ALWAYS_CHROME_WORDS)


def _small(node: LexborNode, total: int) -> bool:
    """A node whose removal cannot take the page's content with it: under MAX_CHROME_SHARE of the text.

    Wrappers named after their layout ("container sidebar-right", "sticky-footer" around the whole
    page) hold most of the text; real menus, banners and share bars hold little of it.
    """
    return len(node.text(deep=True)) <= MAX_CHROME_SHARE * total


def prune(
    tree: LexborHTMLParser,
    spare: frozenset[str] = frozenset(),
    extra: frozenset[str] = frozenset(),
    chrome: frozenset[str] = frozenset(),
) -> LexborNode | None:
    """Remove invisible and chrome elements in place; returns the body (None for a page without one).

    ``spare``: chrome words not acted on (``html_types.chrome_lines`` keeps the layers and panels
    such words name); ``extra``: words that name chrome here besides ``_CHROME_WORDS``, whatever else the
    name says (no content word redeems them); ``chrome``: words that name chrome here as ``_CHROME_WORDS``
    do (a content word in the same name redeems them: ``html_types.TYPE_CHROME_WORDS``).
    """
    body = tree.body
    if body is None:
        return None
    for node in tree.css(_INVISIBLE):
        node.decompose()
    total = len(body.text(deep=True))
    # before the controls go (they are what tells such a form): a search box, a sign-up or login form, a reply box
    for node in body.css("form"):
        if node.css_first(_TEXT_FIELDS) is not None and _small(node, total) and not _holds_prose(node):
            node.decompose()
    for selector in (_CHROME_TAGS, _CHROME_ROLES, _HIDDEN, _LABELLED_CHROME):
        for node in body.css(selector):
            if _small(node, total) and not (selector is _HIDDEN and _shown_later(node)):
                node.decompose()
    # a page-level header (logo, menu) goes; a header inside an article or main holds its title
    for node in body.css("header"):
        if not _has_ancestor(node, lambda p: p.tag in ("article", "main")) and _small(node, total):
            node.decompose()
    # measured against what is left: once the landmarks are gone, a wrapper named after its layout
    # ("row-offcanvas") may hold most of the rest, and all of the story
    total = len(body.text(deep=True))
    main = body.css_first(_MAIN_LANDMARK)
    # :is() matches an element once; as a plain group "[class], [id]" an element with both came back twice.
    # The tag is read only for elements whose names say chrome (most say nothing)
    for node in body.css(":is([class], [id])"):
        attrs = node.attributes
        names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        words = _named_chrome_words(names, chrome)
        if spare:
            words -= spare
        if extra:
            words |= _split_names(names) & extra
        if not words or node.tag in ("body", "main", "article", "html"):
            continue
        if words <= _HERO_WORDS and main is not None and _inside(node, main):
            continue
        if not _small(node, total) and words.isdisjoint(_CONSENT_WORDS):
            continue
        # a wrapper named after its layout ("row-offcanvas") around the page's own main landmark is not
        # chrome, however little of the text the landmark holds
        if node.css_first(_MAIN_LANDMARK) is None:
            node.decompose()
    return body


def _holds_prose(node: LexborNode) -> bool:
    """Whether ``node`` holds a paragraph of prose (a block of LONG_PARAGRAPH characters or more): a form
    that does is a page's content with a field in it (an ASP.NET page is one <form>), not a search box."""
    return any(len(block.text) >= LONG_PARAGRAPH for block in blocks(node))


def _inside(node: LexborNode, container: LexborNode) -> bool:
    return _has_ancestor(node, lambda p: p.mem_id == container.mem_id)


def _shown_later(node: LexborNode) -> bool:
    """A hidden element whose text a reader still gets: a collapsed panel, or a Bootstrap ``d-none`` shown
    from a screen width on ("d-none d-md-block")."""
    return _is_collapsed_panel(node) or bool(_SHOWN_AT_BREAKPOINT.search(node.attributes.get("class") or ""))


def _is_collapsed_panel(node: LexborNode) -> bool:
    """A hidden element that a click opens: an accordion's or FAQ's answer, a tab's panel (a product's
    description and specifications tabs). Its text is the page's, only folded away."""
    attrs = node.attributes
    if (attrs.get("role") or "").lower() == "tabpanel" or attrs.get("aria-labelledby"):
        return True  # a panel named by the control that opens it (ARIA's tab and accordion patterns)
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
    return not _PANEL_WORDS.isdisjoint(_TOKEN_SPLIT.split(names))


def _has_ancestor(node: LexborNode, test: Callable[[LexborNode], bool]) -> bool:
    """Whether an element above ``node`` passes ``test``."""
    parent = node.parent
    while parent is not None:
        if test(parent):
            return True
        parent = parent.parent
    return False


def main_root(body: LexborNode) -> LexborNode:
    """The element that holds the page's main content: ``<main>``/role=main, a lone ``<article>``, or body.

    A landmark is trusted only when it holds at least a third of the body's text: some sites wrap a
    one-line banner in ``<main>`` and put the content beside it.
    """
    total = len(body.text(deep=True, strip=True))
    candidates = body.css('main, [role="main"]')
    articles = body.css("article")
    if len(articles) == 1:
        candidates.append(articles[0])
    for node in candidates:
        if total and len(node.text(deep=True, strip=True)) >= total / 3:
            return node
    return body


@dataclass
class Block:
    text: str
    link_chars: int
    tag: str

    @property
    def link_share(self) -> float:
        return self.link_chars / max(1, len(self.text))


def blocks(root: LexborNode) -> list[Block]:
    """Visible text of ``root`` as blocks (paragraphs, headings, items, rows), whitespace collapsed."""
    out: list[Block] = []
    parts: list[str] = []
    state = {"links": 0, "tag": "div"}

    def flush() -> None:
        text = " ".join(" ".join(parts).split())
        if text:
            out.append(Block(text, min(state["links"], len(text)), state["tag"]))
        parts.clear()
        state["links"] = 0
        state["tag"] = "div"

    def walk(node: LexborNode, in_link: bool) -> None:
        child = node.child
        while child is not None:
            tag = child.tag
            if tag == "-text":
                value = child.text_content or ""
                if value.strip():
                    parts.append(value)
                    if in_link:
                        state["links"] += len(value.strip())
            elif tag in _BLOCK_TAGS:
                flush()
                state["tag"] = tag
                walk(child, in_link)
                flush()
            elif tag != "_comment" and tag != "-comment":
                if tag in ("td", "th"):
                    parts.append(" ")
                walk(child, in_link or tag == "a")
            child = child.next

    walk(root, False)
    flush()
    return out


def block_text(found: list[Block], keep_link_blocks: bool = False, min_words: int = 0) -> str:
    """The blocks as lines; link-dominated blocks dropped unless links are the content, and blocks of
    fewer than ``min_words`` words (bylines, counters, buttons) unless they are headings."""

    def keep(b: Block) -> bool:
        if min_words and len(b.text.split()) < min_words:
            return False
        return keep_link_blocks or b.link_share <= MAX_LINK_SHARE

    return "\n".join(without_repeats(b.text for b in found if b.tag in _HEADINGS or keep(b)))


def without_repeats(lines: Iterable[str]) -> list[str]:
    """``lines`` with a line repeated right after itself kept once, and a line of REPEAT_CHARS or more
    (whitespace collapsed) kept only where it first occurs: a block written twice for desktop and mobile
    layouts, a teaser repeated in a carousel, a forum post quoted in the replies."""
    out, seen = [], set()
    for line, _ in groupby(lines):
        key = " ".join(line.split())
        if len(key) >= REPEAT_CHARS:
            if key in seen:
                continue
            seen.add(key)
        out.append(line)
    return out


def drop_link_lists(body: LexborNode) -> None:
    """Remove lists that are only links (a docs sidebar, a shop's category tree), in place.

    Where link blocks are kept (listings, category grids, docs whose reference lists are links), a menu
    written as a bare ``<ul>`` without a telling class survives ``prune``. A list of at least
    LINK_LIST_MIN_LINKS links whose text is at least LINK_LIST_SHARE link text, holding under
    MAX_CHROME_SHARE of the page, is such a menu: an index's items carry snippets, dates and prices
    beside their links, and the index itself is most of the page.
    """
    total = len(body.text(deep=True))
    chosen: dict[int, LexborNode] = {}  # mem_id -> list, in document order (an ancestor before its lists)
    for node in body.css("ul, ol"):
        links = node.css("a")
        if len(links) < LINK_LIST_MIN_LINKS or len(node.text(deep=True)) > MAX_CHROME_SHARE * total:
            continue
        text = len(node.text(deep=True, strip=True))
        linked = sum(len(a.text(deep=True, strip=True)) for a in links)
        if text and linked >= LINK_LIST_SHARE * text and not _has_ancestor(node, lambda p: p.mem_id in chosen):
            chosen[node.mem_id] = node
    for node in chosen.values():  # outermost lists only
        node.decompose()


def dom_text(
    tree: LexborHTMLParser, keep_link_blocks: bool = False, min_words: int = 0, chrome: frozenset[str] = frozenset()
) -> str:
    """Main text by pruning and block emission alone (the fast DOM extractor); mutates ``tree``.

    ``chrome``: words that name chrome on this page's type besides ``_CHROME_WORDS`` (``prune``)."""
    body = prune(tree, chrome=chrome)
    if body is None:
        return ""
    if keep_link_blocks:
        drop_link_lists(body)
    return block_text(blocks(main_root(body)), keep_link_blocks, min_words)
