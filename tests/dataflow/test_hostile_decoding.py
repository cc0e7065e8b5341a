"""Decoding traps and the one-record API: NUL bytes, mixed UTF-8/EUC-KR pages, containers, gzip, the cap."""

from __future__ import annotations

import gzip
import json

from dataflow.config import ReadConfig
from dataflow.extractors import CONTAINER, extract, extract_records
from dataflow.readers.decode import decode_detail, decode_mixed, utf8_share
from dataflow.readers.sniff import sniff_record

UTF8_PARAS = [f"<p>정상적인 UTF-8 문단 {i}번: 시청 앞 광장에서 주말 장터가 열린다.</p>\n" for i in range(8)]
EUC_PARA = "<p>옛 누리집에서 붙여 넣은 문단입니다. 똠방각하 같은 확장 음절도 있다.</p>\n"


def mixed_page(euc_paragraphs: int = 1) -> bytes:
    head = b"<html><head><meta charset='utf-8'><title>t</title></head><body>\n"
    body = b"".join(p.encode() for p in UTF8_PARAS[:4])
    body += EUC_PARA.encode("cp949") * euc_paragraphs
    body += b"".join(p.encode() for p in UTF8_PARAS[4:])
    return head + body + b"</body></html>"


def test_a_mixed_page_keeps_every_paragraph_and_counts_the_repair():
    d = decode_detail(mixed_page())
    assert d.encoding == "utf-8+cp949" and d.repaired_spans == 1
    assert all(p.strip() in d.text for p in UTF8_PARAS)
    assert EUC_PARA.strip() in d.text  # UHC extension syllables (똠) included: no character split
    assert decode_detail(mixed_page(3)).repaired_spans == 3


def test_a_whole_cp949_page_still_decodes_as_cp949():
    page = ("<html><body>" + "".join(UTF8_PARAS) + "</body></html>").encode("cp949")
    assert utf8_share(page) < 0.5
    d = decode_detail(page)
    assert d.encoding == "cp949" and d.repaired_spans == 0 and UTF8_PARAS[0].strip() in d.text


def test_junk_bytes_are_replaced_not_dressed_up_as_legacy_text():
    text, spans, replaced = decode_mixed("가나 ".encode() + b"\xff\xfe" + " 다라".encode(), "cp949")
    assert spans == 0 and replaced == 1 and text.startswith("가나 ") and "\ufffd" in text


def test_nul_bytes_are_stripped_and_the_page_is_text():
    page = "<html><body><p>널 문자가\x00 섞인\x00 정상 문서입니다.</p>\x00\x00\x00</body></html>".encode()
    assert sniff_record(page) == "html"
    d = decode_detail(page)
    assert d.nul_bytes == 5 and "\x00" not in d.text and "섞인 정상" in d.text
    article = "".join(p.replace("문단", "문단\x00") for p in UTF8_PARAS)
    ex = extract(f"<html><head><title>t</title></head><body><article>{article}</article></body></html>".encode())
    assert ex.ok and "\x00" not in ex.text and "정상적인 UTF-8 문단 7번" in ex.text
    text = extract("평범한 글\x00입니다.\n".encode(), "notes.txt")
    assert text.ok and text.text.startswith("평범한 글입니다")
    assert sniff_record(b"\x00" * 40 + b"abc") == "binary"  # mostly NULs is still binary


def test_utf16_without_a_bom_is_not_mistaken_for_text_with_leaked_nuls():
    assert sniff_record("page 문서 ".encode("utf-16-le") * 50) == "binary"  # ~40% NULs: not a leak


def test_extract_unwraps_gzip_and_caps_sizes_as_a_run_does():
    page = ("<html><body><article>" + "".join(UTF8_PARAS) + "</article></body></html>").encode()
    plain, gz = extract(page), extract(gzip.compress(page))
    assert gz.ok and gz.text == plain.text and gz.format == "html"
    small = ReadConfig(max_record_bytes=len(page) - 1)
    assert extract(page, read=small).reason == "too_large"  # raw page over the cap
    assert extract(gzip.compress(page), read=small).reason == "too_large"  # inflated past the cap
    cut = gzip.compress(page)[:-30]
    assert extract(cut).reason == "truncated_input"


def test_a_jsonl_file_is_a_container_with_one_result_per_line():
    lines = [json.dumps({"id": f"r{i}", "text": f"{i}번째 문서입니다."}, ensure_ascii=False) for i in range(3)]
    content = ("\n".join(lines) + "\n{broken\n").encode()
    ex = extract(content, "file:///x.jsonl")
    assert ex.reason == CONTAINER and ex.metadata["container"] == "jsonl" and ex.metadata["records"] == 4
    records = list(extract_records(content, "file:///x.jsonl"))
    assert [r.extraction.text for r in records[:3]] == [f"{i}번째 문서입니다." for i in range(3)]
    assert records[3].extraction.reason == "bad_record"
    assert len({r.id for r in records}) == 4


def test_nested_gzip_is_one_level_as_in_a_run():
    page = ("<html><body><article>" + "".join(UTF8_PARAS) + "</article></body></html>").encode()
    ex = extract(gzip.compress(gzip.compress(page)))
    assert not ex.ok and ex.reason == "unsupported_format"  # a gzip inside a gzip: not unwrapped twice


def test_a_malformed_warc_record_fails_the_file_with_where_it_stopped():
    bad = b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99999999999\r\n\r\nshort"  # no WARC-Target-URI
    (rec,) = list(extract_records(bad, "file:///bad.warc"))
    assert rec.extraction.reason == "read_error"
    assert rec.extraction.error.startswith("malformed WARC after 0 record(s): ")
    assert extract(bad, "file:///bad.warc").reason == "read_error"  # not "container": nothing was read
    assert extract(b"PAR1" + bytes(100) + b"PAR1", "file:///x.parquet").reason == "read_error"
