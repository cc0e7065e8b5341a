"""PDF extraction: reading order, running headers, joins, tables, and every bad-input reason.

Test PDFs are drawn with PyMuPDF itself (Korean needs PyMuPDF's embedded "cjk" font: the
built-in "korea" font is not embedded and does not round-trip everywhere).
"""

from __future__ import annotations

import re
from collections import Counter

import pymupdf
import pytest

from dataflow.config import ExtractConfig
from dataflow.extractors.pdf import extract_pdf
from dataflow.extractors.pdf_layout import JoinContext, is_page_number, join_lines, normalize_spaces

LEFT = [f"alpha {w} left column text here" for w in ("one", "two", "three", "four", "five", "six")]
RIGHT = [f"beta {w} right column words" for w in ("one", "two", "three", "four", "five", "six")]


def _config(**pdf: object) -> ExtractConfig:
    config = ExtractConfig()
    for k, v in pdf.items():
        setattr(config.pdf, k, v)
    return config


def _save(doc: pymupdf.Document, **kwargs: object) -> bytes:
    data = doc.tobytes(**kwargs)
    doc.close()
    return data


def _two_column_pdf(pages: int = 2) -> bytes:
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        page = doc.new_page(width=612, height=792)
        page.insert_text((50, 40), "Journal of Generated Documents, Vol. 7", fontsize=9)
        page.insert_text((290, 770), f"- {n} -", fontsize=9)
        page.insert_text((50, 110), f"Page {n} title runs across both of the columns below it", fontsize=16)
        for i, (left, right) in enumerate(zip(LEFT, RIGHT, strict=True)):
            y = 160 + 16 * i
            page.insert_text((50, y), f"{left} p{n}", fontsize=11)
            page.insert_text((330, y), f"{right} p{n}", fontsize=11)
    return _save(doc)


def _lines_pdf(lines: list[str], fontsize: float = 11, korean: bool = False) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    kw: dict[str, object] = {"fontsize": fontsize}
    if korean:
        page.insert_font(fontname="F0", fontbuffer=pymupdf.Font("cjk").buffer)
        kw["fontname"] = "F0"
    for i, line in enumerate(lines):
        page.insert_text((72, 200 + 1.5 * fontsize * i), line, **kw)
    return _save(doc)


def test_two_columns_read_column_by_column_without_running_lines() -> None:
    ext = extract_pdf(_two_column_pdf(), "two.pdf", {}, ExtractConfig())
    assert ext.ok and ext.format == "pdf" and ext.source_kind == "paper"
    text = ext.text
    assert "Journal of Generated" not in text  # running header on both pages
    assert not re.search(r"-\s*\d\s*-", text)  # "- 1 -" page numbers
    for n in (1, 2):
        title = text.index(f"Page {n} title")
        left = [text.index(f"{line} p{n}") for line in LEFT]
        right = [text.index(f"{line} p{n}") for line in RIGHT]
        assert title < left[0]
        assert left == sorted(left) and right == sorted(right)
        assert left[-1] < right[0]  # the whole left column before the right one
    assert text.index("p1") < text.index("Page 2 title")
    assert ext.metadata["page_count"] == 2


def test_three_columns_in_order() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    for c, x in enumerate((40, 235, 430)):
        for i in range(6):
            page.insert_text((x, 100 + 14 * i), f"col{c} line{i} text", fontsize=10)
    text = extract_pdf(_save(doc), None, {}, ExtractConfig()).text
    found = re.findall(r"col(\d) line(\d)", text)
    assert found == [(str(c), str(i)) for c in range(3) for i in range(6)]


def test_english_hyphenation_repaired_but_compounds_kept() -> None:
    lines = [
        "Every node keeps a load-carrying buffer for infor-",
        "mation about its self-",
        "contained neighbours and the Franco-",
        "Prussian tables; the load-",
        "carrying part holds COVID-",
        "19 records and more text here.",
    ]
    text = extract_pdf(_lines_pdf(lines), None, {}, ExtractConfig()).text
    assert "information about" in text
    assert "self-contained" in text  # always-hyphenated prefix
    assert "Franco-Prussian" in text  # capital after the hyphen
    assert text.count("load-carrying") == 2  # the hyphenated form occurs elsewhere in the document
    assert "COVID-19" in text
    assert "infor-" not in text and "infor mation" not in text


