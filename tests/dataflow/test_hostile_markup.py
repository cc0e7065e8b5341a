"""Pathologically deep markup: refused by a tag scan before any parser runs (lexbor's tree building is
quadratic in depth and the DOM walkers recurse), while real pages of ordinary depth keep their text."""

from __future__ import annotations

from dataflow import extract
from dataflow.config import ExtractConfig, HtmlConfig
from dataflow.extractors.html import MARKUP_TOO_DEEP, explain_html
from dataflow.extractors.html_dom import markup_depth

ARTICLE = "<p>" + "도서관 운영 시간이 다음 달부터 평일 오후 열 시까지 늘어납니다. " * 12 + "</p>"


def _nested(depth: int, body: str = ARTICLE) -> bytes:
    return ("<html><body>" + "<div>" * depth + body + "</div>" * depth + "</body></html>").encode()


def test_a_million_nested_divs_are_refused_with_a_reason_not_parsed():
    result = extract(_nested(1_000_000), "deep.html")
    assert (result.text, result.reason) == (None, MARKUP_TOO_DEEP)


def test_ordinary_nesting_keeps_its_text():
    result = extract(_nested(200), "nested.html")
    assert result.reason is None and "도서관 운영 시간" in result.text


def test_the_limit_is_a_setting():
    cfg = ExtractConfig(html=HtmlConfig(max_depth=50))
    assert extract(_nested(100), "nested.html", config=cfg).reason == MARKUP_TOO_DEEP
    assert "markup_too_deep: elements nest 102 deep" in explain_html(_nested(100), None, cfg)


def test_depth_counts_elements_not_code_or_unclosed_list_items():
    script = "<script>" + "for(i=0;i<n;i++){a<b}" * 2000 + "</script>"
    items = "<ul>" + "<li>item" * 5000 + "</ul>"
    assert markup_depth(f"<html><body>{script}<div><p>text{items}</div></body></html>") == 4  # html body div ul
    assert markup_depth("<div><div><span>x</span></div></div>") == 3


def test_depth_folds_tag_case_and_stray_end_tags_stay_at_zero():
    assert markup_depth("</div></div><DIV><Div><P>x<BR><LI>y</div><liX>z") == 2  # DIV Div; P, BR, LI no level
    assert markup_depth("</section></div>") == 0
    # raw text found in any case, and past a dotted capital I (which lower-cases to two characters)
    assert markup_depth("<SCRIPT>a<b<c</Script><div>x</div>") == 1
    assert markup_depth("<p>\u0130</p><Style>a<b{}</STYLE><div><div>x</div></div>") == 2
    assert markup_depth("<textarea><div><div>") == 0  # unclosed: runs to the end of the page
