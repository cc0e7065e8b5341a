"""Readers: input discovery, format sniffing, decoding and record streaming, including every bad input."""

from __future__ import annotations

import gzip
import io
import json
import re
import tracemalloc
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from dataflow.config import ReadConfig
from dataflow.document import Meta
from dataflow.readers.decode import decode_html, decode_text, normalize_charset
from dataflow.readers.discover import InputFile, discover
from dataflow.readers.records import InputReader, doc_id
from dataflow.readers.sniff import sniff_container, sniff_record
from schemas import DROPPED, FAILED, KEPT

# Syllables outside EUC-KR's 2,350 (KS X 1001) that only CP949 encodes: a plain euc_kr codec fails on them
CP949_ONLY = "똠방각하 햏 뷁"
KOREAN = "대한민국 서울특별시에서 열린 회의에서 참석자들은 새로운 정책에 대해 논의했습니다. "


def korean_page(meta: str = "", body: str = KOREAN * 8) -> str:
    head = f"<head>{meta}<title>한국어 기사</title></head>"
    return f"<html>{head}<body><article><p>{body}{CP949_ONLY}</p></article></body></html>"


def read(path: Path, **config) -> tuple[list, dict]:
    reader = InputReader(InputFile.of(path), ReadConfig(**config))
    docs = list(reader)
    return docs, reader.manifest


def outcome(doc) -> tuple[str, str | None]:
    return doc.metadata.get(Meta.OUTCOME, KEPT), doc.metadata.get(Meta.REASON)


