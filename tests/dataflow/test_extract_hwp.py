"""HWP 5 records, HWP/HWPX extraction, protected documents and zip bombs."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest

from dataflow.config import ExtractConfig
from dataflow.extractors.hwp import extract_hwp, extract_hwpx
from dataflow.extractors.hwp_records import (
    CTRL_HEADER,
    LIST_HEADER,
    PARA_HEADER,
    PARA_TEXT,
    TABLE_RECORD,
    SectionText,
    para_text,
    parse_records,
    section_text,
)

CFG = ExtractConfig()
NAMED_REASONS = {"no_main_text", "encrypted", "distribution_protected", "corrupt_hwp", "corrupt_hwpx"}


def rec(tag: int, level: int, data: bytes) -> bytes:
    """One HWP record: tag 10 bits, level 10 bits, size 12 bits (0xFFF = a DWORD size follows)."""
    if len(data) >= 0xFFF:
        return struct.pack("<II", tag | level << 10 | 0xFFF << 20, len(data)) + data
    return struct.pack("<I", tag | level << 10 | len(data) << 20) + data


def wide(code: int, payload: bytes = b"\x00" * 12) -> bytes:
    """An 8-WCHAR inline/extended control: code, 12 bytes, code."""
    return struct.pack("<H", code) + payload + struct.pack("<H", code)


def utf16(s: str) -> bytes:
    return s.encode("utf-16-le")


def cell(row: int, col: int, text: str, level: int) -> bytes:
    header = struct.pack("<HHIHH", 1, 0, 0, col, row) + b"\x00" * 22
    return (
        rec(LIST_HEADER, level, header)
        + rec(PARA_HEADER, level, b"\x00" * 22)
        + rec(PARA_TEXT, level + 1, utf16(text + "\r"))
    )


def test_para_text_skips_controls_and_keeps_tabs():
    data = utf16("가") + wide(9) + utf16("나") + wide(11, b"tbl " + b"\x00" * 8) + utf16("다\r")
    assert para_text(data) == ["가", "\t", "나", None, "다", ""]


def test_extended_record_size():
    big = utf16("한" * 3000)  # 6000 bytes > 0xFFF: the size moves to a second DWORD
    records = parse_records(rec(PARA_HEADER, 0, b"") + rec(PARA_TEXT, 1, big))
    assert [r.tag for r in records] == [PARA_HEADER, PARA_TEXT] and len(records[1].data) == 6000


def test_section_with_table_and_footnote():
    table_ctrl = b" lbt" + b"\x00" * 40  # ids are stored byte-reversed
    note_ctrl = b"  nf" + b"\x00" * 8
    stream = (
        rec(PARA_HEADER, 0, b"\x00" * 22)
        + rec(
            PARA_TEXT,
            1,
            utf16("본문") + wide(11, b" lbt" + b"\x00" * 8) + wide(17, b"  nf" + b"\x00" * 8) + utf16("\r"),
        )
        + rec(CTRL_HEADER, 1, table_ctrl)
        + rec(TABLE_RECORD, 2, b"\x00" * 20)
        + cell(0, 0, "A0", 2)
        + cell(0, 1, "B0", 2)
        + cell(1, 0, "A1", 2)
        + cell(1, 1, "", 2)
        + rec(CTRL_HEADER, 1, note_ctrl)
        + rec(LIST_HEADER, 2, b"\x00" * 8)
        + rec(PARA_HEADER, 2, b"\x00" * 22)
        + rec(PARA_TEXT, 3, utf16("각주입니다.\r"))
        + rec(PARA_HEADER, 0, b"\x00" * 22)[:5]  # a truncated trailing record is ignored
    )
    out = SectionText()
    section_text(stream, out)
    assert out.body == ["본문", "A0 | B0", "A1"]
    assert out.notes == ["각주입니다."]
    assert out.tables == 1


def _fixture(testdata, rel: str) -> bytes:
    return (testdata / "hwp" / rel).read_bytes()


def test_hello_world_first_paragraph(testdata):
    facts = json.loads((testdata / "hwp/hwp-rs/expected_header_facts.json").read_text())[
        "project/files/hello_world.hwp"
    ]
    r = extract_hwp(_fixture(testdata, "hwp-rs/project/files/hello_world.hwp"), None, {}, CFG)
    assert r.ok and r.text.split("\n")[0] == facts["section0_paragraph0_text"]
    assert r.metadata["hwp_version"] == facts["version"] and r.metadata["sections"] == facts["sections"]
    assert r.source_kind == "report" and r.format == "hwp"


def test_password_protected_is_encrypted(testdata):
    r = extract_hwp(_fixture(testdata, "pyhwp_fixtures/password-12345.hwp"), None, {}, CFG)
    assert r.text is None and r.reason == "encrypted"


def test_distribution_document_is_named_not_garbled(testdata):
    # the Hancom 배포용 spec file is not redistributable; set FileHeader's distribution bit (bit 2)
    # in a real file instead: flags are the DWORD 36 bytes after the signature
    data = bytearray(_fixture(testdata, "hwp-rs/project/files/hello_world.hwp"))
    at = data.index(b"HWP Document File") + 36
    data[at] |= 0b100
    r = extract_hwp(bytes(data), None, {}, CFG)
    assert r.text is None and r.reason == "distribution_protected"


def test_footnotes_and_endnotes_follow_the_body(testdata):
    r = extract_hwp(_fixture(testdata, "pyhwp_fixtures/footnote-endnote.hwp"), None, {}, CFG)
    body, notes = r.text.split("\n\n")
    assert body.split("\n") == ["각주참조", "미주참조"]
    assert "각주입니다." in notes and "미주 두 번째입니다." in notes
    assert r.metadata["notes"] == 4


def test_table_cells_and_old_hangul(testdata):
    r = extract_hwp(_fixture(testdata, "pyhwp_fixtures/sample-5017.hwp"), None, {}, CFG)
    lines = r.text.split("\n")
    assert "A0 | B0" in lines
    pytest.importorskip("hypua2jamo")
    assert "\uf53a" not in r.text and "\u1112\u119e\u11ab글" in r.text  # Hanyang PUA -> ᄒᆞᆫ글 (as pyhwp's XHTML)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_hwp(testdata, cut):
    data = _fixture(testdata, "pyhwp_fixtures/sample-5017.hwp")
    r = extract_hwp(data[: int(len(data) * cut)], None, {}, CFG)
    assert r.text is None and r.reason == "corrupt_hwp"


@pytest.mark.parametrize(
    ("content", "reason"), [(b"", "empty"), (b"\x00" * 64, "empty"), (b"<html>x</html>", "corrupt_hwp")]
)
def test_empty_and_not_hwp(content, reason):
    assert extract_hwp(content, None, {}, CFG).reason == reason


def _hwpx(section_xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/hwp+zip")
        z.writestr("Contents/section0.xml", section_xml)
    return buf.getvalue()


NS = b'xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph"'


def test_hwpx_paragraphs_tables_and_notes():
    xml = (
        b"<hs:sec " + NS + b"><hp:p><hp:run><hp:t>\xec\x95\x88\xeb\x85\x95<hp:tab/>x</hp:t>"
        b"<hp:ctrl><hp:footNote><hp:subList><hp:p><hp:run><hp:t>note</hp:t></hp:run></hp:p></hp:subList></hp:footNote></hp:ctrl>"
        b"<hp:tbl><hp:tr><hp:tc><hp:subList><hp:p><hp:run><hp:t>a</hp:t></hp:run></hp:p></hp:subList></hp:tc>"
        b"<hp:tc><hp:subList><hp:p><hp:run><hp:t>b</hp:t></hp:run></hp:p></hp:subList></hp:tc></hp:tr></hp:tbl>"
        b"</hp:run></hp:p></hs:sec>"
    )
    r = extract_hwpx(_hwpx(xml), None, {}, CFG)
    assert r.ok and r.text == "안녕\tx\na | b\n\nnote"
    assert r.metadata["tables"] == 1 and r.metadata["notes"] == 1


def test_hwpx_zip_bomb_is_refused_fast():
    # 256 MiB of zeros deflate to ~1 MB: over the 100 MB member cap, refused from the declared size
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z,
        z.open("Contents/section0.xml", "w", force_zip64=True) as f,
    ):
        for _ in range(64):
            f.write(bytes(1 << 22))
    assert len(buf.getvalue()) < 2_000_000
    r = extract_hwpx(buf.getvalue(), "bomb.hwpx", {}, CFG)
    assert r.text is None and r.reason == "zip_bomb"


def test_hwpx_member_cap_applies_to_what_is_read():
    cfg = ExtractConfig()
    cfg.hwp.max_uncompressed_bytes = 1000  # the budget over all members
    xml = b"<hs:sec " + NS + b"><hp:p><hp:run><hp:t>" + b"x" * 5000 + b"</hp:t></hp:run></hp:p></hs:sec>"
    assert extract_hwpx(_hwpx(xml), None, {}, cfg).reason == "zip_bomb"


def test_hwpx_xxe_is_refused(tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:SECRET-LINE")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE hs:sec [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
        + b"<hs:sec "
        + NS
        + b"><hp:p><hp:run><hp:t>a &x; b</hp:t></hp:run></hp:p></hs:sec>"
    )
    r = extract_hwpx(_hwpx(xml), None, {}, CFG)
    assert r.reason == "malicious_xml" and "SECRET" not in repr(r)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"not a zip at all"])
def test_hwpx_empty_and_corrupt(content):
    r = extract_hwpx(content, None, {}, CFG)
    assert r.text is None and r.reason == ("empty" if not content else "corrupt_hwpx")


def test_hwpx_real_documents(testdata):
    table = extract_hwpx(_fixture(testdata, "hwpxlib/reader_writer_SimpleTable.hwpx"), None, {}, CFG)
    assert table.text.split("\n")[0] == "1 | 2"
    hf = extract_hwpx(_fixture(testdata, "hwpxlib/reader_writer_HeaderFooter.hwpx"), None, {}, CFG)
    assert "머리말 테스트" in hf.text and "꼬리말" in hf.text
    std = extract_hwpx(_fixture(testdata, "hwpxlib/error_20230818_test.hwpx"), None, {}, CFG)
    assert std.text.startswith("공공데이터 제공 표준") and std.metadata["tables"] > 0


def test_every_hwp_fixture_gives_text_or_a_named_reason(testdata):
    for path in sorted((testdata / "hwp").rglob("*")):
        if path.suffix not in (".hwp", ".hwpx"):
            continue
        fn = extract_hwpx if path.suffix == ".hwpx" else extract_hwp
        r = fn(path.read_bytes(), str(path), {}, CFG)
        assert r.error is None
        assert (r.ok and r.text.strip()) or r.reason in NAMED_REASONS, (path.name, r.reason)