KOREAN = [
    "코로나바이러스감염증의 국내 확",  # wraps inside 확진자 (no trailing space)
    "진자는 구천명이고 사망자는 ",  # wraps at a space
    "백명으로 나타났다고 당국은 밝혔다",
]


def test_korean_wraps_join_without_space_inside_words() -> None:
    text = extract_pdf(_lines_pdf(KOREAN, korean=True), None, {}, ExtractConfig()).text
    assert "국내 확진자는" in text
    assert "사망자는 백명으로" in text


def test_korean_space_mode_follows_docling() -> None:
    text = extract_pdf(_lines_pdf(KOREAN, korean=True), None, {}, _config(korean_line_join="space")).text
    assert "국내 확 진자는" in text


def test_ruled_table_becomes_markdown_once() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 90), "Results are listed in the table below.", fontsize=11)
    rows = [("Model", "Score"), ("Baseline", "0.71"), ("Ours", "0.93")]
    x, y, w, h = 72, 110, 150, 20
    for r, (a, b) in enumerate(rows):
        page.insert_text((x + 5, y + h * r + 14), a, fontsize=10)
        page.insert_text((x + w + 5, y + h * r + 14), b, fontsize=10)
    for r in range(len(rows) + 1):
        page.draw_line((x, y + h * r), (x + 2 * w, y + h * r))
    for c in range(3):
        page.draw_line((x + w * c, y), (x + w * c, y + h * len(rows)))
    ext = extract_pdf(_save(doc), None, {}, ExtractConfig())
    assert "| Model | Score |" in ext.text
    assert "| Baseline | 0.71 |" in ext.text and "| Ours | 0.93 |" in ext.text
    assert ext.text.count("Baseline") == 1  # the cell text is not also emitted as loose lines
    assert ext.text.index("table below") < ext.text.index("| Model")
    assert ext.metadata["tables"] == 1


def test_title_author_from_metadata_or_largest_font() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "A Big Heading", fontsize=24)
    page.insert_text((72, 120), "small body text follows the heading.", fontsize=10)
    doc.set_metadata({"author": "Kim Chang-ho"})
    ext = extract_pdf(_save(doc), None, {}, ExtractConfig())
    assert ext.metadata["title"] == "A Big Heading"
    assert ext.metadata["author"] == "Kim Chang-ho"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Body", fontsize=10)
    doc.set_metadata({"title": "Stored Title"})
    assert extract_pdf(_save(doc), None, {}, ExtractConfig()).metadata["title"] == "Stored Title"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Real Heading", fontsize=20)
    doc.set_metadata({"title": "10811.exe"})  # a file name is no title
    assert extract_pdf(_save(doc), None, {}, ExtractConfig()).metadata["title"] == "Real Heading"


def test_max_pages_caps_work() -> None:
    ext = extract_pdf(_two_column_pdf(pages=3), None, {}, _config(max_pages=2))
    assert ext.metadata["page_count"] == 3 and ext.metadata["pages_extracted"] == 2
    assert "p2" in ext.text and "p3" not in ext.text


def test_encrypted_pdf() -> None:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret text")
    data = _save(doc, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="x", owner_pw="y")
    ext = extract_pdf(data, None, {}, ExtractConfig())
    assert ext.text is None and ext.reason == "encrypted"


def test_truncated_pdf_is_corrupt() -> None:
    data = _two_column_pdf()
    ext = extract_pdf(data[: len(data) // 2], None, {}, ExtractConfig())
    assert ext.text is None and ext.reason == "corrupt_pdf"


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><head><title>x</title></head><body><p>not a pdf</p></body></html>",
        b"%PDF-1.7\nthis is not really a pdf\n%%EOF\n",
        bytes(range(256)) * 8,
    ],
)
def test_not_a_pdf_is_corrupt(data: bytes) -> None:
    ext = extract_pdf(data, "page.pdf", {}, ExtractConfig())
    assert ext.text is None and ext.reason == "corrupt_pdf" and ext.error is None


