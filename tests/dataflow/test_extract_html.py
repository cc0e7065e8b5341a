"""HTML/text extraction and the extract stage: real pages, Korean encodings, and every way a record can fail."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from datatrove.data import Document
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import dataflow.extractors as extract_module
from dataflow.config import ExtractConfig, HtmlConfig, ReadConfig
from dataflow.document import Meta
from dataflow.extractors import extract, html_dom, html_types
from dataflow.extractors.html import extract_html, html_title
from dataflow.extractors.text import extract_text
from dataflow.readers.discover import InputFile
from dataflow.readers.records import InputReader
from dataflow.stages.base import run_stages
from dataflow.stages.extract import ExtractStage
from schemas import DROPPED, FAILED, KEPT

PARAGRAPHS = [
    "서울시는 올해 겨울 한파에 대비해 취약계층을 위한 난방비 지원 대상을 크게 늘리기로 했다고 밝혔다.",
    "시 관계자는 지원 대상이 지난해보다 두 배 가까이 늘어 약 십만 가구가 혜택을 받을 것으로 내다봤다.",
    "전문가들은 에너지 가격 상승이 이어지는 만큼 지원을 꾸준히 확대해야 한다고 강조했다.",
    "Seoul said it would nearly double the number of households that receive winter heating support this year.",
]
NAV = ["홈", "정치", "경제", "사회", "로그인", "회원가입"]


def article_page(meta: str = "", paragraphs: list[str] = PARAGRAPHS) -> str:
    nav = "".join(f'<li><a href="/{i}">{item}</a></li>' for i, item in enumerate(NAV))
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head>{meta}<title>난방비 지원 확대 | 예시일보</title></head><body>"
        f"<header><nav><ul>{nav}</ul></nav></header>"
        f"<main><article><h1>서울시, 난방비 지원 두 배로</h1>{body}</article></main>"
        "<footer><p>Copyright 예시일보. All rights reserved.</p></footer></body></html>"
    )


def shingle_f1(expected: str, predicted: str, n: int = 4) -> float:
    """Token 4-gram overlap F1, as the ScrapingHub benchmark scores one page."""

    def grams(text: str) -> Counter:
        tokens = re.findall(r"\w+", text)
        return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))

    truth, pred = grams(expected), grams(predicted)
    tp = sum((truth & pred).values())
    precision, recall = tp / max(1, sum(pred.values())), tp / max(1, sum(truth.values()))
    return 2 * precision * recall / (precision + recall) if tp else 0.0


def hangul_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\uac00" <= c <= "\ud7a3" for c in letters) / max(1, len(letters))


# -- extract_html --------------------------------------------------------------------------------


def test_article_text_without_navigation_and_with_title() -> None:
    ex = extract_html(article_page().encode("utf-8"), "https://news.example.kr/a/1", {}, ExtractConfig())
    assert ex.ok and ex.format == "html" and ex.source_kind == "web"
    for paragraph in PARAGRAPHS:
        assert paragraph in ex.text
    assert "회원가입" not in ex.text and "All rights reserved" not in ex.text
    assert ex.metadata["title"] == "난방비 지원 확대 | 예시일보"
    assert ex.metadata["url"] == "https://news.example.kr/a/1" and ex.metadata["encoding"] == "utf-8"


@pytest.mark.parametrize("meta", ['<meta charset="euc-kr">', ""])
def test_cp949_pages_extract_to_hangul(meta: str) -> None:
    page = article_page(meta).encode("cp949")
    ex = extract_html(page, None, {}, ExtractConfig())
    assert ex.metadata["encoding"] == "cp949"
    assert PARAGRAPHS[0] in ex.text


def test_warc_header_charset_is_used_for_an_undeclared_page() -> None:
    ex = extract(article_page().encode("cp949"), "http://a.kr/x", hints={"charset": "euc-kr"})
    assert ex.metadata["encoding"] == "cp949" and PARAGRAPHS[1] in ex.text


@pytest.mark.parametrize(
    "page",
    [
        "<html><head><title>Only a title</title></head><body></body></html>",
        "<html><body><nav><a href='/'>Home</a> <a href='/login'>Login</a></nav></body></html>",
        "<html><body><script>var x = 1;</script></body></html>",
    ],
)
def test_pages_without_main_text(page: str) -> None:
    ex = extract(page.encode("utf-8"), "file:///p.html")
    assert not ex.ok and ex.reason == "no_main_text" and ex.format == "html"


def test_min_chars_turns_short_text_into_no_main_text() -> None:
    config = ExtractConfig()
    config.html.min_chars = 10_000
    ex = extract(article_page().encode("utf-8"), None, config=config)
    assert ex.reason == "no_main_text" and ex.metadata["title"]


def test_same_page_many_times_gives_the_same_text() -> None:
    # trafilatura's process-wide dedup cache would empty repeats; the default keeps it off
    page = article_page().encode("utf-8")
    texts = {extract(page, None).text for _ in range(4)}
    assert len(texts) == 1 and None not in texts


def test_html_title_helper() -> None:
    assert html_title("<head><TITLE>\n A &amp; B \n</TITLE></head>") == "A & B"
    assert html_title("<body>no title</body>") is None


def test_extract_text_decodes_and_rejects_blank() -> None:
    ex = extract_text("첫 줄\n둘째 줄".encode("cp949"), None, {}, ExtractConfig())
    assert ex.ok and ex.text == "첫 줄\n둘째 줄" and ex.metadata["encoding"] == "cp949"
    assert extract(b"   \n", None).reason == "empty"


def test_binary_and_unknown_formats_are_named() -> None:
    assert extract(bytes(range(256)) * 8, "file:///junk.html").reason == "unsupported_format"
    assert extract(b'<?xml version="1.0"?><rss><channel/></rss>', None).reason == "unsupported_format"
    config = ExtractConfig(formats=["text"])
    assert extract(article_page().encode(), None, config=config).reason == "format_disabled"


# -- the extract stage ---------------------------------------------------------------------------


def raw_doc(content: bytes, **meta) -> Document:
    return Document(text="", id="d1", metadata={Meta.SOURCE_URI: "file:///in/p.html", Meta.RAW: content, **meta})


def test_stage_extracts_raw_records_and_drops_the_bytes() -> None:
    doc = raw_doc(article_page().encode("cp949"), **{Meta.RAW_HINTS: {"charset": "euc-kr"}, Meta.URL: "https://a.kr/1"})
    (out,) = run_stages([ExtractStage()], [doc])
    meta = out.metadata
    assert meta.get(Meta.OUTCOME, KEPT) == KEPT and PARAGRAPHS[0] in out.text
    assert Meta.RAW not in meta and Meta.RAW_HINTS not in meta
    assert meta[Meta.FORMAT] == "html" and meta[Meta.SOURCE_KIND] == "web"
    assert meta[Meta.EXTRACT_META]["encoding"] == "cp949" and meta[Meta.URL] == "https://a.kr/1"


def test_stage_passes_text_records_and_keeps_their_kind() -> None:
    docs = [
        Document(text="이미 추출된 글", id="t1", metadata={Meta.FORMAT: "text", Meta.SOURCE_KIND: "report"}),
        Document(text="no kind given", id="t2", metadata={Meta.FORMAT: "text"}),
    ]
    out = list(run_stages([ExtractStage()], docs))
    assert [d.text for d in out] == ["이미 추출된 글", "no kind given"]
    assert [d.metadata[Meta.SOURCE_KIND] for d in out] == ["report", "text"]


def test_stage_names_every_failure() -> None:
    stage = ExtractStage()
    docs = [
        raw_doc(bytes(range(256)) * 8),
        raw_doc(b"<html><body></body></html>"),
        Document(text="", id="e", metadata={}),
    ]
    out = list(run_stages([stage], docs))
    assert [(d.metadata[Meta.OUTCOME], d.metadata[Meta.REASON]) for d in out] == [
        (DROPPED, "unsupported_format"),
        (DROPPED, "no_main_text"),
        (DROPPED, "empty"),
    ]
    assert all(Meta.RAW not in d.metadata for d in out)
    assert sum(row["docs_in"] for row in stage.ledger.to_rows("r")) == 3


def boom(content: bytes, uri, hints, config):
    raise RuntimeError("parser exploded")


def test_stage_marks_an_extractor_crash_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(extract_module.EXTRACTORS, "html", f"{__name__}:boom")
    (out,) = run_stages([ExtractStage()], [raw_doc(article_page().encode())])
    assert out.metadata[Meta.OUTCOME] == FAILED and "parser exploded" in out.metadata[Meta.ERROR]


def test_reader_then_stage_over_a_warc(tmp_path: Path) -> None:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for i, (body, ctype) in enumerate(
        [
            (article_page().encode("cp949"), "text/html; charset=euc-kr"),
            (b"<html><body><nav>menu</nav></body></html>", "text/html"),
            ("평문 응답입니다.".encode("cp949"), "text/plain; charset=euc-kr"),
        ]
    ):
        http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        rec = writer.create_warc_record(f"http://a.kr/{i}", "response", payload=io.BytesIO(body), http_headers=http)
        writer.write_record(rec)
    path = tmp_path / "c.warc.gz"
    path.write_bytes(buf.getvalue())
    reader = InputReader(InputFile.of(path), ReadConfig())
    out = list(run_stages([ExtractStage()], reader))
    assert [(d.metadata.get(Meta.OUTCOME, KEPT), d.metadata.get(Meta.FORMAT)) for d in out] == [
        (KEPT, "html"),
        (DROPPED, "html"),
        (KEPT, "text"),
    ]
    assert PARAGRAPHS[2] in out[0].text and out[2].text == "평문 응답입니다."
    assert [d.metadata[Meta.URL] for d in out] == ["http://a.kr/0", "http://a.kr/1", "http://a.kr/2"]


# -- the article path's speed settings (html_types.precision_text) -------------------------------------

ARTICLE_META = '<meta property="og:type" content="article"><meta property="og:site_name" content="예시일보">'
SPEED_SETTINGS = [
    {},  # the defaults: trafilatura reads the pruned main root, fast first run
    {"precision_fast": False},
    {"precision_main_root": False},
    {"precision_main_root": False, "precision_fast": False},
]


def html_config(**settings: object) -> ExtractConfig:
    config = ExtractConfig()
    for key, value in settings.items():
        setattr(config.html, key, value)
    return config


def test_main_root_markup_is_the_story_without_chrome() -> None:
    page, dom = html_types.main_root_markup(html_dom.parse(article_page(ARTICLE_META)))
    assert page is not None and page.startswith("<html><body><main>")
    for paragraph in PARAGRAPHS:
        assert paragraph in page and paragraph in dom.split("\n")
    for chrome in ["회원가입", "All rights reserved", "og:site_name", "<title>"]:
        assert chrome not in page and chrome not in dom


@pytest.mark.parametrize("settings", SPEED_SETTINGS)
def test_article_speed_settings_keep_the_story(settings: dict) -> None:
    ex = extract_html(article_page(ARTICLE_META).encode(), "https://news.example.kr/a/1", {}, html_config(**settings))
    assert ex.metadata["page_type"] == "article" and ex.metadata["html_strategy"] == "precision"
    assert all(paragraph in ex.text for paragraph in PARAGRAPHS)
    assert "회원가입" not in ex.text and "All rights reserved" not in ex.text


def test_with_metadata_gives_trafilatura_the_whole_page() -> None:
    # og:site_name sits in <head>, which the main root leaves out; without it trafilatura names the host
    ex = extract_html(
        article_page(ARTICLE_META).encode(), "https://news.example.kr/a/1", {}, html_config(with_metadata=True)
    )
    assert ex.metadata["sitename"] == "예시일보"
    assert all(paragraph in ex.text for paragraph in PARAGRAPHS)


def test_the_product_strategys_fast_run_is_replaced_where_it_drops_the_content(monkeypatch: pytest.MonkeyPatch) -> None:
    story, page = "\n".join(PARAGRAPHS), article_page("")

    def runs_of(fast_text: str, config: HtmlConfig) -> tuple[list[bool], str]:
        """trafilatura's runs (fast or not) when its fast run returns ``fast_text`` and its full run the story."""
        runs: list[bool] = []

        def run(markup: str, url: str | None, cfg: HtmlConfig, **settings: bool) -> tuple[str, None]:
            runs.append(cfg.fast)
            return (fast_text if cfg.fast else story), None

        monkeypatch.setattr(html_types, "run_trafilatura", run)
        found = html_types.trafilatura_text(page, html_dom.parse(page), None, "trafilatura", config)
        return runs, found.text

    assert runs_of(PARAGRAPHS[0][:20], HtmlConfig()) == ([True, False], story)  # a scrap of the page: full run
    assert runs_of(story, HtmlConfig()) == ([True], story)  # the page's text: no second run
    assert runs_of("", HtmlConfig(trafilatura_fast=False)) == ([False], story)


