"""Patent full text: USPTO XML (v1.x, v2.5, v4.x) and APS text, EPO publication XML.

Every format yields the same fields: title, abstract, description (tables as ``a | b | c`` rows),
claims (one string per claim), plus document number, kind code, country, publication and filing
dates, classifications (IPC, CPC, USPC, Locarno) and language. The document text is
title, abstract, description and claims in publication order, sections separated by a blank line.

Formats (element names from the USPTO "Red Book" DTDs and the EPO ep-patent-document DTD):
- ``us-patent-grant`` / ``us-patent-application``: XML v4.x, 2005- (design patents included);
- ``PATDOC``: grant XML v2.5 (2002-2004, ST.32 "B" tags: B110 number, B540 title, SDOAB ...);
- ``patent-application-publication``: application XML v1.x (2001-2004);
- ``ep-patent-document``: EPO publication server XML, DTD v1.0-1.5.1 (several claim languages:
  the claims in the document's language are kept);
- APS "green book" text (1976-2001 grants): four-character field codes (``TTL``, ``ABST``,
  ``BSUM``, ``DETD``, ``CLMS``, ``PAR`` ...) with continuation lines indented.
XML goes through ``safe_xml`` (no external entities, no DTD loading, bounded expansion).
USPTO weekly bulk files concatenate many XML documents: ``split_xml_documents`` splits them; an
extractor given such a file extracts the first and records ``doc_count`` (one record per file).
Reference implementation consulted for the formats: docling's ``uspto_backend.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from dataflow.config import ExtractConfig
from dataflow.extractors.result import Extraction
from dataflow.extractors.safe_xml import BadXML, EntityText, UnsafeXML, local_name, parse_xml

# elements whose text stands as its own line (lower-cased local names across all schemas)
_BLOCK = frozenset(
    "p heading para h paragraph claim-text clmstep li dt dd title caption description-of-drawings".split()  # noqa: SIM905
)
# elements whose text is not prose: paragraph numbers ("[0001]" in v1.x), images, drawing stubs
_SKIP = frozenset(["number", "img", "image", "emi", "figure", "ul-style"])
_TABLE = frozenset(("table",))
_ROW = frozenset(("row", "tr"))
_CELL = frozenset(("entry", "td", "th"))


@dataclass
class PatentDoc:
    """The fields of one patent publication, whatever its source format."""

    schema: str
    recovered: bool = False  # the XML was not well-formed; libxml2's recovery mode read it
    title: str = ""
    abstract: list[str] = field(default_factory=list)  # paragraphs
    description: list[str] = field(default_factory=list)  # paragraphs, headings and table rows
    claims: list[str] = field(default_factory=list)  # one string per claim
    doc_number: str = ""
    kind: str = ""
    country: str = ""
    publication_date: str = ""
    filing_date: str = ""
    application_number: str = ""
    language: str = ""
    classification: dict[str, list[str]] = field(default_factory=dict)

    def text(self) -> str:
        sections = [self.title, "\n".join(self.abstract), "\n".join(self.description), "\n".join(self.claims)]
        return "\n\n".join(s for s in sections if s)

    def metadata(self, with_fields: bool) -> dict:
        meta = {
            "title": self.title,
            "doc_number": self.doc_number,
            "kind": self.kind,
            "country": self.country,
            "publication_date": self.publication_date,
            "filing_date": self.filing_date,
            "application_number": self.application_number,
            "language": self.language,
            "classification": {k: v for k, v in self.classification.items() if v},
            "patent_schema": self.schema,
            "claim_count": len(self.claims),
        }
        if self.recovered:
            meta["xml_recovered"] = True
        if with_fields:
            meta.update(
                abstract="\n".join(self.abstract), description="\n".join(self.description), claims=list(self.claims)
            )
        return meta


# ---------------------------------------------------------------- text of XML elements


def _norm(s: str) -> str:
    return " ".join(s.split())


class _Blocks:
    """Turns an element subtree into lines: block elements break lines, tables become rows."""

    def __init__(self, ents: EntityText):
        self.ents = ents

    def __call__(self, el: etree._Element | None) -> list[str]:
        if el is None:
            return []
        out: list[str] = []
        buf: list[str] = []
        self._walk(el, buf, out)
        self._flush(buf, out)
        return out

    @staticmethod
    def _flush(buf: list[str], out: list[str]) -> None:
        line = _norm("".join(buf))
        if line:
            out.append(line)
        buf.clear()

    def _walk(self, el: etree._Element, buf: list[str], out: list[str]) -> None:
        if el.text:
            buf.append(el.text)
        for child in el:
            if child.tag is etree.Entity:
                buf.append(self.ents.entity(child.name))
            elif isinstance(child.tag, str):
                tag = local_name(child.tag).lower()
                if tag in _SKIP:
                    pass
                elif tag in _TABLE:
                    self._flush(buf, out)
                    out.extend(self.table_rows(child))
                elif tag == "br":
                    self._flush(buf, out)
                elif tag in _BLOCK:
                    self._flush(buf, out)
                    self._walk(child, buf, out)
                    self._flush(buf, out)
                else:  # inline markup: b, i, sub, sup, figref, HIL, PDAT, ...
                    self._walk(child, buf, out)
            if child.tail:
                buf.append(child.tail)

    def table_rows(self, table: etree._Element) -> list[str]:
        """A CALS (``row``/``entry``) or HTML (``tr``/``td``) table as ``a | b | c`` lines."""
        rows = []
        for row in table.iter():
            if not isinstance(row.tag, str) or local_name(row.tag).lower() not in _ROW:
                continue
            cells = [" ".join(self(c)) for c in row if isinstance(c.tag, str) and local_name(c.tag).lower() in _CELL]
            cells = [c for c in cells if c]  # spacer and spanned-over cells are empty: readable rows skip them
            if cells:
                rows.append(" | ".join(cells))
        return rows

    def line(self, el: etree._Element | None) -> str:
        return " ".join(self(el))


def table_rows(table: etree._Element, ents: EntityText | None = None) -> list[str]:
    """Rows of a CALS/HTML table element as readable ``a | b | c`` lines."""
    return _Blocks(ents or EntityText()).table_rows(table)


def _iso(date: str) -> str:
    """YYYYMMDD -> YYYY-MM-DD (left as is when not 8 digits)."""
    date = date.strip()
    return f"{date[:4]}-{date[4:6]}-{date[6:]}" if re.fullmatch(r"\d{8}", date) else date


def _find(el: etree._Element | None, path: str) -> etree._Element | None:
    return None if el is None else el.find(path)


def _txt(blocks: _Blocks, el: etree._Element | None, path: str = "") -> str:
    node = _find(el, path) if path else el
    return blocks.line(node) if node is not None else ""


def _all(blocks: _Blocks, el: etree._Element | None, path: str) -> list[str]:
    return [] if el is None else [t for t in (blocks.line(n) for n in el.findall(path)) if t]


# ---------------------------------------------------------------- USPTO XML v4.x


def _ipcr(b: _Blocks, c: etree._Element) -> str:
    """<classification-ipcr>/<classification-cpc> parts -> 'A01C 7/20'."""
    parts = {t: _txt(b, c, t) for t in ("section", "class", "subclass", "main-group", "subgroup")}
    return f"{parts['section']}{parts['class']}{parts['subclass']} {parts['main-group']}/{parts['subgroup']}".strip()


def _uspto_v4(root: etree._Element, b: _Blocks) -> PatentDoc:
    bib = root.find("us-bibliographic-data-grant")
    if bib is None:
        bib = root.find("us-bibliographic-data-application")
    pub = _find(bib, "publication-reference/document-id")
    app = _find(bib, "application-reference/document-id")
    cls = {
        "ipc": [_ipcr(b, c) for c in bib.findall("classifications-ipcr/classification-ipcr")]
        + _all(b, bib, "classification-ipc/main-classification")
        + _all(b, bib, "classification-ipc/further-classification"),
        "cpc": [_ipcr(b, c) for c in bib.iterfind("classifications-cpc//classification-cpc")],
        "uspc": _all(b, bib, "classification-national/main-classification")
        + _all(b, bib, "classification-national/further-classification"),
        "locarno": _all(b, bib, "classification-locarno/main-classification"),
    }
    return PatentDoc(
        schema="uspto-v4",
        title=_txt(b, bib, "invention-title"),
        abstract=b(root.find("abstract")),
        description=b(root.find("description")),
        claims=[b.line(c) for c in root.iterfind("claims/claim")],
        doc_number=_txt(b, pub, "doc-number"),
        kind=_txt(b, pub, "kind"),
        country=_txt(b, pub, "country") or root.get("country", ""),
        publication_date=_iso(_txt(b, pub, "date") or root.get("date-publ", "")),
        filing_date=_iso(_txt(b, app, "date")),
        application_number=_txt(b, app, "doc-number"),
        language=root.get("lang", "").lower(),
        classification=cls,
    )


# ---------------------------------------------------------------- USPTO grant XML v2.5 (PATDOC)


def _uspto_v25(root: etree._Element, b: _Blocks) -> PatentDoc:
    bib = root.find("SDOBI")
    return PatentDoc(
        schema="uspto-v2.5",
        title=_txt(b, bib, "B500/B540"),
        abstract=b(root.find("SDOAB")),
        description=b(root.find("SDODE")),
        claims=[b.line(c) for c in root.iterfind("SDOCL/CL/CLM")],
        doc_number=_txt(b, bib, "B100/B110"),
        kind=_txt(b, bib, "B100/B130"),
        country=_txt(b, bib, "B100/B190") or "US",
        publication_date=_iso(_txt(b, bib, "B100/B140")),
        filing_date=_iso(_txt(b, bib, "B200/B220")),
        application_number=_txt(b, bib, "B200/B210"),
        language="en",
        classification={
            "ipc": _all(b, bib, "B500/B510/B511") + _all(b, bib, "B500/B510/B512"),
            "uspc": _all(b, bib, "B500/B520/B521") + _all(b, bib, "B500/B520/B522"),
        },
    )


# ---------------------------------------------------------------- USPTO application XML v1.x


def _uspto_v1(root: etree._Element, b: _Blocks) -> PatentDoc:
    bib = root.find("subdoc-bibliographic-information")
    tech = _find(bib, "technical-information")
    doc_id = _find(bib, "document-id")
    filing = _find(bib, "domestic-filing-data")
    return PatentDoc(
        schema="uspto-v1",
        title=_txt(b, tech, "title-of-invention"),
        abstract=b(root.find("subdoc-abstract")),
        description=b(root.find("subdoc-description")),
        claims=[b.line(c) for c in root.iterfind("subdoc-claims/claim")],
        doc_number=_txt(b, doc_id, "doc-number"),
        kind=_txt(b, doc_id, "kind-code"),
        country="US",
        publication_date=_iso(_txt(b, doc_id, "document-date")),
        filing_date=_iso(_txt(b, filing, "filing-date")),
        application_number=_txt(b, filing, "application-number/doc-number"),
        language="en",
        classification={
            "ipc": _all(b, tech, "classification-ipc/classification-ipc-primary/ipc")
            + _all(b, tech, "classification-ipc/classification-ipc-secondary/ipc"),
            "uspc": _all(b, tech, "classification-us/classification-us-primary/uspc")
            + _all(b, tech, "classification-us/classification-us-secondary/uspc"),
        },
    )


# ---------------------------------------------------------------- EPO ep-patent-document


def _epo(root: etree._Element, b: _Blocks) -> PatentDoc:
    bib = root.find("SDOBI")
    lang = root.get("lang", "").lower()
    # B540 alternates <B541>lang</B541><B542>title</B542>; prefer the document language, then English
    titles: dict[str, str] = {}
    current = ""
    for node in _find(bib, "B500/B540") if _find(bib, "B500/B540") is not None else []:
        if node.tag == "B541":
            current = _txt(b, node).lower()
        elif node.tag == "B542":
            titles.setdefault(current, _txt(b, node))
    title = titles.get(lang) or titles.get("en") or next(iter(titles.values()), "")
    claim_sets = root.findall("claims")
    claims_el = next(
        (c for c in claim_sets if c.get("lang", "").lower() == lang), claim_sets[0] if claim_sets else None
    )
    claims = []
    for c in claims_el.iterfind("claim") if claims_el is not None else []:
        line = b.line(c)
        num = c.get("num", "").lstrip("0")
        claims.append(f"{num}. {line}" if num and not line.startswith(num) else line)
    abstracts = root.findall("abstract")
    abstract_el = next((a for a in abstracts if a.get("lang", "").lower() == lang), abstracts[0] if abstracts else None)
    ipc = [_norm(t) for t in _all(b, bib, "B500/B510EP/classification-ipcr/text")]
    ipc += _all(b, bib, "B500/B510/B511") + _all(b, bib, "B500/B510/B512")
    return PatentDoc(
        schema="epo",
        title=title,
        abstract=b(abstract_el),
        description=b(root.find("description")),
        claims=claims,
        doc_number=root.get("doc-number", "") or _txt(b, bib, "B100/B110"),
        kind=root.get("kind", "") or _txt(b, bib, "B100/B130"),
        country=root.get("country", "") or _txt(b, bib, "B100/B190"),
        publication_date=_iso(root.get("date-publ", "") or _txt(b, bib, "B100/B140/date")),
        filing_date=_iso(_txt(b, bib, "B200/B220/date")),
        application_number=_txt(b, bib, "B200/B210"),
        language=lang,
        classification={
            "ipc": ipc,
            "cpc": [_norm(t) for t in _all(b, bib, "B500/B520EP/classifications-cpc/classification-cpc/text")],
        },
    )


_SCHEMAS = {
    "us-patent-grant": _uspto_v4,
    "us-patent-application": _uspto_v4,
    "PATDOC": _uspto_v25,
    "patent-application-publication": _uspto_v1,
    "ep-patent-document": _epo,
}
ROOT_TAGS = frozenset(_SCHEMAS)  # root elements this module reads (for format sniffing)


def split_xml_documents(content: bytes) -> list[bytes]:
    """Split a USPTO bulk file (XML documents concatenated, each with its own declaration)."""
    starts = [m.start() for m in re.finditer(rb"(?:^|\n)\s*<\?xml[\s?]", content)]
    if len(starts) <= 1:
        return [content]
    starts[0] = 0
    return [content[a:b].strip() for a, b in zip(starts, [*starts[1:], len(content)], strict=True)]


def parse_patent_xml(content: bytes) -> PatentDoc:
    """Parse one patent XML document into its fields.

    Raises:
        UnsafeXML, BadXML: from ``safe_xml.parse_xml``.
        ValueError: the root element is not a known patent schema.
    """
    root, ents = parse_xml(content, recover=True)
    tag = local_name(root.tag) if isinstance(root.tag, str) else ""
    if tag not in _SCHEMAS:
        raise ValueError(f"not a patent document: root element <{tag}>")
    if ents.recovered and f"</{tag}>".encode() not in content[-4096:]:
        # recovery repairs a stray "&" or "<"; it must not turn a cut-off file into half a patent
        raise BadXML(f"truncated: no closing </{tag}>")
    doc = _SCHEMAS[tag](root, _Blocks(ents))
    doc.recovered = ents.recovered
    return doc


def _result(doc: PatentDoc, fmt: str, config: ExtractConfig, extra: dict | None = None) -> Extraction:
    kind = config.patent.source_kind
    text = doc.text()
    if not text.strip():
        return Extraction(None, fmt, kind, doc.metadata(False), reason="no_main_text")
    meta = doc.metadata(config.patent.fields_in_metadata)
    meta.update(extra or {})
    return Extraction(text, fmt, kind, meta)


def extract_patent_xml(content: bytes, uri: str | None, hints: dict, config: ExtractConfig) -> Extraction:
    """USPTO or EPO patent XML -> text and fields (see the module docstring)."""
    kind = config.patent.source_kind
    if not content.strip():
        return Extraction(None, "patent_xml", kind, reason="empty")
    docs = split_xml_documents(content)
    try:
        doc = parse_patent_xml(docs[0])
    except (UnsafeXML, BadXML) as err:
        return Extraction(None, "patent_xml", kind, {"detail": str(err)[:200]}, reason=err.reason)
    except ValueError as err:
        return Extraction(None, "patent_xml", kind, {"detail": str(err)[:200]}, reason="not_a_patent")
    return _result(doc, "patent_xml", config, {"doc_count": len(docs)} if len(docs) > 1 else None)


# ---------------------------------------------------------------- APS green-book text

_APS_FIELD = re.compile(r"^([A-Z][A-Z0-9]{2,3})\s?(?: (.*))?$")
_APS_SECTIONS = frozenset(
    "PATN INVT ASSG PRIR REIS RLAP CLAS UREF FREF OREF LREP PCTA ABST GOVT PARN BSUM DRWD DETD CLMS DCLM".split()  # noqa: SIM905
)
# TBL/TBL3 (fixed-width ASCII tables, unreadable once lines are joined) are left out
_APS_TEXT = frozenset(["PAR", "PAC", "PAL", "PA0", "PA1", "PA2", "PA3", "PA4", "PA5", "EQU", "STM"])
_APS_PLACEHOLDER = re.compile(r"##(?:STR|EQU|CHM|TBL)\d+##")  # chemical structures, equations, tables


def _aps_records(text: str) -> Iterable[tuple[str, str, str]]:
    """(section, field code, value) for each field; indented continuation lines are joined."""
    section, code, value = "", "", []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if raw[:1] != " " and (m := _APS_FIELD.match(raw.rstrip())):
            if code:
                yield section, code, " ".join(value)
            code, value = m.group(1), [m.group(2) or ""]
            if code in _APS_SECTIONS:
                section, code, value = code, "", []
        else:
            value.append(raw.strip())
    if code:
        yield section, code, " ".join(value)


def parse_aps(text: str) -> PatentDoc:
    """One APS patent (``PATN`` ... up to the next ``PATN``) into its fields."""
    doc = PatentDoc(schema="uspto-aps", country="US", language="en")
    uspc: list[str] = []
    ipc: list[str] = []
    claim: list[str] = []
    for section, code, value in _aps_records(text):
        value = _norm(_APS_PLACEHOLDER.sub(" ", value))
        if not value and code != "NUM":
            continue
        if section == "PATN":
            if code == "WKU":
                doc.doc_number = value
            elif code == "TTL":
                doc.title = value
            elif code == "ISD":
                doc.publication_date = _iso(value)
            elif code == "APD":
                doc.filing_date = _iso(value)
            elif code == "APN":
                doc.application_number = value
        elif section == "CLAS":
            if code in ("OCL", "XCL"):
                uspc.append(value)
            elif code == "ICL":
                ipc.append(value)
        elif section == "ABST" and code in _APS_TEXT:
            doc.abstract.append(value)
        elif section in ("GOVT", "PARN", "BSUM", "DRWD", "DETD") and code in _APS_TEXT:
            doc.description.append(value)
        elif section in ("CLMS", "DCLM"):
            if code == "NUM":
                if claim:
                    doc.claims.append(" ".join(claim))
                claim = []
            elif code in _APS_TEXT and code != "STM":
                claim.append(value)
    if claim:
        doc.claims.append(" ".join(claim))
    doc.classification = {"uspc": uspc, "ipc": ipc}
    return doc


def extract_patent_aps(content: bytes, uri: str | None, hints: dict, config: ExtractConfig) -> Extraction:
    """USPTO APS green-book text (1976-2001 grants) -> text and fields."""
    kind = config.patent.source_kind
    text = content.decode("utf-8", errors="replace")
    # APS files are ASCII in practice; a weekly file holds many patents, each starting at "PATN"
    patents = [p for p in re.split(r"(?m)^(?=PATN\s*$)", text) if p.strip().startswith("PATN")]
    if not patents:
        return Extraction(None, "patent_aps", kind, reason="empty" if not text.strip() else "not_a_patent")
    extra = {"doc_count": len(patents)} if len(patents) > 1 else None
    return _result(parse_aps(patents[0]), "patent_aps", config, extra)


__all__ = [
    "ROOT_TAGS",
    "PatentDoc",
    "extract_patent_aps",
    "extract_patent_xml",
    "parse_aps",
    "parse_patent_xml",
    "split_xml_documents",
    "table_rows",
]
