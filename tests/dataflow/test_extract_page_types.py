"""Page-type-aware web extraction: hand-built pages of each type (written for this project), detection
and its explanation, the config's checks, the page type in the documents row, and the Korean pages."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from datatrove.data import Document

from dataflow.cli import main as cli_main
from dataflow.config import ConfigError, ExtractConfig, HtmlConfig, load_config
from dataflow.document import Meta
from dataflow.extractors import extract
from dataflow.extractors.html import explain_html
from dataflow.extractors.html_dom import block_text, blocks, dom_text, main_root, parse, prune, read_facts
from dataflow.extractors.html_types import (
    TYPE_CHROME_WORDS,
    chrome_lines,
    json_ld_description,
    with_product_parts,
    without_chrome_lines,
    without_title,
)
from dataflow.extractors.page_type import detect
from dataflow.records import document_row

# the chrome every fixture carries; none of these words may reach the text
NAV_WORDS = ["Bellhaven Home", "Careers", "Gift Cards", "Sign in", "Store Locator", "Cookie settings", "Newsletter"]


def page(body: str, head: str = "", title: str = "Bellhaven") -> str:
    return f"""<!doctype html><html><head><title>{title}</title>{head}</head><body>
<header class="site-header"><a href="/">Bellhaven Home</a>
  <nav class="main-menu"><ul><li><a href="/careers">Careers</a></li><li><a href="/gift">Gift Cards</a></li>
  <li><a href="/login">Sign in</a></li><li><a href="/stores">Store Locator</a></li></ul></nav></header>
<div id="cookie-banner"><p>We use cookies. <a href="/cookies">Cookie settings</a></p></div>
{body}
<footer><div class="newsletter"><p>Newsletter: subscribe for offers</p></div>
  <ul><li><a href="/terms">Terms</a></li><li><a href="/privacy">Privacy</a></li></ul></footer>