def warc_bytes(records: list[tuple[str, str, bytes, str]], gz: bool = True) -> bytes:
    """A WARC with a warcinfo record, then (url, status, body, content type) responses and one request."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz)
    writer.write_record(writer.create_warcinfo_record("test.warc.gz", {"software": "pytest"}))
    for url, status, body, ctype in records:
        http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return buf.getvalue()


# -- sniffing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "uri", "expected"),
    [
        (b"", None, "empty"),
        (b" \n\t ", None, "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", None, "pdf"),
        (b"\x00\x00junk\n%PDF-1.4\n1 0 obj", None, "pdf"),  # readers accept junk before the header
        (b"A note on the header.\n%PDF-1.4 starts every file.\n", None, "text"),
        (bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504, "x.hwp", "hwp"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, None, "gzip"),
        (b"<!DOCTYPE html><html><body><p>hi</p></body></html>", None, "html"),
        (b"  <HTML>\n<HEAD><TITLE>x</TITLE></HEAD>", None, "html"),
        (
            b'<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
            None,
            "html",
        ),
        (b"<span>just a fragment</span>", "file:///a/page.htm", "html"),
        (b"<span>just a fragment</span>", "file:///a/page.txt", "text"),
        (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE us-patent-grant SYSTEM "us-patent-grant-v44.dtd" [ ]>\n'
            b'<us-patent-grant lang="EN">',
            None,
            "patent_xml",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE PATDOC SYSTEM "ST32-US-Grant-025xml.dtd" [\n<!ENTITY x SYSTEM "x">\n]>',
            None,
            "patent_xml",
        ),
        (b'<?xml version="1.0"?><!-- c --><ep-patent-document id="EP1" lang="en">', None, "patent_xml"),
        (b"<patent-application-publication><subdoc-bibliographic-information>", None, "patent_xml"),
        (b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>t</title></channel></rss>', None, "xml"),
        (b"PATN\r\nWKU  057006474\r\nSRC  8\r\n", None, "patent_aps"),
        (b"HHHHHT APS1 1976\nPATN\nWKU  039300001\n", None, "patent_aps"),
        (b"Plain words on a line.\nAnother line.\n", None, "text"),
        ("한국어 평문입니다.".encode("cp949"), None, "text"),
        (b"\xff\xfe" + "<html><body>utf-16</body></html>".encode("utf-16-le"), None, "html"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file:///junk.html", "binary"),
        (bytes(range(1, 32)) * 20, None, "binary"),  # control bytes without a NUL are still not text
    ],
)
def test_sniff_record_literal_bytes(content: bytes, uri: str | None, expected: str) -> None:
    assert sniff_record(content, uri, {}) == expected


def test_sniff_record_content_type_hint_breaks_a_tie() -> None:
    assert sniff_record(b"<b>bold</b> words", None, {"content_type": "text/html; charset=utf-8"}) == "html"
    assert sniff_record(b"<b>bold</b> words", None, {}) == "text"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            compress = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=compress)
    return buf.getvalue()


def test_sniff_record_zips() -> None:
    assert sniff_record(_zip({"mimetype": b"application/hwp+zip", "Contents/content.hpf": b"<x/>"})) == "hwpx"
    assert sniff_record(_zip({"Contents/section0.xml": b"<hs:sec/>"})) == "hwpx"
    assert sniff_record(_zip({"word/document.xml": b"<w:document/>"})) == "zip"


@pytest.mark.parametrize(
    ("head", "uri", "expected"),
    [
        (b"\x1f\x8b\x08\x00\x00\x00", None, "gzip"),
        (b"WARC/1.0\r\nWARC-Type: warcinfo\r\n", None, "warc"),
        (b"WARC/1.1\r\nWARC-Type: response\r\n", "file:///x.bin", "warc"),
        (b"PAR1\x15\x04\x15", None, "parquet"),
        (b'{"text": "a"}\n{"text": "b"}\n', "file:///data.txt", "jsonl"),
        (b'{"text": "a very long first line that the head cuts', "file:///d.jsonl", "jsonl"),
        (b'{\n  "pretty": "one JSON document"\n}\n', "file:///d.json", "record"),
        (b"<html><body>x</body></html>", "file:///d.jsonl", "record"),
        (b"plain text", None, "record"),
    ],
)
def test_sniff_container(head: bytes, uri: str | None, expected: str) -> None:
    assert sniff_container(head, uri) == expected


def test_sniff_real_binary_documents(testdata: Path) -> None:
    hwp = next((testdata / "hwp" / "pyhwp_fixtures").glob("*.hwp"))
    hwpx = next((testdata / "hwp" / "hwpxlib").glob("*.hwpx"))
    pdf = next((testdata / "pdf").rglob("*.pdf"))
    aps = testdata / "patents" / "uspto_docling" / "pftaps057006474.txt"
    assert sniff_record(hwp.read_bytes(), None, {}) == "hwp"
    assert sniff_record(hwpx.read_bytes(), None, {}) == "hwpx"
    assert sniff_record(pdf.read_bytes(), None, {}) == "pdf"
    assert sniff_record(aps.read_bytes(), None, {}) == "patent_aps"
    for xml in (testdata / "patents").rglob("*.xml"):
        expected = "xml" if xml.name.startswith("tables_") else "patent_xml"  # a bare table, not a patent
        assert sniff_record(xml.read_bytes(), None, {}) == expected, xml.name


# -- decoding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "codec"),
    [("EUC-KR", "cp949"), ("ks_c_5601-1987", "cp949"), ("UTF8", "utf-8"), ("ISO-8859-1", "cp1252"), ("nope", None)],
)
def test_normalize_charset(label: str, codec: str | None) -> None:
    assert normalize_charset(label) == codec


def test_cp949_page_with_meta_tag() -> None:
    page = korean_page('<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">').encode("cp949")
    text, encoding = decode_html(page, {})
    assert encoding == "cp949"
    assert CP949_ONLY in text and "대한민국" in text


def test_cp949_page_without_any_declaration_is_detected() -> None:
    text, encoding = decode_html(korean_page().encode("cp949"), {})
    assert encoding == "cp949"
    assert CP949_ONLY in text


def test_header_charset_wins_and_a_lying_header_is_overruled() -> None:
    page = korean_page().encode("cp949")
    assert decode_html(page, {"charset": "euc-kr"}) == (korean_page(), "cp949")
    # the header claims UTF-8 (bytes are CP949): strict decoding fails, the meta tag is next
    lying = korean_page('<meta charset="euc-kr">').encode("cp949")
    assert decode_html(lying, {"content_type": "text/html; charset=UTF-8"})[1] == "cp949"
    # servers that default to ISO-8859-1 for every page: a confident CJK detection wins over that label
    assert decode_html(page, {"charset": "iso-8859-1"})[1] == "cp949"


def test_latin1_page_declared_as_such_stays_latin1() -> None:
    page = "<html><body><p>Le café où l'on déjeune à Paris.</p></body></html>".encode("latin-1")
    text, encoding = decode_html(page, {"charset": "iso-8859-1"})
    assert encoding == "cp1252" and "café où" in text


def test_bom_beats_declarations() -> None:
    page = b"\xef\xbb\xbf" + korean_page('<meta charset="euc-kr">').encode("utf-8")
    text, encoding = decode_html(page, {"charset": "euc-kr"})
    assert encoding == "utf-8" and text.startswith("<html>") and CP949_ONLY in text


def test_broken_bytes_never_raise_and_are_reported() -> None:
    page = korean_page('<meta charset="utf-8">').encode("utf-8")
    broken = page[:200] + b"\xff\xfe\xc3" + page[200:]
    text, encoding = decode_html(broken, {})
    assert encoding == "utf-8+replace"
    assert "\ufffd" in text and CP949_ONLY in text


def test_decode_text_ignores_meta_like_content() -> None:
    text = '내용 <meta charset="iso-8859-1"> 끝'.encode()
    assert decode_text(text, {}) == ('내용 <meta charset="iso-8859-1"> 끝', "utf-8")


# -- discovery -----------------------------------------------------------------------------------


def test_discover_files_dirs_globs_sorted_and_deduplicated(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "deep").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ("a.html", "b/x.jsonl", "b/deep/y.warc.gz", "b/.DS_Store", ".hidden/z.html"):
        (tmp_path / rel).write_bytes(b"x")
    found = discover([str(tmp_path / "b"), str(tmp_path / "*.html"), str(tmp_path / "b" / "x.jsonl")])
    assert [f.path.relative_to(tmp_path).as_posix() for f in found] == ["a.html", "b/deep/y.warc.gz", "b/x.jsonl"]
    assert found[0].uri == (tmp_path / "a.html").as_uri() and found[0].size == 1
    assert discover([str(tmp_path / ".hidden" / "z.html")])[0].path.name == "z.html"  # named explicitly: read


def test_discover_raises_on_a_missing_input(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        discover([str(tmp_path / "nothing_here")])
    with pytest.raises(FileNotFoundError, match=r"\*\.warc"):
        discover([str(tmp_path / "*.warc")])


# -- single-record files -------------------------------------------------------------------------


def test_zero_byte_file_is_dropped_as_empty(tmp_path: Path) -> None:
    (tmp_path / "e.html").write_bytes(b"")
    docs, manifest = read(tmp_path / "e.html")
    assert [outcome(d) for d in docs] == [(DROPPED, "empty")]
    assert manifest["records"] == 1 and manifest["status"] == "read"
    assert manifest["content_hash"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_html_file_is_a_raw_record_with_a_stable_id(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(korean_page().encode("utf-8"))
    first, manifest = read(path)
    again, _ = read(path)
    (doc,) = first
    assert doc.id == again[0].id == doc_id(path.absolute().as_uri(), "")
    assert re.fullmatch(r"[0-9a-f]{16}", doc.id)
    assert doc.text == "" and doc.metadata[Meta.RAW] == path.read_bytes()
    assert doc.metadata[Meta.FORMAT] == "html" and doc.metadata["raw_size"] == path.stat().st_size
    assert manifest["format"] == "html" and manifest["status"] == "read"


def test_binary_junk_named_html_passes_the_reader_raw(tmp_path: Path) -> None:
    path = tmp_path / "junk.html"
    path.write_bytes(bytes(range(256)) * 40)
    (doc,) = read(path)[0]
    assert outcome(doc) == (KEPT, None) and doc.metadata[Meta.FORMAT] == "binary"


def test_plain_text_file_is_decoded_here(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(("제목\n" + KOREAN * 3 + CP949_ONLY).encode("cp949"))
    (doc,), manifest = read(path, default_source_kind="report")
    assert doc.text.startswith("제목\n대한민국") and doc.text.endswith(CP949_ONLY)
    assert doc.metadata[Meta.FORMAT] == "text" and doc.metadata[Meta.SOURCE_KIND] == "report"
    assert manifest["format"] == "text"


def test_gzipped_html_is_detected_by_magic_not_name(tmp_path: Path) -> None:
    path = tmp_path / "page.data"
    page = korean_page().encode("utf-8")
    path.write_bytes(gzip.compress(page))
    (doc,), manifest = read(path)
    assert doc.metadata[Meta.RAW] == page and manifest["format"] == "html.gz"


def test_truncated_gzip_fails_with_its_error(tmp_path: Path) -> None:
    path = tmp_path / "page.html.gz"
    path.write_bytes(gzip.compress(korean_page().encode("utf-8"))[:-20])
    (doc,), manifest = read(path)
    assert outcome(doc) == (FAILED, "truncated_input")
    assert "ended before" in doc.metadata[Meta.ERROR]
    assert manifest["status"] == "failed" and "ended before" in manifest["error"]


def test_50_mb_page_is_too_large_and_never_loaded(tmp_path: Path) -> None:
    path = tmp_path / "huge.html"
    with path.open("wb") as f:
        f.write(b"<html><body><p>" + b"words " * 2_000)  # an HTML head for the sniffer, then a sparse tail
        f.truncate(50_000_000)  # sparse: no 50 MB written to disk or held anywhere
    tracemalloc.start()
    try:
        (doc,), manifest = read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome(doc) == (DROPPED, "too_large")
    assert doc.metadata["raw_size"] == 50_000_000 and Meta.RAW not in doc.metadata
    assert peak < 5_000_000  # 8 KB sniff + 1 MiB hash chunks, never the page
    assert manifest["format"] == "html" and manifest["size_bytes"] == 50_000_000


def test_gzipped_page_over_the_cap_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.html.gz"
    path.write_bytes(gzip.compress(b"<html><body>" + b"a" * 30_000))
    (doc,), _ = read(path, max_record_bytes=10_000)
    assert outcome(doc) == (DROPPED, "too_large") and doc.metadata["raw_size"] == 30_012


# -- WARC ----------------------------------------------------------------------------------------

PAGES = [
    ("http://example.kr/a", "200 OK", korean_page().encode("cp949"), "text/html; charset=euc-kr"),
    ("http://example.kr/missing", "404 Not Found", b"<html><body>Not found</body></html>", "text/html"),
    ("http://example.kr/logo.png", "200 OK", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
    ("http://example.kr/b", "200 OK", b"<html><body><p>English page</p></body></html>", "text/html"),
]


def test_warc_responses_become_documents_and_every_response_is_accounted(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(warc_bytes(PAGES))
    docs, manifest = read(path)
    assert [(d.metadata[Meta.URL], outcome(d)) for d in docs] == [
        ("http://example.kr/a", (KEPT, None)),
        ("http://example.kr/missing", (DROPPED, "http_status")),
        ("http://example.kr/logo.png", (DROPPED, "unsupported_content_type")),
        ("http://example.kr/b", (KEPT, None)),
    ]
    page = docs[0]
    assert page.metadata[Meta.RAW] == PAGES[0][2]
    assert page.metadata[Meta.RAW_HINTS] == {"content_type": "text/html; charset=euc-kr", "charset": "euc-kr"}
    assert manifest == {**manifest, "format": "warc.gz", "status": "read", "records": 4, "error": None}
    assert [d.id for d in read(path)[0]] == [d.id for d in docs]  # ids are stable across reads
    assert len({d.id for d in docs}) == 4


def test_uncompressed_warc_is_read_by_content(tmp_path: Path) -> None:
    path = tmp_path / "crawl.bin"
    path.write_bytes(warc_bytes(PAGES[:1], gz=False))
    docs, manifest = read(path)
    assert len(docs) == 1 and manifest["format"] == "warc"


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_warc_yields_the_records_before_the_cut_and_one_failure(tmp_path: Path, gz: bool) -> None:
    pages = [(f"http://example.kr/{i}", "200 OK", korean_page().encode("utf-8"), "text/html") for i in range(6)]
    data = warc_bytes(pages, gz=gz)
    path = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    path.write_bytes(data[: len(data) * 2 // 3])
    docs, manifest = read(path)
    *good, last = docs
    assert 1 <= len(good) < 6
    assert all(outcome(d) == (KEPT, None) for d in good)
    assert [d.metadata[Meta.URL] for d in good] == [f"http://example.kr/{i}" for i in range(len(good))]
    assert outcome(last) == (FAILED, "truncated_input") and last.metadata[Meta.ERROR]
    assert manifest["status"] == "partial" and manifest["records"] == len(docs)


def test_warc_record_over_the_cap_is_too_large_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "big.warc.gz"
    big = b"<html><body><p>" + b"x" * 50_000 + b"</p></body></html>"
    path.write_bytes(warc_bytes([("http://example.kr/big", "200 OK", big, "text/html"), *PAGES[3:]]))
    docs, _ = read(path, max_record_bytes=20_000)
    assert [outcome(d) for d in docs] == [(DROPPED, "too_large"), (KEPT, None)]
    assert docs[0].metadata["raw_size"] > 50_000


# -- JSONL and Parquet ---------------------------------------------------------------------------


def jsonl(lines: list) -> bytes:
    return "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines).encode()


def test_jsonl_records_bad_lines_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(
        jsonl(
            [
                {"id": "doc-1", "text": "첫 번째 문서", "url": "https://a.kr/1", "source_kind": "web"},
                "{not json",
                "",
                {"text": "second"},
                {"text": 42},
                ["a", "list"],
                {"text": "   "},
            ]
        )
    )
    docs, manifest = read(path)
    assert [outcome(d) for d in docs] == [
        (KEPT, None),
        (DROPPED, "bad_record"),
        (KEPT, None),
        (DROPPED, "bad_record"),
        (DROPPED, "bad_record"),
        (DROPPED, "empty"),
    ]
    first, _, second = docs[:3]
    assert first.text == "첫 번째 문서" and first.metadata[Meta.URL] == "https://a.kr/1"
    assert first.metadata[Meta.SOURCE_KIND] == "web" and first.metadata[Meta.FORMAT] == "text"
    assert second.metadata[Meta.SOURCE_KIND] == "text"  # ReadConfig.default_source_kind
    assert first.id == doc_id(path.absolute().as_uri(), "doc-1") and second.id == doc_id(path.absolute().as_uri(), 4)
    assert manifest["records"] == 6 and manifest["status"] == "read" and manifest["error"].startswith("3 bad line")


def test_jsonl_lone_surrogate_escapes_are_replaced_not_fatal(tmp_path: Path) -> None:
    # json.loads keeps "\\ud800" as a lone surrogate, which no UTF-8 writer accepts; once it failed the file
    path = tmp_path / "data.jsonl"
    path.write_bytes(
        b'{"id": "a\\udc80", "text": "Hello \\ud800 world", "url": "https://x.kr/\\ud800"}\n'
        b'{"text": "paired \\ud83d\\ude00 emoji"}\n'
    )
    docs, manifest = read(path)
    assert [outcome(d) for d in docs] == [(KEPT, None), (KEPT, None)] and manifest["status"] == "read"
    first, second = docs
    assert first.text == "Hello \ufffd world" and first.metadata[Meta.URL] == "https://x.kr/\ufffd"
    assert first.metadata[Meta.EXTRACT_META] == {"lone_surrogates_replaced": 1}
    assert second.text == "paired \U0001f600 emoji" and Meta.EXTRACT_META not in second.metadata
    assert first.text.encode("utf-8") and first.id == doc_id(path.absolute().as_uri(), "a\ufffd")


def test_jsonl_gz_truncated_keeps_the_lines_before_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl.gz"
    lines = [{"text": f"문서 {i} " + KOREAN * 5} for i in range(200)]
    path.write_bytes(gzip.compress(jsonl(lines))[:-200])
    docs, manifest = read(path)
    *good, last = docs
    assert len(good) > 100 and all(outcome(d) == (KEPT, None) for d in good)
    assert [d.text for d in good] == [line["text"] for line in lines[: len(good)]]
    assert outcome(last) == (FAILED, "truncated_input") and manifest["status"] == "partial"


def test_jsonl_oversized_line_is_skipped_without_losing_the_next(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(jsonl([{"text": "a" * 5_000}, {"text": "short"}]))
    docs, _ = read(path, max_record_bytes=1_000)
    assert [outcome(d) for d in docs] == [(DROPPED, "too_large"), (KEPT, None)]
    assert docs[0].metadata["raw_size"] == 10 + 5_000 + 3  # '{"text": "', the a's, '"}' and the newline
    assert docs[1].text == "short"


def test_parquet_is_read_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    n = 2_500  # spans three 1,024-row batches
    table = pa.table({"text": [f"행 {i}" for i in range(n)], "url": [f"https://a.kr/{i}" for i in range(n)]})
    pq.write_table(table, path, row_group_size=1_000)
    docs, manifest = read(path)
    assert [d.text for d in docs] == [f"행 {i}" for i in range(n)]
    assert docs[7].metadata[Meta.URL] == "https://a.kr/7" and docs[7].id == doc_id(path.absolute().as_uri(), 7)
    assert manifest["format"] == "parquet" and manifest["records"] == n


def test_parquet_without_the_text_column_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"body": ["x"]}), path)
    (doc,), manifest = read(path)
    assert outcome(doc) == (FAILED, "read_error") and "no column 'text'" in doc.metadata[Meta.ERROR]
    assert manifest["status"] == "failed"


def test_corrupt_parquet_fails_without_raising(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"text": ["x"] * 100}), path)
    path.write_bytes(path.read_bytes()[:60])  # magic kept, footer gone
    (doc,), manifest = read(path)
    assert outcome(doc)[0] == FAILED and manifest["status"] == "failed" and manifest["content_hash"]
