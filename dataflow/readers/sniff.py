"""Format detection from content: magic bytes and structure first, the file extension only as a tie-breaker.

Two questions, two pure functions:

* ``sniff_container(head, uri)``: how to *read* a file (``gzip``, ``warc``, ``jsonl``, ``parquet``, or
  ``record`` for a file that is one document);
* ``sniff_record(content, uri, hints)``: what one record *is* (``html``, ``text``, ``pdf``, ``hwp``,
  ``hwpx``, ``patent_xml``, ``patent_aps``, ``xml``, ``zip``, ``gzip``, ``binary`` or ``empty``), which
  picks the extractor in ``dataflow.extractors.EXTRACTORS``.

Magic numbers: PDF ``%PDF-`` (ISO 32000-1 §7.5.2; readers accept it within the first 1024 bytes),
OLE2 compound file ``D0 CF 11 E0 A1 B1 1A E1`` (HWP 5.0 is an OLE2 file with a ``FileHeader`` stream,
Hancom's HWP 5.0 specification §2), zip ``PK\\x03\\x04`` (HWPX/OWPML is a zip whose first, stored member
``mimetype`` reads ``application/hwp+zip``, KS X 6101), gzip ``1F 8B`` (RFC 1952), Parquet ``PAR1``,
WARC ``WARC/1.x`` (ISO 28500). Patent roots are those of the USPTO full-text XML DTDs (grant/application
v4.x, PATDOC v2.5, pap v1.x) and the EPO publication server DTD; USPTO APS "green book" text starts
with a ``PATN`` record (or the ``HHHHHT`` header of the weekly files).
"""

from __future__ import annotations

import codecs
import io
import json
import re
import zipfile

SNIFF_BYTES = 8192  # a few KB decide every format below; HTML puts its markers in the first KB

PDF_MAGIC = b"%PDF-"
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
HWPX_MIMETYPE = b"application/hwp+zip"
BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),  # before utf-16-le: its BOM starts the same way
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
PATENT_ROOTS = frozenset(
    {
        "us-patent-grant",  # USPTO grant XML v4.x (2005-)
        "us-patent-application",  # USPTO application XML v4.x (2005-)
        "PATDOC",  # USPTO grant XML v2.5 (2002-2004)
        "patent-application-publication",  # USPTO application XML v1.x (2001-2004)
        "ep-patent-document",  # EPO publication server
    }
)
# bytes that never occur in text: C0 controls except \t \n \v \f \r and ESC (ISO-2022-KR uses it)
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27)) + b"\x7f"
_MAX_CONTROL_SHARE = 0.05  # random bytes have ~10% of these; real text has none
_MAX_NUL_SHARE = 0.2  # NULs leaked into UTF-8 text; UTF-16 (no BOM) has ~50%, binary formats vary
_HTML_RE = re.compile(
    rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta\s|<title[\s>]|<div[\s>]|<p[\s>]|<br\s*/?>|<a\s+href",
    re.IGNORECASE,
)
_XML_NAME_RE = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE\s+([A-Za-z_][\w.:-]*)", re.IGNORECASE)
_HTML_EXTENSIONS = (".html", ".htm", ".xhtml", ".shtml", ".php", ".asp", ".aspx", ".jsp")
_JSONL_EXTENSIONS = (".jsonl", ".ndjson")


def _path_of(uri: str | None) -> str:
    """The lowercased path part of a URI without query, fragment or a trailing .gz."""
    path = (uri or "").split("?", 1)[0].split("#", 1)[0].lower()
    return path[:-3] if path.endswith(".gz") else path


def strip_bom(content: bytes) -> tuple[bytes, str | None]:
    """(content without its byte-order mark, the encoding the mark names or None)."""
    for bom, encoding in BOMS:
        if content.startswith(bom):
            return content[len(bom) :], encoding
    return content, None


def _is_binary(head: bytes) -> bool:
    """Control bytes over 5% of the head. NUL bytes in what is otherwise valid UTF-8 are a CMS leak
    that decoding strips (``dataflow.readers.decode``), not a sign of a binary file, up to a share
    that UTF-16 without a byte-order mark (every other byte NUL) never stays under."""
    if not head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL))
    if controls / len(head) <= _MAX_CONTROL_SHARE:
        return False
    nuls = head.count(b"\x00")
    if not nuls or nuls / len(head) > _MAX_NUL_SHARE or (controls - nuls) / len(head) > _MAX_CONTROL_SHARE:
        return True
    try:  # valid UTF-8 once the NULs are gone (a head may end inside a character)
        codecs.getincrementaldecoder("utf-8")().decode(head.replace(b"\x00", b""), final=False)
    except UnicodeDecodeError:
        return True
    return False


def _is_pdf(content: bytes) -> bool:
    """%PDF- first, or (as readers allow) later in the first KB after junk bytes, but not inside prose."""
    if strip_bom(content)[0].lstrip()[:5] == PDF_MAGIC:
        return True
    at = content.find(PDF_MAGIC, 0, 1024)
    return at > 0 and content[at - 1 : at] in (b"\n", b"\r") and _is_binary(content[:at])


