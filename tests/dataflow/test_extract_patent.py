"""Patent XML / APS extraction and the hardened XML parser it shares with HWPX."""

from __future__ import annotations

import re

import pytest

from dataflow.config import ExtractConfig
from dataflow.extractors.patent import extract_patent_aps, extract_patent_xml, split_xml_documents, table_rows
from dataflow.extractors.safe_xml import BadXML, UnsafeXML, parse_xml

CFG = ExtractConfig()

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    )
    + b"]>\n<us-patent-grant><lolz>&lol9;</lolz></us-patent-grant>"
)

# a minimal v2.5 grant: DOCTYPE naming an external DTD, NDATA drawing entities, ISO entities from that DTD
PATDOC = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE PATDOC SYSTEM "ST32-US-Grant-025xml.dtd" [
<!ENTITY US1-D00001.TIF SYSTEM "US1-D00001.TIF" NDATA TIF>
]>
<PATDOC DTD="2.5"><SDOBI><B100><B110><DNUM><PDAT>01234567</PDAT></DNUM></B110><B130><PDAT>B1</PDAT></B130>
<B140><DATE><PDAT>20020827</PDAT></DATE></B140></B100>
<B500><B540><STEXT><PDAT>Turbo &agr; widget</PDAT></STEXT></B540></B500></SDOBI>
<SDOAB><BTEXT><PARA><PTEXT><PDAT>x &equals; y&lsqb;1&rsqb;</PDAT></PTEXT></PARA></BTEXT></SDOAB>
<SDOCL><CL><CLM><PARA><PTEXT><PDAT>1. A widget.</PDAT></PTEXT></PARA></CLM></CL></SDOCL></PATDOC>
"""


def test_billion_laughs_fails_fast_as_malicious():
    with pytest.raises(UnsafeXML):
        parse_xml(BILLION_LAUGHS)
    r = extract_patent_xml(BILLION_LAUGHS, None, {}, CFG)
    assert r.text is None and r.reason == "malicious_xml"


@pytest.mark.parametrize(
    "decl",
    [
        '<!ENTITY xxe SYSTEM "file://{path}">',  # external general entity
        '<!ENTITY % pe SYSTEM "file://{path}"> %pe;',  # parameter entity (out-of-band XXE)
    ],
)
def test_xxe_never_leaks_a_local_file(tmp_path, decl):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE us-patent-grant [\n{decl.format(path=secret)}\n]>\n'
        "<us-patent-grant><us-bibliographic-data-grant><invention-title>T &xxe;</invention-title>"
        "</us-bibliographic-data-grant><abstract><p>A &xxe; B</p></abstract></us-patent-grant>"
    ).encode()
    r = extract_patent_xml(doc, None, {}, CFG)
    assert r.reason == "malicious_xml"
    assert "TOP-SECRET" not in repr(r)


def test_doctype_with_external_dtd_and_ndata_entities_parses():
    r = extract_patent_xml(PATDOC, None, {}, CFG)
    assert r.ok, r
    assert r.metadata["title"] == "Turbo α widget"  # ISO 8879 &agr; resolved without the DTD
    assert r.metadata["abstract"] == "x = y[1]"
    assert r.metadata["doc_number"] == "01234567" and r.metadata["kind"] == "B1"
    assert r.metadata["publication_date"] == "2002-08-27"
    assert r.metadata["claims"] == ["1. A widget."]
    assert r.source_kind == "patent"


def test_short_literal_internal_entity_is_expanded_but_nesting_is_not():
    ok = b'<!DOCTYPE r [<!ENTITY co "Acme Inc.">]><r>by &co;</r>'
    root, ents = parse_xml(ok)
    assert ents.text(root) == "by Acme Inc."
    with pytest.raises(UnsafeXML):
        parse_xml(b'<!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;">]><r>&b;</r>')


@pytest.mark.parametrize("content", [b"", b"   \n", b"<us-patent-grant><abstract><p>cut off"])
def test_empty_and_truncated(content):
    r = extract_patent_xml(content, None, {}, CFG)
    assert r.text is None and r.reason in ("empty", "malformed_xml")
    assert r.reason == ("malformed_xml" if content.strip() else "empty")


def test_not_xml_and_not_a_patent():
    with pytest.raises(BadXML):
        parse_xml(b"%PDF-1.7 not xml")
    assert extract_patent_xml(b"<html><body>x</body></html>", None, {}, CFG).reason == "not_a_patent"


def test_concatenated_bulk_file_extracts_first_and_counts():
    second = PATDOC.replace(b"01234567", b"07654321")
    r = extract_patent_xml(PATDOC + b"\n" + second, None, {}, CFG)
    assert r.ok and r.metadata["doc_number"] == "01234567" and r.metadata["doc_count"] == 2
    assert len(split_xml_documents(PATDOC + b"\n" + second)) == 2


def _groundtruth(testdata, stem):
    md = (testdata / "patents/uspto_docling" / f"{stem}.groundtruth.md").read_text(encoding="utf-8")
    title = md.splitlines()[0].removeprefix("# ")
    claims = md.split("### CLAIMS", 1)[1].split("\n## ", 1)[0]
    return title, len(re.findall(r"(?m)^\d+\. ", claims))


@pytest.mark.parametrize(
    ("name", "schema", "doc_number", "kind"),
    [
        ("ipa20180000016.xml", "uspto-v4", "20180000016", "A1"),
        ("ipa20200022300.xml", "uspto-v4", "20200022300", "A1"),
        ("pa20010031492.xml", "uspto-v1", "20010031492", "A1"),
        ("pg06442728.xml", "uspto-v2.5", "06442728", "B1"),
        ("pftaps057006474.txt", "uspto-aps", "057006474", ""),
    ],
)
def test_uspto_titles_and_claims_match_docling_groundtruth(testdata, name, schema, doc_number, kind):
    path = testdata / "patents/uspto_docling" / name
    fn = extract_patent_aps if name.endswith(".txt") else extract_patent_xml
    r = fn(path.read_bytes(), str(path), {}, CFG)
    title, n_claims = _groundtruth(testdata, name.rsplit(".", 1)[0])
    assert r.ok
    m = r.metadata
    assert m["title"] == title
    assert m["patent_schema"] == schema and m["doc_number"] == doc_number and m["kind"] == kind
    assert m["claim_count"] == n_claims
    assert r.text.startswith(title) and m["abstract"][:40] in r.text and m["claims"][-1] in r.text


def test_uspto_design_patent_and_classifications(testdata):
    path = testdata / "patents/uspto_docling/ipgD0701016.xml"
    r = extract_patent_xml(path.read_bytes(), str(path), {}, CFG)
    assert r.ok and r.metadata["kind"] == "S1" and r.metadata["doc_number"] == "D0701016"
    assert r.metadata["title"] == "Cheese in form of a triangular pyramid"
    assert r.metadata["classification"]["locarno"] == ["0101"]
    assert len(r.metadata["claims"]) == 1


def test_uspto_tables_become_rows(testdata):
    from lxml import etree

    path = testdata / "patents/uspto_docling/tables_ipa20180000016.xml"
    rows = table_rows(etree.fromstring(path.read_bytes()))
    assert rows[0] == "TABLE 1"  # the empty offset column is dropped
    assert "Example 2 | 50 | 10 | 28.5 | 67.1 | 21.7 | 2.4 | 3.1 | 34.0 | 450.0" in rows  # one row per line


@pytest.mark.parametrize(
    ("name", "doc_number", "kind", "lang"),
    [
        ("application/v1-0-A1.xml", "1325900", "A1", "en"),  # asserted by go-epo-eps's tests (SOURCES.md)
        ("application/v1-2-A1.xml", "1921219", "A1", "en"),  # not well-formed (a bare "&"): recovered
        ("grant/v1-5-1-B2.xml", "2716170", "B2", "de"),
    ],
)
def test_epo_numbers_kinds_and_language(testdata, name, doc_number, kind, lang):
    path = testdata / "patents/epo_eps" / name
    r = extract_patent_xml(path.read_bytes(), str(path), {}, CFG)
    assert r.ok
    assert (r.metadata["doc_number"], r.metadata["kind"], r.metadata["country"]) == (doc_number, kind, "EP")
    assert r.metadata["language"] == lang
    assert r.metadata["claims"][0].startswith("1. ")


def test_epo_german_grant_keeps_german_title_and_claims(testdata):
    path = testdata / "patents/epo_eps/grant/v1-5-1-B2.xml"
    r = extract_patent_xml(path.read_bytes(), str(path), {}, CFG)
    assert r.metadata["title"] == "Vorrichtung zum Transport von band- oder streifenförmigem Material"
    assert "Vorrichtung" in r.metadata["claims"][0]


def test_every_patent_file_parses_or_names_its_reason(testdata):
    for path in sorted((testdata / "patents").rglob("*")):
        if path.suffix not in (".xml", ".txt"):
            continue
        fn = extract_patent_aps if path.suffix == ".txt" else extract_patent_xml
        r = fn(path.read_bytes(), str(path), {}, CFG)
        assert r.ok or r.reason == "not_a_patent", (path.name, r.reason)
        assert r.error is None


def test_fields_in_metadata_can_be_turned_off():
    cfg = ExtractConfig()
    cfg.patent.fields_in_metadata = False
    r = extract_patent_xml(PATDOC, None, {}, cfg)
    assert r.ok and "claims" not in r.metadata and "Turbo" in r.text