</body></html>"""


FORUM_POSTS = [
    (
        "marin_k",
        "My sourdough starter stopped rising after I moved it to the fridge for a week. It smells sharp "
        "and there is a grey liquid on top. Is it dead, or can I still revive it before the weekend bake?",
    ),
    (
        "oldbaker",
        "The grey liquid is hooch, a sign that the yeast is hungry, not dead. Pour it off, feed it twice a "
        "day at room temperature with equal weights of flour and water, and it should double again within two days.",
    ),
    (
        "marin_k",
        "Thank you! Two feedings later it doubled in six hours. I also switched to rye flour for the first "
        "feeding, which seemed to wake it up faster than the white flour did.",
    ),
]
FORUM = page(
    '<main><h1>Starter stopped rising after the fridge</h1><div class="topic">'
    + "".join(
        f'<div class="post" id="post-{i}"><div class="post-author"><span class="username">{user}</span>'
        f'<time datetime="2026-11-0{i + 1}">Nov {i + 1}</time></div><div class="post-body"><p>{text}</p></div>'
        f'<div class="post-actions"><a href="#r{i}">Reply</a> <a href="#q{i}">Quote</a></div></div>'
        for i, (user, text) in enumerate(FORUM_POSTS)
    )
    + "</div></main>"
    + '<aside class="sidebar"><h3>Similar topics</h3><ul><li><a href="/t/1">Rye ratios</a></li></ul></aside>',
    head='<script type="application/ld+json">{"@context":"https://schema.org","@type":"DiscussionForumPosting",'
    '"headline":"Starter stopped rising after the fridge"}</script>',
)

PRODUCT_DESCRIPTION = (
    "A hand-thrown stoneware mug with a speckled oatmeal glaze, fired at 1,240 degrees so it is safe in the "
    "dishwasher and the microwave. Each mug holds 350 ml and is made in our studio in small batches."
)
PRODUCT = page(
    '<main><div class="product-detail"><h1>Oatmeal Speckle Mug</h1>'
    '<p class="price" itemprop="price">$28.00</p>'
    "<p>Stoneware, 350 ml. Ships in two days from our studio.</p>"
    '<form><button name="add-to-cart" class="add-to-cart">Add to cart</button></form>'
    '<div class="tabs"><div class="tab-panel" data-tab="description"></div></div></div>'
    '<section class="related"><h2>You may also like</h2><ul><li><a href="/p/bowl">Glazed Bowl</a></li>'
    '<li><a href="/p/plate">Side Plate</a></li></ul></section></main>',
    head='<script type="application/ld+json">'
    + json.dumps(
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "BreadcrumbList", "itemListElement": []},
                {"@type": "Product", "name": "Oatmeal Speckle Mug", "description": PRODUCT_DESCRIPTION},
            ],
        }
    )
    + "</script>",
)

GRID_ITEMS = [(f"Linen Tea Towel No. {i}", f"${12 + i}.00") for i in range(1, 13)]
CATEGORY = page(
    "<main><h1>Kitchen Linens</h1><p>Woven linen for the kitchen, washed soft and finished by hand.</p>"
    '<ul class="product-grid">'
    + "".join(
        f'<li class="product-card"><a href="/products/towel-{i}"><h3>{name}</h3></a>'
        f'<span class="price">{price}</span></li>'
        for i, (name, price) in enumerate(GRID_ITEMS)
    )
    + '</ul><nav class="pagination"><a href="?page=2">Next page</a></nav></main>',
    head='<meta property="og:type" content="product.group">',
)

PLANS = {
    "Starter": ["One project board", "Two team members", "Email support within two days"],
    "Team": ["Unlimited project boards", "Up to twenty team members", "Shared calendars and time tracking"],
    "Business": ["Single sign-on for the whole company", "Audit log kept for one year", "A named account manager"],
}
PRICING = page(
    "<main><h1>Plans for every team</h1><p>Start free and upgrade when your team grows.</p>"
    + "".join(
        f'<div class="pricing-plan"><h2>{name}</h2><p class="price">${9 * (i + 1)} per month</p><ul>'
        + "".join(f"<li>{feature}</li>" for feature in features)
        + f'</ul><a class="button" href="/signup?plan={name}">Choose {name}</a></div>'
        for i, (name, features) in enumerate(PLANS.items())
    )
    + "</main>"
)


def squash(text: str) -> str:
    return " ".join(text.split())


def assert_no_chrome(text: str) -> None:
    for word in NAV_WORDS:
        assert word not in text, word


# -- each page type: main content in, navigation out ----------------------------------------------


def test_forum_thread_keeps_every_post() -> None:
    ex = extract(FORUM.encode(), "https://bread.example.org/t/starter-stopped-rising/4412")
    assert ex.ok and ex.metadata["page_type"] == "forum"
    for _, text in FORUM_POSTS:  # the replies are the content, not comments to drop
        assert text in squash(ex.text)
    assert_no_chrome(ex.text)


def test_product_page_gets_its_json_ld_description() -> None:
    ex = extract(PRODUCT.encode(), "https://pottery.example.com/products/oatmeal-speckle-mug")
    assert ex.ok and ex.metadata["page_type"] == "product"
    assert ex.text.startswith("Oatmeal Speckle Mug")  # the name leads, as on the page
    assert PRODUCT_DESCRIPTION in squash(ex.text)  # only in JSON-LD: the tab is filled by script
    assert "Glazed Bowl" not in ex.text  # the related-items rail is not this product
    assert_no_chrome(ex.text)


def test_category_grid_keeps_item_titles_and_prices() -> None:
    ex = extract(CATEGORY.encode(), "https://linen.example.com/collections/kitchen")
    assert ex.ok and ex.metadata["page_type"] == "collection"
    text = squash(ex.text)
    for name, price in GRID_ITEMS:
        assert name in text and price in text
    assert "Woven linen for the kitchen" in text
    assert_no_chrome(ex.text)
    assert "Next page" not in text


def test_pricing_page_keeps_plans_and_features() -> None:
    ex = extract(PRICING.encode(), "https://boards.example.com/pricing")
    assert ex.ok and ex.metadata["page_type"] == "service"
    for name, features in PLANS.items():
        assert name in ex.text
        for feature in features:
            assert feature in ex.text
    assert_no_chrome(ex.text)


def test_an_articles_headline_line_is_metadata_not_text() -> None:
    assert without_title("Headline\nBody of the story.", "Headline") == "Body of the story."
    deep = "\n".join(["a", "b", "c", "d", "Headline"])  # quoted far down, not the page's title line
    assert without_title(deep, "Headline") == deep


def test_json_ld_description_from_a_graph_and_absent_without_product() -> None:
    assert json_ld_description([{"@type": "WebPage"}, {"@type": ["Product"], "description": " a \n b "}]) == "a b"
    assert json_ld_description([{"@type": "Article", "description": "not a product"}]) == ""


def test_product_description_already_on_the_page_is_not_repeated() -> None:
    # JSON-LD spells the apostrophe and the dash plainly, the page typographically: the same words
    on_page = "Oatmeal Speckle Mug\nL\u2019atelier\u2019s glaze \u2013 fired twice, safe in the dishwasher."
    objects = [{"@type": "Product", "description": "L'atelier's glaze - fired twice, safe in the dishwasher."}]
    assert with_product_parts(on_page, "product", objects, "Oatmeal Speckle Mug") == on_page
    other = [{"@type": "Product", "description": "Stoneware from the river clay of the valley."}]
    assert with_product_parts(on_page, "product", other, "").endswith("river clay of the valley.")


# -- detection and its explanation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "url", "expected"),
    [
        (FORUM, None, "forum"),  # declared (JSON-LD) and structural, no URL needed
        (PRODUCT, None, "product"),
        (CATEGORY, None, "collection"),
        (page("<p>" + "Docs text. " * 30 + "</p>"), "https://example.com/docs/install", "documentation"),
        (page("<p>x</p>", head='<meta name="generator" content="Discourse 3.2">'), None, "forum"),
        (page("<p>x</p>"), "https://bbs.example.org/viewtopic.php?id=309936", "forum"),  # phpBB's thread URL
        (page("<p>x</p>"), "https://example.com/boards/189706-switch/80702016", "forum"),  # a message board
        (page("<p>x</p>"), "https://www.example.com/news/", "listing"),  # a section's front page
        (page("<p>x</p>"), "https://www.example.com/news/flood-levee-vote", "article"),
        (page("<p>x</p>"), "https://www.example.com/news/technology", "listing"),  # one word: a section
        (page("<p>x</p>"), "https://www.example.com/2024/05/hello/", "article"),  # a date in the path
        (page("<p>x</p>", head='<meta property="og:type" content="article">'), None, "article"),
        # a CMS that calls every page an article: linked titles in a card grid still make an index
        (
            page(
                "".join(f"<div class='card'><h3><a href='/e/{i}'>Event {i}</a></h3></div>" for i in range(30)),
                head='<meta property="og:type" content="article">',
            ),
            None,
            "listing",
        ),
    ],
)
def test_detect(markup: str, url: str | None, expected: str) -> None:
    kind = detect(read_facts(parse(markup)), url)
    assert kind.name == expected and kind.evidence and kind.reasons


def test_a_thread_of_article_posts_is_a_forum_not_an_index() -> None:
    # Flarum writes each post as an <article> of prose, an index writes each item as a teaser <article>
    prose = " ".join(text for _, text in FORUM_POSTS)
    thread = page(
        "<main>"
        + "".join(f"<article><h3>user{i}</h3><p>{prose}</p><p>{prose}</p><p>{prose}</p></article>" for i in range(6))
        + "</main>"
    )
    url = "https://discuss.example.org/d/2068-types-of-threads"
    kind = detect(read_facts(parse(thread)), url)
    assert kind.name == "forum" and "a thread path" in kind.reasons[0]
    teasers = page(
        "<main>"
        + "".join(f"<article><h3><a href='/n/{i}'>Story {i}</a></h3><p>One line.</p></article>" for i in range(6))
        + "</main>",
        head='<meta property="og:type" content="article">',  # a CMS's default on every page
    )
    kind = detect(read_facts(parse(teasers)), None)
    assert kind.name == "listing" and any("linked title" in why for why in kind.reasons)


def test_undeclared_pages_read_by_their_prose() -> None:
    sentence = "A sentence of plain prose here. " * 6
    story = page("<div>" + "".join(f"<p>{sentence}</p>" for _ in range(6)) + "</div>")
    kind = detect(read_facts(parse(story)), None)  # runs of prose, no section headings: a story
    assert (kind.name, kind.evidence) == ("article", True) and "6 prose paragraphs" in kind.reasons[0]
    # the same prose split under feature headings is no evidence of anything: labelled, fallback strategy
    features = page("".join(f"<h2>Feature {i}</h2><p>{sentence}</p>" for i in range(3)))
    kind = detect(read_facts(parse(features)), None)
    assert (kind.name, kind.evidence) == ("article", False)
    kind = detect(read_facts(parse(page("<div><h2>Fast. Simple.</h2></div>"))), None)
    assert (kind.name, kind.evidence) == ("service", False)


RIVER = (
    "The river flooded the lower town twice this spring, and the council has now voted to rebuild the old "
    "levee with a wider base and a new pumping station. Residents who lost their ground floors say the "
    "repairs came too late, while engineers warn that the design only holds if the dams upstream are managed."
)


def test_a_page_without_evidence_gets_trafilatura_only_where_it_keeps_the_dom_text() -> None:
    # a story under section headings (no declared type, no URL): trafilatura keeps its prose and drops
    # the related-links heading the DOM text keeps
    story = page(
        "<div class='story'>"
        + "".join(f"<h2>Part {i}</h2><p>{RIVER}</p><p>{RIVER}</p>" for i in range(3))
        + "<div class='more'><h3>More on this topic</h3><p><a href='/a'>Dam operators meet the council</a></p>"
        "<p><a href='/b'>Levee budget approved</a></p></div></div>"
    )
    ex = extract(story.encode(), None)
    assert ex.metadata["html_strategy"] == "dom>precision"
    assert RIVER in squash(ex.text) and "More on this topic" not in ex.text
    assert_no_chrome(ex.text)
    # a feature list: trafilatura drops the short items, so the DOM text stays
    features = page(
        "<div>"
        + "".join(
            f"<h2>{name}</h2><ul><li>{a}</li><li>{b}</li></ul>"
            for name, a, b in [("Sync", "Phones and laptops", "Offline edits"), ("Share", "Team links", "Guest access")]
        )
        + "</div>"
    )
    ex = extract(features.encode(), None)
    assert ex.metadata["html_strategy"] == "dom"
    assert ex.text.splitlines() == [
        "Sync",
        "Phones and laptops",
        "Offline edits",
        "Share",
        "Team links",
        "Guest access",
    ]


def test_explain_names_the_type_the_evidence_and_the_strategy() -> None:
    out = explain_html(PRODUCT.encode(), "https://pottery.example.com/products/mug")
    assert "page type: product" in out and "JSON-LD @type product" in out
    assert "a product path" in out and "strategy: trafilatura" in out


def test_cli_extract_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grid.html.gz"
    path.write_bytes(gzip.compress(CATEGORY.encode()))
    assert cli_main(["extract", str(path), "--explain", "--url", "https://linen.example.com/collections/a"]) == 0
    out = capsys.readouterr().out
    assert "page type: collection" in out and "og:type product.group" in out and "strategy: dom_links" in out
    text = tmp_path / "notes.txt"
    text.write_text("plain notes, not a web page\n")
    assert cli_main(["extract", str(text), "--explain"]) != 0
    assert "not a web page" in capsys.readouterr().out


# -- the DOM extractor's pieces ------------------------------------------------------------------


def test_prune_keeps_an_article_header_and_drops_the_page_header() -> None:
    tree = parse(
        "<body><header><a href='/'>Logo</a></header><article><header><h1>Real Title</h1></header>"
        "<p>Body text of the story.</p></article><div class='share-bar'>Share on X</div></body>"
    )
    text = block_text(blocks(main_root(prune(tree))))
    assert text.splitlines() == ["Real Title", "Body text of the story."]


def test_a_layout_wrapper_named_sidebar_is_not_chrome() -> None:
    # "container sidebar-right" wraps the whole documentation page: removing it would empty the page
    body = "<p>" + "Install the package, then configure it. " * 20 + "</p>"
    tree = parse(f"<body><div class='container sidebar-right'>{body}</div><div class='sidebar'>Menu</div></body>")
    text = block_text(blocks(main_root(prune(tree))))
    assert "Install the package" in text and "Menu" not in text


def test_a_chrome_named_wrapper_around_the_main_landmark_is_not_chrome() -> None:
    # an off-canvas layout row holds the <main> beside a long menu: under 40 % of the page, yet the content
    menu = "<ul>" + "".join(f"<li>Department of service number {i}</li>" for i in range(60)) + "</ul>"
    service = "<p>We offer inpatient and outpatient care for adults and children.</p>"
    markup = (
        f"<body><div class='row-offcanvas'><main><h1>Mental health</h1>{service}</main></div>"
        f"<div class='offcanvas'>Close menu</div><div>{menu}</div></body>"
    )
    text = block_text(blocks(prune(parse(markup))))
    assert "We offer inpatient and outpatient care" in text and "Close menu" not in text


def test_a_banner_inside_main_is_the_pages_hero_not_an_advert() -> None:
    hero = "<div class='banner has-hover'><h2>Short-term rentals</h2><p>Gym equipment for film sets.</p></div>"
    markup = (
        f"<body><div class='banner'>Spring sale: 20% off</div><main>{hero}<p>Call us today.</p></main>"
        "<div>" + "<p>Long footer text about the company and its many locations.</p>" * 3 + "</div></body>"
    )
    text = block_text(blocks(prune(parse(markup))))
    assert "Gym equipment for film sets." in text and "Short-term rentals" in text
    assert "Spring sale" not in text  # outside the main landmark a banner is still chrome


def test_screen_reader_text_and_a_large_consent_dialog_are_not_page_text() -> None:
    card = (
        "<li><a href='/p/1'>Oak Stool</a><span class='visually-hidden'>Regular price</span> $40.00"
        "<span class='price__sr-text'>Sale price</span><div class='card-action-buttons'>Quick view</div></li>"
    )
    vendors = "".join(f"<p>Vendor {i} stores identifiers on your device for measurement.</p>" for i in range(30))
    markup = f"<body><div id='onetrust-consent-sdk'>{vendors}</div><main><ul>{card}</ul></main></body>"
    text = block_text(blocks(prune(parse(markup))), keep_link_blocks=True)
    assert text == "Oak Stool $40.00"  # the dialog is most of the page's text, and still goes


def test_a_collapsed_faq_answer_or_tab_is_text_but_a_popover_is_not() -> None:
    faq = (
        "<h3>What is a certificate course?</h3>"
        "<div class='faq__answer' style='display: none;'><p>A short course of non-degree training.</p></div>"
        "<div role='tabpanel' hidden><p>Specifications: solid oak, 45 cm high.</p></div>"
        "<div id='c2' aria-labelledby='q2' aria-hidden='true' hidden><p>Courses run for six weeks.</p></div>"
        "<div class='promo-box' style='display:none'>Join our club today</div>"
    )
    popover = "<div popover id='push-prompt'><div class='tab-panel'>Allow notifications in Settings</div></div>"
    text = block_text(blocks(prune(parse(f"<body><main>{faq}</main>{popover}</body>"))))
    assert text.splitlines() == [
        "What is a certificate course?",
        "A short course of non-degree training.",
        "Specifications: solid oak, 45 cm high.",
        "Courses run for six weeks.",
    ]


def test_a_post_signature_footer_and_bootstraps_hidden_class_are_chrome() -> None:
    post = (
        "<div class='post'><p>Reset the breaker, then test the outlet again with a plug-in tester; if it still reads "
        "open ground, the receptacle's ground wire is loose in the box.</p>"
        "<div class='post-signature owner'>asked Mar 26, 2019 by sam 193 silver badges</div>"
        "<span class='d-none'>Accepted answer</span><span class='d-none d-md-inline'>#2</span>"
        "<div class='post-footer'>Like Reply Quote</div></div>"
    )
    text = block_text(blocks(prune(parse(f"<body><main>{post}</main></body>"))))
    assert text.splitlines()[1:] == ["#2"]  # the post, then d-md-inline's number: shown on wider screens
    assert text.startswith("Reset the breaker") and "silver badges" not in text and "Quote" not in text


def test_a_long_line_the_page_repeats_is_kept_once() -> None:
    quoted = "The grey liquid is hooch, a sign that the yeast is hungry."
    thread = (
        f"<div class='post'><p>{quoted}</p></div>"
        f"<div class='post'><blockquote>{quoted}</blockquote><p>Thanks, that fixed it.</p></div>"
        "<div class='post'><p>Mine too.</p><p>Thanks, that fixed it.</p></div>"  # short: others may say the same
    )
    text = block_text(blocks(prune(parse(f"<body><main>{thread}</main></body>"))))
    assert text.splitlines() == [quoted, "Thanks, that fixed it.", "Mine too.", "Thanks, that fixed it."]


def test_a_category_grids_filter_panel_is_chrome() -> None:
    facets = "<div class='search-facets'><h4>Colour</h4><ul><li>Green (12)</li><li>Blue (8)</li></ul></div>"
    grid = "".join(f"<li><a href='/p/{i}'>Linen Towel No. {i}</a> $12.00</li>" for i in range(6))
    text = dom_text(parse(f"<body><main>{facets}<ul>{grid}</ul></main></body>"), True)
    assert "Linen Towel No. 5 $12.00" in text and "Green (12)" not in text


def test_trafilaturas_lines_that_only_chrome_holds_are_dropped() -> None:
    markup = (
        "<body><div class='cookie-consent'><p>We use cookies to personalise ads.</p><p>Free returns</p></div>"
        "<main><h1>Oak Stool</h1><p>Solid oak, 45 cm high, oiled by hand.</p><p>Free returns</p>"
        "<div class='product-details-modal'><p>Care: wipe with a damp cloth.</p></div>"
        "<div class='expandable-section filters faq-accordion'><p>Does it come assembled? Yes.</p></div>"
        "<span class='visually-hidden'>Sale price</span></main></body>"
    )
    text = "\n".join(
        [
            "Oak Stool",
            "Solid oak, 45 cm high, oiled by hand.",
            "We use cookies to personalise ads.",  # only in the consent dialog: goes
            "Free returns",  # in the dialog and in the main text: stays
            "Care: wipe with a damp cloth.",  # a details sheet (a "modal") is the product's text
            "Does it come assembled? Yes.",  # so is an FAQ accordion named as a filter rail
            "Sale price",  # screen-reader text: goes
        ]
    )
    assert without_chrome_lines(text, chrome_lines(parse(markup))[0]).splitlines() == [
        "Oak Stool",
        "Solid oak, 45 cm high, oiled by hand.",
        "Free returns",
        "Care: wipe with a damp cloth.",
        "Does it come assembled? Yes.",
    ]


REVIEWS = [
    "Lovely weight in the hand and the glaze is even prettier than in the photos, I use it every morning.",
    "Arrived well packed and a day early; the handle fits two fingers comfortably and it keeps coffee warm.",
]


def test_a_product_pages_customer_reviews_are_not_its_text() -> None:
    # "product-reviews-content": a review section stays chrome though its name also says content
    reviews = "".join(f'<div class="review-card"><p>{r}</p></div>' for r in REVIEWS)
    markup = page(
        '<main><div class="product-main"><h1>Oatmeal Speckle Mug</h1><p class="price">$28.00</p>'
        f'<button class="add-to-cart">Add to cart</button><p>{PRODUCT_DESCRIPTION}</p></div>'
        f'<section class="product-reviews-content"><h2>Customer reviews</h2>{reviews}</section></main>',
        head='<script type="application/ld+json">{"@type": "Product", "name": "Oatmeal Speckle Mug"}</script>',
    )
    found = extract(markup.encode(), "https://shop.example/products/mug")
    assert found.metadata["html_strategy"] == "trafilatura"
    assert PRODUCT_DESCRIPTION in found.text
    assert not any(review in found.text for review in REVIEWS)


def test_a_link_marked_aria_hidden_is_text_but_other_aria_hidden_text_is_not() -> None:
    # a card's title link is often aria-hidden beside its image link: it is visible; the rating glyphs are not text
    cards = "".join(
        f"<li><a href='/p/{i}' aria-hidden='true'><h3>Linen Towel No. {i}</h3></a>"
        f"<span aria-hidden='true'>4.5 stars</span> $12.00</li>"
        for i in range(6)
    )
    text = dom_text(parse(f"<body><main><h1>Kitchen Linens</h1><ul>{cards}</ul></main></body>"), True)
    assert "Linen Towel No. 5" in text and "stars" not in text
    assert "Hidden" not in dom_text(parse("<body><main><p>Shown text here.</p><a hidden href='/x'>Hidden</a></main>"))


def test_chrome_lines_match_whatever_the_spacing() -> None:
    # trafilatura and the DOM blocks space inline elements differently: the line still goes
    markup = (
        "<body><div class='newsletter'><p>Join<b>Plus</b> from<span>$4.99</span>/ month</p></div>"
        "<main><h1>Oak Stool</h1><p>Solid oak, 45 cm high, oiled by hand.</p></main></body>"
    )
    text = "Oak Stool\nSolid oak, 45 cm high, oiled by hand.\nJoinPlus from $4.99/ month"
    assert without_chrome_lines(text, chrome_lines(parse(markup))[0]).splitlines() == [
        "Oak Stool",
        "Solid oak, 45 cm high, oiled by hand.",
    ]


DESCRIPTION = "Live scores, fixtures and results for every match of the Bellhaven Sunday league, updated each week."


def test_a_page_without_main_text_takes_its_meta_description() -> None:
    markup = page('<main><div id="app"></div></main>', head=f'<meta name="description" content="{DESCRIPTION}">')
    found = extract(markup.encode(), "https://league.example/scores")
    assert found.ok and found.text == DESCRIPTION and found.metadata["html_strategy"] == "description"
    off = ExtractConfig(html=HtmlConfig(description_fallback=False))
    assert extract(markup.encode(), "https://league.example/scores", config=off).reason == "no_main_text"
    # a page with text of its own keeps it
    story = page(
        f"<main><p>{PRODUCT_DESCRIPTION}</p></main>", head=f'<meta name="description" content="{DESCRIPTION}">'
    )
    assert DESCRIPTION not in extract(story.encode(), "https://league.example/a").text


def test_a_forum_posters_card_is_chrome() -> None:
    post = FORUM_POSTS[1][1]
    xenforo = (
        "<article class='message'><div class='message-user'><h4 class='message-name'>oldbaker</h4>"
        "<h5 class='userTitle message-userTitle'>Well-known member</h5>"
        "<div class='message-userBanner'>Staff member</div>"
        "<div class='message-userExtras'><dl><dt>Joined</dt><dd>Mar 3, 2019</dd><dt>Messages</dt><dd>1,204</dd></dl>"
        f"</div></div><div class='message-content'><p>{post}</p></div></article>"
    )
    phpbb = (
        f"<div class='post'><dl class='postprofile'><dd>Posts: 88</dd><dd>Joined: May 2020</dd></dl><p>{post}</p></div>"
    )
    for thread in (xenforo, phpbb):
        text = dom_text(parse(f"<body><main>{thread}</main></body>"))
        assert post in text
        assert not any(w in text for w in ("Well-known", "Staff member", "Joined", "1,204", "Posts: 88"))


def test_comments_are_chrome_on_a_forum_but_not_elsewhere() -> None:
    comment = "Which flour did you use for the second feeding, and at what temperature?"
    thread = (
        f"<div class='post'><p>{FORUM_POSTS[0][1]}</p>"
        f"<div class='comments'><div class='comment-row'><p>{comment}</p></div></div></div>"
    )
    assert comment not in dom_text(parse(f"<body><main>{thread}</main></body>"), chrome=TYPE_CHROME_WORDS["forum"])
    assert comment in dom_text(parse(f"<body><main>{thread}</main></body>"))
    markup = page(
        f"<main><h1>Starter stopped rising</h1>{thread}</main>", head=FORUM.split("<head>")[1].split("</head>")[0]
    )
    found = extract(markup.encode(), "https://bread.example.org/t/starter/4412")
    assert found.metadata["page_type"] == "forum" and FORUM_POSTS[0][1] in squash(found.text)
    assert comment not in squash(found.text)


def test_a_small_form_with_a_text_field_is_chrome_but_a_form_around_the_page_is_not() -> None:
    forms = (
        "<form action='/search'><label>Search the forum</label><input name='q'><button>Go</button></form>"
        "<form><p>Get our weekly digest of new threads</p><input type='email' name='e'></form>"
    )
    text = dom_text(parse(f"<body><main><p>{PRODUCT_DESCRIPTION}</p>{forms}</main></body>"))
    assert PRODUCT_DESCRIPTION in text and "Search the forum" not in text and "weekly digest" not in text
    # an ASP.NET page is one <form>, with a search box in it: its prose stays
    webform = f"<body><form id='aspnetForm'><input type='text' name='q'><p>{PRODUCT_DESCRIPTION}</p></form></body>"
    assert PRODUCT_DESCRIPTION in dom_text(parse(webform))


def test_link_blocks_drop_unless_links_are_the_content() -> None:
    tree = parse("<body><p>Prose that stays.</p><ul><li><a href='/a'>Item one</a></li></ul></body>")
    found = blocks(prune(tree))
    assert block_text(found) == "Prose that stays."
    assert block_text(found, keep_link_blocks=True) == "Prose that stays.\nItem one"


def test_noscript_thread_is_read_when_it_holds_the_page() -> None:
    posts = "".join(f"<div class='post'><p>{text}</p></div>" for _, text in FORUM_POSTS) * 3
    markup = f"<html><body><div id='app'></div><noscript><main>{posts}</main></noscript></body></html>"
    assert FORUM_POSTS[1][1] in block_text(blocks(main_root(prune(parse(markup)))))
    # an app's inline state (JSON in a <script>) is not visible text: it does not outweigh the thread
    state = "<script>window.app = {" + '"k": "v", ' * 2000 + "};</script>"
    markup = f"<html><body><div id='app'></div>{state}<noscript><main>{posts}</main></noscript></body></html>"
    assert FORUM_POSTS[1][1] in block_text(blocks(main_root(prune(parse(markup)))))


def test_a_bare_list_of_links_is_a_menu_where_link_blocks_are_kept() -> None:
    menu = "<ul>" + "".join(f"<li><a href='/docs/{i}'>utility-{i}</a></li>" for i in range(40)) + "</ul>"
    guide = "<p>" + "Install the package with pip, then run the setup command once. " * 12 + "</p>"
    items = "".join(f"<li><a href='/docs/api/{i}'>Function {i}</a> returns the {i}th value.</li>" for i in range(20))
    text = dom_text(parse(f"<body><div>{menu}</div><main>{guide}<ul>{items}</ul></main></body>"), True)
    assert "utility-3" not in text  # the sidebar: nothing but links
    assert "Install the package" in text and "Function 7 returns the 7th value." in text


# -- config, metadata, row -----------------------------------------------------------------------


def test_strategies_are_checked_with_the_key_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="extract.html.strategies.forum: unknown strategy 'fast'"):
        HtmlConfig(strategies={"forum": "fast"})
    with pytest.raises(ConfigError, match="unknown page type 'blog'"):
        HtmlConfig(strategies={"blog": "dom"})
    path = tmp_path / "c.yaml"
    path.write_text("extract:\n  html:\n    fallback_strategy: none\n")
    with pytest.raises(ConfigError, match="extract.html.fallback_strategy"):
        load_config(path)


def test_page_types_off_is_plain_trafilatura() -> None:
    config = ExtractConfig()
    config.html.page_types = False
    ex = extract(FORUM.encode(), None, config=config)
    assert "page_type" not in ex.metadata and "html_strategy" not in ex.metadata


def test_page_type_reaches_the_documents_row() -> None:
    ex = extract(CATEGORY.encode(), "https://linen.example.com/collections/kitchen")
    doc = Document(text=ex.text, id="d", metadata={Meta.SOURCE_KIND: "web", Meta.EXTRACT_META: ex.metadata})
    assert document_row(doc, "r")["page_type"] == "collection"
    plain = Document(text="x", id="e", metadata={Meta.SOURCE_KIND: "text"})
    assert document_row(plain, "r")["page_type"] is None


# -- Korean pages ----------------------------------------------------------------------------------


def _og_title(markup: bytes) -> str:
    match = re.search(rb'<meta[^>]+property="og:title"[^>]+content="([^"]+)"', markup)
    assert match, "the page declares its title"
    return squash(match.group(1).decode("utf-8"))


@pytest.mark.parametrize("name", ["n.news.naver.com-607", "news.chosun.com-2020082704301"])
def test_korean_news_pages_start_with_their_story(testdata: Path, name: str) -> None:
    raw = gzip.decompress((testdata / "web" / "korean_pages" / f"{name}.html.gz").read_bytes())
    ex = extract(raw, None)
    assert ex.ok and ex.metadata["page_type"] == "article"
    title = _og_title(raw)
    opening = [squash(line) for line in ex.text.splitlines()[:3]]
    # the story opens the text (its headline, or a dateline then a sentence of it): no menu lines first
    assert title[:12] in " ".join(opening) or any(len(line) > 40 for line in opening), (title, opening)
    assert "로그인" not in " ".join(opening)