def _skip_prolog(head: bytes) -> bytes:
    """Drop leading whitespace, XML declaration, processing instructions and comments."""
    text = head.lstrip()
    while True:
        if text.startswith(b"<?"):
            end = text.find(b"?>")
        elif text.startswith(b"<!--"):
            end = text.find(b"-->")
        else:
            return text
        if end < 0:
            return b""
        text = text[end + 2 :].lstrip().lstrip(b">").lstrip()


def xml_root(head: bytes) -> str | None:
    """Name of the root element of an XML head (the DOCTYPE name when there is one), or None."""
    body = _skip_prolog(head)
    doctype = _DOCTYPE_RE.match(body)
    if doctype:
        return doctype.group(1).decode("ascii", "replace")
    match = _XML_NAME_RE.match(body)
    return match.group(1).decode("ascii", "replace") if match else None


def _zip_kind(content: bytes) -> str:
    """hwpx for an OWPML zip (``mimetype`` member or ``Contents/section0.xml``), else zip."""
    # fast path: OWPML stores 'mimetype' first and uncompressed, so its bytes sit right after the
    # 30-byte local header, the name (length at offset 26) and the extra field (length at offset 28)
    name_len = int.from_bytes(content[26:28], "little")
    extra_len = int.from_bytes(content[28:30], "little")
    if content[30 : 30 + name_len] == b"mimetype":
        start = 30 + name_len + extra_len
        if content[start : start + len(HWPX_MIMETYPE)] == HWPX_MIMETYPE:
            return "hwpx"
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == HWPX_MIMETYPE:
                return "hwpx"
            if "Contents/section0.xml" in names:
                return "hwpx"
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError):
        pass
    return "zip"


def _ole_kind(content: bytes) -> str:
    """hwp when the OLE2 file holds HWP 5's ``FileHeader`` stream, else binary (Word 97, Excel, ...)."""
    try:
        import olefile

        with olefile.OleFileIO(io.BytesIO(content)) as ole:
            return "hwp" if ole.exists("FileHeader") else "binary"
    except Exception:  # olefile raises assorted errors on cut or odd files; the magic still says OLE2
        return "hwp"


def _text_kind(head: bytes, uri: str | None, hints: dict) -> str:
    """Kinds of records that are text: html, xml, patent_xml, patent_aps or plain text."""
    body = head.lstrip()
    if body.startswith(b"HHHHHT") or re.match(rb"(?:[^\n]*\n){0,20}PATN\s*\r?\n", body):
        return "patent_aps"
    root = xml_root(body) if body.startswith(b"<") else None
    if root is not None:
        if root in PATENT_ROOTS:
            return "patent_xml"
        if root.lower() == "html":
            return "html"
        if body.startswith(b"<?xml"):
            return "xml"  # declared XML whose root is not html: RSS, sitemaps, office XML, ...
    if _HTML_RE.search(body):
        return "html"
    path = _path_of(uri)
    content_type = str(hints.get("content_type") or "").lower()
    if body.startswith(b"<") and (path.endswith(_HTML_EXTENSIONS) or "html" in content_type):
        return "html"  # an HTML fragment without the usual markers: the name or header breaks the tie
    if root is not None and (path.endswith(".xml") or "xml" in content_type):
        return "xml"
    return "text"


def sniff_record(content: bytes, uri: str | None = None, hints: dict | None = None) -> str:
    """Format of one record's bytes (see the module docstring for the names)."""
    hints = hints or {}
    if not content or not content.strip():
        return "empty"
    if content.startswith(GZIP_MAGIC):
        return "gzip"
    if _is_pdf(content):
        return "pdf"
    if content.startswith(OLE2_MAGIC):
        return _ole_kind(content)
    if content.startswith(ZIP_MAGIC):
        return _zip_kind(content)
    head, bom = strip_bom(content[:SNIFF_BYTES])
    if bom and bom != "utf-8":
        # UTF-16/32 text: sniff on its ASCII-compatible transcoding
        head = head.decode(bom, errors="replace").encode("utf-8")
    elif _is_binary(head):
        return "binary"
    return _text_kind(head, uri, hints)


def sniff_container(head: bytes, uri: str | None = None) -> str:
    """How a file is read: gzip, warc, parquet, jsonl or record (the file is one record).

    ``head`` is the first bytes of the file (after gzip decompression when asking about the inner
    stream); a few KB are enough.
    """
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    body, _ = strip_bom(head)
    if body.startswith(b"WARC/1.") or body.startswith(b"WARC/0."):
        return "warc"
    body = body.lstrip()
    if body[:1] == b"{":
        try:
            if isinstance(json.loads(body.split(b"\n", 1)[0]), dict):
                return "jsonl"
        except ValueError:
            pass
        # a first line longer than the head, or a broken first line: the name decides (a .json file
        # that is one pretty-printed object stays a record)
        if _path_of(uri).endswith(_JSONL_EXTENSIONS):
            return "jsonl"
    return "record"
