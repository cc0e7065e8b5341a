"""Page-type detection from what a page says about itself: small, explainable rules, no model.

The seven types are WCXB's (Foley, "Web Content Extraction Benchmark", 2025; the same set
rs-trafilatura classifies): article, documentation, forum, product, collection (a shop's category
grid), listing (an index of posts, results, events, jobs) and service (a business's page about what
it offers: features, pricing, how it works). Evidence comes in three kinds, strongest first:

1. declared types: schema.org ``@type`` in JSON-LD (``Product`` -> product, ``QAPage`` -> forum, ...),
   ``og:type`` and the ``generator`` meta tag (forum and documentation software name themselves);
2. the URL's path shape (``/t/<slug>/<id>``, ``/docs/``, ``/products/``, ``/collections/``, ...);
3. DOM structure counted in one lexbor pass (posts with authors, prices with an add-to-cart button,
   grids of cards, code blocks).

Each piece of evidence adds a weight to one type and a sentence to the explanation; the type with the
largest total wins (ties go to article). A page with no evidence at all is labelled by its prose
(three or more paragraphs of 150+ characters: article, else service) and gets the fallback strategy
(``HtmlConfig.fallback_strategy``): on the WCXB dev subset such pages are mostly service and listing
pages. ``dataflow extract --explain FILE`` prints the sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dataflow.config import PAGE_TYPES
from dataflow.extractors.html_dom import PageFacts

ARTICLE, DOCUMENTATION, FORUM, PRODUCT, COLLECTION, LISTING, SERVICE = PAGE_TYPES
DEFAULT_TYPE = ARTICLE  # wins ties: trafilatura's own assumption, and the commonest declared type
MIN_ARTICLE_PARAGRAPHS = 3  # a page with no evidence and fewer prose paragraphs is a landing (service) page
# prose paragraphs per h2/h3 from which an undeclared page reads as an article: stories run 3-40 paragraphs
# per section heading, service and feature pages 0.2-1.5 (WCXB dev and trafilatura's eval pages)
PROSE_PER_SECTION = 2.5

# an index's <article>s are teasers (a title, a date, a line or two); a thread's are posts of prose: from this
# many prose paragraphs per <article> the <article>s are posts, not an index's items (WCXB dev: Flarum threads
# come out as forums, forums 0.720 -> 0.737; 2-4 give the same, 1.5 starts taking listings, 0.691 -> 0.680)
PROSE_PER_ITEM = 3

# weights: a declared schema.org type is the page's own statement (3); the URL shape is a convention
# many sites share (2); a structural count is circumstantial (1-2)
DECLARED, URL_SHAPE, STRUCTURE = 3.0, 2.0, 1.0

# schema.org @type (lower-cased) -> page type
_JSONLD_TYPES = {
    "product": PRODUCT,
    "productgroup": PRODUCT,
    "individualproduct": PRODUCT,
    "vehicle": PRODUCT,
    "book": PRODUCT,
    "softwareapplication": PRODUCT,
    "course": PRODUCT,
    "qapage": FORUM,
    "discussionforumposting": FORUM,
    "question": FORUM,
    "socialmediaposting": FORUM,
    "article": ARTICLE,
    "newsarticle": ARTICLE,
    "blogposting": ARTICLE,
    "reportagenewsarticle": ARTICLE,
    "opinionnewsarticle": ARTICLE,
    "scholarlyarticle": ARTICLE,
    "techarticle": DOCUMENTATION,
    "apireference": DOCUMENTATION,
    "collectionpage": COLLECTION,
    "offercatalog": COLLECTION,
    "searchresultspage": LISTING,
    "itemlist": LISTING,
    "service": SERVICE,
    "professionalservice": SERVICE,
    "financialservice": SERVICE,
    "legalservice": SERVICE,
    "homeandconstructionbusiness": SERVICE,
}
_OG_TYPES = {"article": ARTICLE, "product": PRODUCT, "product.group": COLLECTION, "book": PRODUCT}
_FORUM_SOFTWARE = ("discourse", "phpbb", "vbulletin", "xenforo", "flarum", "mybb", "invision", "vanilla", "nodebb")
_DOC_SOFTWARE = ("docusaurus", "sphinx", "mkdocs", "gitbook", "vuepress", "docsify", "mintlify", "readthedocs")

# URL path patterns -> page type; matched on the lower-cased path (never on a domain name)
_URL_RULES: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(
            r"/(t|d)/[^/]+/\d+|/d/\d+-|/threads?/|/topics?/|/forums?/|/boards?/|/questions/\d+|/comments/|/community/"
            r"|/(viewtopic|showthread|showtopic)\.php"  # phpBB, vBulletin, Invision
        ),
        FORUM,
        "a thread path",
    ),
    (
        re.compile(r"/(docs?|documentation|reference|api|manual|handbook|guides?|tutorials?|learn|kb|wiki)(/|$)"),
        DOCUMENTATION,
        "a documentation path",
    ),
    (re.compile(r"/(products?|p|dp|item|shop/p)/[^/]+"), PRODUCT, "a product path"),
    (re.compile(r"/(collections?|category|categories|c|shop|catalog|department)(/|$)"), COLLECTION, "a category path"),
    (
        # a story's slug or id ("/news/ai-videos-surge", "/news/c0q2"), not one word ("/news/technology": a section)
        re.compile(
            r"/(\d{4}/\d{2}|(19|20)\d{6})/[^/]+"  # a date in the path
            r"|/(blog|news|articles?|posts?|stories|insights)/(.+/)?[^/]*[-_\d.][^/]*"
        ),
        ARTICLE,
        "an article path",
    ),
    (
        re.compile(r"/(services?|solutions?|pricing|plans|features|what-we-do|industries)(/|$|-)"),
        SERVICE,
        "a service path",
    ),
    (
        re.compile(
            r"/(search|list|jobs|careers|events|directory|tags?|archives?|page/\d+)(/|$)|[?&](q|s|page)="
            r"|^/(blog|news|articles?|posts?|stories)(/[a-z]+)?/?$"  # a section's front page ("/news/tech")
        ),
        LISTING,
        "an index path",
    ),
]


@dataclass
class PageType:
    """The detected type, the score of every type that got evidence, and why."""

    name: str
    scores: dict[str, float] = field(default_factory=dict)  # empty: no evidence (see ``evidence``)
    reasons: list[str] = field(default_factory=list)  # one sentence per piece of evidence, strongest first

    @property
    def evidence(self) -> bool:
        """False when nothing on the page spoke for any type (the name is then a guess from prose alone)."""
        return bool(self.scores)

    def explain(self) -> str:
        lines = [f"page type: {self.name}" + ("" if self.evidence else " (no evidence)")]
        lines += [f"  score {k}: {v:g}" for k, v in sorted(self.scores.items(), key=lambda kv: -kv[1])]
        lines += [f"  - {reason}" for reason in self.reasons]
        return "\n".join(lines)


def detect(facts: PageFacts, url: str | None) -> PageType:
    """The page type from declared types, URL shape and DOM counts (see the module docstring)."""
    scores: dict[str, float] = {}
    reasons: list[tuple[float, str]] = []

    def vote(kind: str, weight: float, why: str) -> None:
        scores[kind] = scores.get(kind, 0.0) + weight
        reasons.append((weight, f"{why} -> {kind} (+{weight:g})"))

    for declared in dict.fromkeys(facts.jsonld_types):  # each declared type counts once
        if declared in _JSONLD_TYPES:
            vote(_JSONLD_TYPES[declared], DECLARED, f"JSON-LD @type {declared}")
    if facts.og_type in _OG_TYPES:
        # og:type "article" is many CMSs' default for every page: weaker than a JSON-LD type, but it
        # outweighs one piece of structural evidence (comment threads and related-post grids on news pages)
        weight = URL_SHAPE if facts.og_type == "article" else DECLARED
        vote(_OG_TYPES[facts.og_type], weight, f"og:type {facts.og_type}")
    if any(name in facts.generator for name in _FORUM_SOFTWARE):
        vote(FORUM, DECLARED, f"generator {facts.generator!r}")
    if any(name in facts.generator for name in _DOC_SOFTWARE):
        vote(DOCUMENTATION, DECLARED, f"generator {facts.generator!r}")
    path = _path(url)
    for pattern, kind, what in _URL_RULES:
        if path and pattern.search(path):
            vote(kind, URL_SHAPE, f"URL {path!r} has {what}")
            break  # the first (most specific) shape only
    if path in ("/", "/index.html", "/index.php", "/home"):
        # a site's front page: WCXB's service pages are mostly business home pages (a news front page is a
        # listing, and its linked headings outvote this)
        vote(SERVICE, STRUCTURE, "the site's home page")
    _structure(facts.counts, vote)
    prose, sections = facts.counts.get("long_p", 0), facts.counts.get("section_heading", 0)
    if not scores and prose >= MIN_ARTICLE_PARAGRAPHS and prose >= PROSE_PER_SECTION * (sections + 1):
        # nothing else spoke, and the page is runs of prose: a story, not blocks under feature headings
        vote(ARTICLE, STRUCTURE, f"{prose} prose paragraphs under {sections} section headings")
    if not scores:  # no evidence: a label from the prose share alone; html.py gives it the fallback strategy
        name = ARTICLE if prose >= MIN_ARTICLE_PARAGRAPHS else SERVICE
        return PageType(name, {}, [f"no declared type, URL shape or structure; {prose} prose paragraphs -> {name}"])
    best = max(PAGE_TYPES, key=lambda kind: (scores.get(kind, 0.0), kind == DEFAULT_TYPE))
    ordered = [why for _, why in sorted(reasons, key=lambda r: -r[0])]
    return PageType(best, scores, ordered)


def _path(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return (parts.path or "/").lower() + (f"?{parts.query.lower()}" if parts.query else "")


def _structure(counts: dict[str, int], vote) -> None:
    """DOM evidence; thresholds are counts a page of that type shows and an article rarely does."""
    c = counts.get
    # a thread is posts with authors and timestamps; a blog post has post/author classes but one date
    if c("post", 0) >= 6 and c("user", 0) >= 3 and c("time", 0) >= 2:
        posts = f"{c('post')} post/reply elements, {c('user')} author elements, {c('time')} timestamps"
        vote(FORUM, 2 * STRUCTURE, posts)
    elif c("time", 0) >= 3 and c("linked_heading", 0) < 8:
        vote(FORUM, STRUCTURE, f"{c('time')} timestamps without an index of linked headings")
    if c("add_to_cart", 0) >= 1 and c("price", 0) >= 1:
        if c("product_card", 0) >= 40:
            vote(COLLECTION, STRUCTURE, f"{c('product_card')} product elements with prices")
        else:
            vote(PRODUCT, 2 * STRUCTURE, "a price and an add-to-cart control")
    elif c("price", 0) >= 10 and c("product_card", 0) >= 20:
        vote(COLLECTION, 2 * STRUCTURE, f"{c('price')} prices over {c('product_card')} product elements")
    if c("pre", 0) >= 5:
        vote(DOCUMENTATION, STRUCTURE, f"{c('pre')} code blocks")
    if c("pricing", 0) >= 5 and c("price", 0) >= 2:
        vote(SERVICE, STRUCTURE, "plan/pricing blocks")
    if c("linked_heading", 0) >= 8 and c("long_p", 0) < 8:
        vote(LISTING, STRUCTURE, f"{c('linked_heading')} linked headings (item titles) and little prose")
    if c("article", 0) >= 5 and c("long_p", 0) < PROSE_PER_ITEM * c("article", 0):
        vote(LISTING, 2 * STRUCTURE, f"{c('article')} <article> elements (an index of posts)")
        if c("linked_heading", 0) >= c("article", 0):
            # every item a linked title: an index's teasers, which outweighs a CMS's og:type article (WCXB
            # listings 0.750 -> 0.763; 0.8 titles per <article> the same, 0.5 takes news pages' related-story
            # rails too: snippet F1 0.912 -> 0.909)
            vote(LISTING, STRUCTURE, "each <article> under a linked title")
    elif c("card", 0) >= 30 and c("long_p", 0) < 3:
        vote(LISTING, STRUCTURE, f"{c('card')} card/item elements and almost no prose")
    if c("linked_heading", 0) >= 8 and c("card", 0) >= 30 and c("long_p", 0) < 8:
        # both at once: an index for sure, and it outweighs og:type article (a CMS default); WCXB dev
        # listings 0.739 -> 0.750, collections 0.727 -> 0.736, the same with 6-10 headings and 20-50 cards
        vote(LISTING, STRUCTURE, "linked item titles in a grid of cards")