# -- real pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", SPEED_SETTINGS)
def test_goose3_donga_korean_page(testdata: Path, settings: dict) -> None:
    # trafilatura's fast favor_precision run keeps nothing of this page: the recall guard's full run restores it
    base = testdata / "web" / "goose3_content_tests" / "test_donga_korean"
    expected = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
    ex = extract(
        gzip.decompress(base.with_suffix(".html.gz").read_bytes()), expected["url"], config=html_config(**settings)
    )
    assert ex.ok and hangul_share(ex.text) > 0.8
    assert shingle_f1(expected["expected"]["cleaned_text"], ex.text) > 0.98
    assert "동아" in ex.metadata["title"]


def test_korean_pages_decode_to_hangul(testdata: Path) -> None:
    pages = sorted((testdata / "web" / "korean_pages").glob("*.html.gz"))
    assert len(pages) >= 4
    for page in pages:
        ex = extract(gzip.decompress(page.read_bytes()), None)
        assert ex.ok, page.name
        assert hangul_share(ex.text) > 0.5 and "\ufffd" not in ex.text, page.name


@pytest.mark.parametrize("settings", SPEED_SETTINGS)
def test_naver_blog_first_words(testdata: Path, settings: dict) -> None:
    folder, name = testdata / "web" / "korean_pages", "m.blog.naver.com-jjy0501-222999197655"
    expected = json.loads((folder / f"{name}.expected.json").read_text(encoding="utf-8"))
    ex = extract(
        gzip.decompress((folder / f"{name}.html.gz").read_bytes()), expected["url"], config=html_config(**settings)
    )

    def words(text: str) -> str:
        return " ".join(text.replace("\u200b", " ").split())

    assert words(expected["content_first_13_words"]) in words(ex.text)
    assert ex.metadata["title"].startswith(expected["title"])
