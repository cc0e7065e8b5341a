"""Filtering-reduction reports: aggregation checked against numbers worked out by hand, and the renderers.

The run below is small enough to add up on paper (13 inputs, 5 stages):

stage 0 read:       web 10 docs / 50,000 raw bytes kept; text 2 docs / 1,000 B kept; text 1 doc / 300 B failed
stage 1 extract:    web 8 kept (40,000 B raw -> 16,000 B, 8,000 chars); web 2 dropped no_main_text (10,000 B);
                    text 2 kept (1,000 B -> 1,000 B, 1,000 chars)
stage 2 langid:     web ko 6 kept (12,000 B, 6,000 ch); web ja 2 dropped lang_not_allowed (4,000 B, 2,000 ch);
                    text en 2 kept (1,000 B, 1,000 ch)
stage 3 boilerplate: web ko 5 kept (10,000 -> 8,000 B, 5,000 -> 4,000 ch); web ko 1 dropped boilerplate_only
                    (2,000 B, 1,000 ch); text en 2 kept (1,000 B, 1,000 ch)
stage 4 near_dedup: web ko 4 kept (6,400 B, 3,200 ch); web ko 1 dropped near_duplicate (1,600 B, 800 ch);
                    text en 2 kept (1,000 B, 1,000 ch)

Hand arithmetic used below:
  inputs 13 = kept 6 + dropped (2 + 2 + 1 + 1 = 6) + failed 1
  samples removed = 1 - 6/13 = 7/13 = 53.85%
  volume base = text entering langid (the stage after extract) = 9,000 chars; kept 3,200 + 1,000 = 4,200 chars
  volume removed = 1 - 4,200/9,000 = 4,800/9,000 = 53.33% (below 53.85%, hence "but only")
  bytes variant = 1 - (6,400 + 1,000)/17,000 = 9,600/17,000; raw bytes read 51,300
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from dataflow.reports import RENDERERS, build_report, render_html, render_json, render_markdown, render_text
from dataflow.reports.model import EXAMPLE_CHARS, UNDETERMINED
from dataflow.reports.render_text import WIDTH, cells, fit

RUN = {
    "run_id": "r1",
    "snapshot_id": 7001,
    "committed_at": "2026-11-27T03:00:00+00:00",
    "config_hash": "cafe01",
    "code_version": "0.1.0",
    "inputs": 3,
    "engine": "local",
    "tag": "nightly",
    "tables": {"documents": "corpus.documents"},
}


def row(i, stage, kind, lang, outcome, reason, docs, b_in, b_out, c_in, c_out):
    kept = outcome == "kept"
    return dict(
        run_id="r1",
        stage_index=i,
        stage=stage,
        source_kind=kind,
        language=lang,
        outcome=outcome,
        reason=reason,
        docs_in=docs,
        docs_out=docs if kept else 0,
        bytes_in=b_in,
        bytes_out=b_out,
        chars_in=c_in,
        chars_out=c_out,
    )


ROWS = [
    row(0, "read", "web", "", "kept", "", 10, 50_000, 50_000, 0, 0),
    row(0, "read", "text", "", "kept", "", 2, 1_000, 1_000, 0, 0),
    row(0, "read", "text", "", "failed", "failed", 1, 300, 0, 0, 0),
    row(1, "extract", "web", "", "kept", "", 8, 40_000, 16_000, 0, 8_000),
    row(1, "extract", "web", "", "dropped", "no_main_text", 2, 10_000, 0, 0, 0),
    row(1, "extract", "text", "", "kept", "", 2, 1_000, 1_000, 0, 1_000),
    row(2, "langid", "web", "ko", "kept", "", 6, 12_000, 12_000, 6_000, 6_000),
    row(2, "langid", "web", "ja", "dropped", "lang_not_allowed", 2, 4_000, 0, 2_000, 0),
    row(2, "langid", "text", "en", "kept", "", 2, 1_000, 1_000, 1_000, 1_000),
    row(3, "boilerplate", "web", "ko", "kept", "", 5, 10_000, 8_000, 5_000, 4_000),
    row(3, "boilerplate", "web", "ko", "dropped", "boilerplate_only", 1, 2_000, 0, 1_000, 0),
    row(3, "boilerplate", "text", "en", "kept", "", 2, 1_000, 1_000, 1_000, 1_000),
    row(4, "near_dedup", "web", "ko", "kept", "", 4, 6_400, 6_400, 3_200, 3_200),
    row(4, "near_dedup", "web", "ko", "dropped", "near_duplicate", 1, 1_600, 0, 800, 0),
    row(4, "near_dedup", "text", "en", "kept", "", 2, 1_000, 1_000, 1_000, 1_000),
]

LONG_KO = "정부는 27일 국무회의에서 내년도 예산안을 의결했다. 무단전재 및 재배포 금지. " * 20
EXAMPLES = [
    dict(
        id="e3",
        stage="near_dedup",
        outcome="dropped",
        reason="near_duplicate",
        error=None,
        language="ko",
        source_kind="web",
        excerpt=LONG_KO,
        url="https://news.example.co.kr/a?x=1&y=<2>",
        source_uri="file:///data/a.warc.gz",
    ),
    dict(
        id="e2",
        stage="langid",
        outcome="dropped",
        reason="lang_not_allowed",
        error=None,
        language="ja",
        source_kind="web",
        excerpt='東京都は27日 <script>alert("x")</script> & more',
        url="http://example.jp/b",
        source_uri="file:///data/b.warc.gz",
    ),
    dict(
        id="e1",
        stage="read",
        outcome="failed",
        reason="failed",
        error="UnicodeDecodeError: 'utf-8' codec can't decode byte 0xb0",
        language="",
        source_kind="text",
        excerpt="\x00\x01binary junk",
        url=None,
        source_uri="file:///data/bad.txt",
    ),
]


@pytest.fixture(scope="module")
def report():
    return build_report(ROWS, EXAMPLES, RUN)


def test_headline_pair_matches_hand_arithmetic(report):
    h = report.headline
    assert (h.docs_in, h.docs_out) == (13, 6)
    assert h.samples_removed == pytest.approx(7 / 13)
    assert h.volume_base_stage == "langid"
    assert (h.chars_in, h.chars_out) == (9_000, 4_200)
    assert h.volume_removed == pytest.approx(4_800 / 9_000)
    assert (h.text_bytes_in, h.text_bytes_out) == (17_000, 7_400)
    assert h.volume_removed_bytes == pytest.approx(9_600 / 17_000)
    assert h.raw_bytes_in == 51_300
    assert h.raw_bytes_removed == pytest.approx(1 - 7_400 / 51_300)
    assert report.headline_pair == "samples −53.85%, volume −53.33%"
    assert report.headline_text == "filtering removed 53.85% of samples but only 53.33% of text volume"


def test_accounting_balances(report):
    a = report.accounting
    assert (a.inputs, a.kept, a.dropped, a.failed) == (13, 6, 6, 1)
    assert a.balanced
    assert report.accounting_errors == []


def test_per_stage_figures(report):
    by = {s.stage: s for s in report.stages}
    assert [s.stage for s in report.stages] == ["read", "extract", "langid", "boilerplate", "near_dedup"]
    assert (by["read"].docs_in, by["read"].docs_out, by["read"].docs_failed) == (13, 12, 1)
    assert (by["extract"].docs_in, by["extract"].docs_out, by["extract"].docs_dropped) == (12, 10, 2)
    assert by["extract"].removed == pytest.approx(2 / 12)
    assert by["extract"].cum_samples_removed == pytest.approx(3 / 13)
    # nothing to measure volume against before the text exists
    assert by["extract"].cum_volume_removed is None and by["extract"].chars_edited is None
    assert by["langid"].cum_volume_removed == pytest.approx(2_000 / 9_000)
    b = by["boilerplate"]
    assert (b.docs_in, b.docs_out) == (8, 7)
    assert b.removed == pytest.approx(1 / 8)
    assert b.cum_samples_removed == pytest.approx(6 / 13)
    assert b.chars_dropped == 1_000  # the boilerplate_only document
    assert b.chars_edited == 1_000  # 6,000 chars of kept docs in, 5,000 out
    assert b.cum_volume_removed == pytest.approx(4 / 9)  # 1 - 5,000 / 9,000
    assert by["near_dedup"].cum_volume_removed == pytest.approx(4_800 / 9_000)


def test_by_source_kind(report):
    kinds = {g.key: g for g in report.source_kinds}
    assert [g.key for g in report.source_kinds] == ["web", "text"]  # canonical kind order
    web, text = kinds["web"], kinds["text"]
    assert (web.docs_in, web.kept, web.dropped, web.failed) == (10, 4, 6, 0)
    assert web.samples_removed == pytest.approx(0.6)
    assert (web.chars_base, web.chars_out) == (8_000, 3_200)
    assert web.volume_removed == pytest.approx(0.6)
    assert (text.docs_in, text.kept, text.dropped, text.failed) == (3, 2, 0, 1)
    assert text.volume_removed == pytest.approx(0.0)


def test_by_language_and_output_mix(report):
    langs = {g.key: g for g in report.languages}
    # terminal attribution: ko 4 kept + 1 boilerplate + 1 near-dup; und = 1 read failure + 2 no_main_text
    assert {k: g.docs_in for k, g in langs.items()} == {"ko": 6, "en": 2, "ja": 2, UNDETERMINED: 3}
    assert sum(g.docs_in for g in report.languages) == 13
    assert [g.key for g in report.languages] == ["ko", "en", "ja", UNDETERMINED]  # most kept first, und last
    assert langs["ko"].kept_docs_share == pytest.approx(4 / 6)
    assert langs["ko"].kept_chars_share == pytest.approx(3_200 / 4_200)
    assert langs["en"].kept_chars_share == pytest.approx(1_000 / 4_200)
    assert langs["ja"].kept == 0 and langs["ja"].samples_removed == pytest.approx(1.0)
    mix = report.language_mix
    assert mix.languages == ["ko", "en"]
    assert mix.ko_en_docs == pytest.approx(2.0)
    assert mix.ko_en_chars == pytest.approx(3.2)


def test_by_reason_and_failures(report):
    reasons = {(r.stage, r.reason): r for r in report.reasons}
    assert list(reasons) == [
        ("read", "failed"),
        ("extract", "no_main_text"),
        ("langid", "lang_not_allowed"),
        ("boilerplate", "boilerplate_only"),
        ("near_dedup", "near_duplicate"),
    ]
    lna = reasons[("langid", "lang_not_allowed")]
    assert (lna.docs, lna.chars, lna.outcome) == (2, 2_000, "dropped")
    assert lna.share_of_input == pytest.approx(2 / 13)
    assert lna.share_of_volume == pytest.approx(2_000 / 9_000)
    assert reasons[("extract", "no_main_text")].share_of_volume is None  # removed before there was text
    assert [(f.stage, f.source_kind, f.docs) for f in report.failures] == [("read", "text", 1)]
    assert [(e.error_type, e.count) for e in report.errors] == [("UnicodeDecodeError", 1)]


def test_examples_grouped_truncated_and_capped():
    many = [dict(EXAMPLES[0], id=f"n{i}") for i in range(5)]
    rep = build_report(ROWS, many + EXAMPLES[1:], RUN, max_examples=2)
    groups = {(g.stage, g.reason): g for g in rep.examples}
    # pipeline order, like the reasons table
    assert list(groups) == [("read", "failed"), ("langid", "lang_not_allowed"), ("near_dedup", "near_duplicate")]
    nd = groups[("near_dedup", "near_duplicate")]
    assert [e.id for e in nd.examples] == ["n0", "n1"]
    assert nd.docs == 1  # from the stats, not the number of samples
    assert len(nd.examples[0].excerpt) == EXAMPLE_CHARS and nd.examples[0].excerpt.endswith("…")
    assert "\x00" not in groups[("read", "failed")].examples[0].excerpt


def test_error_types_counted_over_sampled_failures():
    errs = [
        dict(EXAMPLES[2], id="x1", error="ValueError: bad"),
        dict(EXAMPLES[2], id="x2", error="ValueError: worse"),
        dict(EXAMPLES[2], id="x3", error="KeyError: 'k'"),
    ]
    rep = build_report(ROWS, errs, RUN)
    assert [(e.error_type, e.count, e.example) for e in rep.errors] == [
        ("ValueError", 2, "ValueError: bad"),
        ("KeyError", 1, "KeyError: 'k'"),
    ]


def test_lost_rows_are_reported_as_accounting_errors():
    rows = [r for r in ROWS if r["reason"] != "lang_not_allowed"]  # two documents vanish at langid
    rep = build_report(rows, [], RUN)
    assert not rep.accounting.balanced
    assert (rep.accounting.inputs, rep.accounting.kept, rep.accounting.dropped) == (13, 6, 4)
    errors = "\n".join(rep.accounting_errors)
    assert "docs_out of stage 1 extract = 10 but docs_in of stage 2 langid = 8" in errors
    assert "inputs 13 != kept 6 + dropped 4 + failed 1" in errors
    assert "ACCOUNTING ERRORS" in render_text(rep)
    assert "NOT BALANCED" in render_markdown(rep)
    html = render_html(rep)
    assert 'class="alarm"' in html and "NOT BALANCED" in html
    assert json.loads(render_json(rep))["accounting"]["balanced"] is False


def test_row_contract_violations_are_reported():
    rows = copy.deepcopy(ROWS)
    rows[4]["docs_out"] = 2  # a dropped row that passes documents on
    rows[0]["run_id"] = "other"
    rep = build_report(rows, [], RUN)
    errors = "\n".join(rep.accounting_errors)
    assert "dropped row 'no_main_text' passes documents or text on" in errors
    assert "mix 2 run ids" in errors


def test_volume_base_without_extract_stage():
    # already-extracted text (JSONL): the reader sees characters, there is no extract stage
    rows = [
        row(0, "read", "text", "", "kept", "", 4, 400, 400, 400, 400),
        row(1, "langid", "text", "ko", "kept", "", 3, 300, 300, 300, 300),
        row(1, "langid", "text", "fr", "dropped", "lang_not_allowed", 1, 100, 0, 100, 0),
    ]
    rep = build_report(rows, [], {"run_id": "r2"})
    assert rep.headline.volume_base_stage == "read"
    assert rep.headline.volume_removed == pytest.approx(0.25)
    assert rep.language_mix.ko_en_docs is None  # no English kept: no ratio rather than a division by zero


def test_empty_run_renders_everywhere():
    rep = build_report([], [], {})
    assert rep.headline.samples_removed is None and rep.accounting.balanced
    assert rep.headline_pair == "samples n/a, volume n/a"
    for render in RENDERERS.values():
        assert render(rep)


def test_json_keys_and_numbers(report):
    text = render_json(report)
    data = json.loads(text)
    assert set(data) == {
        "report_version",
        "run",
        "headline",
        "headline_pair",
        "headline_text",
        "accounting",
        "stages",
        "source_kinds",
        "languages",
        "language_mix",
        "reasons",
        "failures",
        "errors",
        "examples",
        "accounting_errors",
        "definitions",
    }
    assert data["headline"]["samples_removed"] == pytest.approx(7 / 13)
    assert data["headline"]["docs_in"] == 13 and isinstance(data["headline"]["docs_in"], int)
    assert data["stages"][1]["cum_volume_removed"] is None
    assert set(data["stages"][0]) >= {"index", "stage", "docs_in", "docs_out", "removed", "cum_samples_removed"}
    assert data["run"]["tables"] == {"documents": "corpus.documents"}
    assert render_json(build_report(list(reversed(ROWS)), list(reversed(EXAMPLES)), RUN)) == text  # order-free


def test_markdown_has_headline_and_tables(report):
    md = render_markdown(report)
    assert "samples −53.85%, volume −53.33%" in md
    assert "filtering removed 53.85% of samples but only 53.33% of text volume" in md
    assert "| `boilerplate` | `boilerplate_only` | dropped | 1 | 7.69% | 1,000 | 11.11% |" in md
    assert "inputs 13 = kept 6 + dropped 6 + failed 1" in md
    assert "ko:en = **2.0:1** by documents, **3.2:1** by characters" in md


def test_text_fits_100_columns(report):
    text = render_text(report)
    assert all(cells(line) <= WIDTH for line in text.splitlines())
    assert "samples −53.85%, volume −53.33%" in text
    assert "inputs 13 = kept 6 + dropped 6 + failed 1  [balanced]" in text
    assert cells("한국어 ok") == 9
    assert fit("한국어입니다", 7) == "한국어…"


class _TagBalance(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link", "rect", "line"}

    def __init__(self):
        super().__init__()
        self.stack, self.problems, self.attrs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.attrs += [v or "" for _, v in attrs]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.attrs += [v or "" for _, v in attrs]

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_html_is_self_contained_escaped_and_well_formed(report):
    html = render_html(report)
    lower = html.lower()
    for banned in ("<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "href="):
        assert banned not in lower, banned
    checker = _TagBalance()
    checker.feed(html)
    assert checker.problems == [] and checker.stack == []
    assert not [a for a in checker.attrs if "http" in a.lower()]  # no attribute names a network resource
    ET.fromstring(html.split("\n", 1)[1])  # well-formed as XML too (after the doctype)
    # data shows up as escaped text
    assert "https://news.example.co.kr/a?x=1&amp;y=&lt;2&gt;" in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "samples −53.85%, volume −53.33%" in html
    assert html.count("<svg") >= 4  # funnel, language mix, source kinds, reasons


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed (apt-get install -y chromium)")
def test_html_renders_in_headless_chromium(report, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    png = tmp_path / "report.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={png}",
        "--window-size=1200,2000",
    ]
    subprocess.run([_chromium(), *flags, page.as_uri()], capture_output=True, timeout=120, check=False)
    assert png.is_file(), "Chromium wrote no screenshot"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 1200  # IHDR width: the page was laid out at the window size
    assert len(data) > 50_000  # a blank 1200x2000 page compresses to a few KB; charts and tables make far more