def test_html_named_pdf_is_not_detected_as_pdf() -> None:
    pytest.importorskip("dataflow.readers.sniff")
    from dataflow.extractors import extract

    html = b"<!DOCTYPE html><html><body><p>Hello</p></body></html>"
    assert extract(html, "report.pdf").format != "pdf"


def test_image_only_pdf_has_no_text_layer() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 32, 32), False)
    pix.clear_with(128)
    page.insert_image(pymupdf.Rect(72, 72, 300, 300), pixmap=pix)
    ext = extract_pdf(_save(doc), None, {}, ExtractConfig())
    assert ext.text is None and ext.reason == "no_text_layer"
    assert ext.metadata["page_count"] == 1


def test_normalize_spaces() -> None:
    assert normalize_spaces("a\u00a0b\u3000c\u2009d\u200be\ufeff\U000f0854") == "a b c de"


@pytest.mark.parametrize("text", ["3", "- 3 -", "— 12 —", "3 / 15", "Page 3 of 9", "3 페이지", "12쪽", "xiv"])
def test_page_number_patterns(text: str) -> None:
    assert is_page_number(text)


@pytest.mark.parametrize("text", ["Chapter 3", "Table 3 shows", "3. Results"])
def test_not_page_numbers(text: str) -> None:
    assert not is_page_number(text)


def test_join_lines_rules() -> None:
    ctx = JoinContext(korean_trailing_space=True)
    assert join_lines("infor-", "mation is", True, ctx) == "information is"
    assert join_lines("self-", "contained", True, ctx) == "self-contained"
    assert join_lines("soft\u00ad", "ware", True, ctx) == "software"
    assert join_lines("국내 확", "진자는", True, ctx) == "국내 확진자는"
    assert join_lines("국내 확", "진자는", False, ctx) == "국내 확 진자는"  # short line: a paragraph-ish end
    assert join_lines("사망자는 ", "백명", True, ctx) == "사망자는 백명"
    assert join_lines("end of", "line", True, ctx) == "end of line"
    assert join_lines("東京の", "天気", True, ctx) == "東京の天気"


# ------------------------------------------------------------------ real documents


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _f1(pred: list[str], gold: list[str]) -> float:
    overlap = sum((Counter(pred) & Counter(gold)).values())
    return 2 * overlap / (len(pred) + len(gold))


def test_korean_two_column_report(testdata) -> None:
    folder = testdata / "pdf" / "docling_with_groundtruth"
    data = (folder / "normal_4pages.pdf").read_bytes()
    ext = extract_pdf(data, None, {}, _config(source_kind="report"))
    assert ext.ok and ext.source_kind == "report"
    assert ext.metadata["page_count"] == 4
    assert ext.metadata["title"].startswith("코로나-19 관련 보험약관상")
    # mid-word wraps joined: "확\n진자는", "돌\n입하였음을" in the PDF
    assert "확진자는" in ext.text and "돌입하였음을" in ext.text
    # the masthead stays, the running header of pages 2 and 4 goes ("「이슈와 논점」은 ..." is body text)
    assert ext.text.count("\n\n이슈와 논점\n\n") == 1
    assert "국회입법조사처장 www.nars.go.kr" in ext.text
    # docling's ground truth spaces every wrap, so compare tokens in its convention
    gold = re.sub(r"<!--.*?-->|[#|*]|^\s*-( -)+\s*$", " ", (folder / "normal_4pages.groundtruth.md").read_text())
    spaced = extract_pdf(data, None, {}, _config(korean_line_join="space")).text
    assert _f1(_tokens(spaced), _tokens(gold)) >= 0.97
    # reading order: the left column's last paragraph comes before the right column's first
    assert ext.text.index("선언하였다") < ext.text.index("이슈가 될 것으로")


def test_federal_register_running_headers_removed(testdata) -> None:
    data = (testdata / "pdf" / "pdfplumber_gov" / "federal-register-2020-17221.pdf").read_bytes()
    text = extract_pdf(data, None, {}, ExtractConfig()).text
    assert "VerDate" not in text and "jbell on" not in text
    assert not re.search(r"Federal Register\s*/\s*Vol\. 85", text)
    assert not re.search(r"^\d{5}$", text, flags=re.M)
