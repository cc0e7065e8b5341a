"""Bytes to text for web pages and plain text, with Korean legacy encodings decoded correctly.

The order follows the HTML standard's encoding sniffing algorithm (WHATWG HTML §13.2.3.2): a byte-order
mark wins, then the transport layer's charset (HTTP ``Content-Type``, carried by WARC records), then a
``<meta charset>`` / ``http-equiv`` declaration in the first bytes, then detection. Each declared
charset is only used if the bytes really decode with it (pages often lie); detection tries strict
UTF-8 first (the most common encoding by far), then faust-cchardet (fast, C), then charset_normalizer.

Labels map through the WHATWG Encoding Standard's table where it matters: ``euc-kr`` and its aliases
(``ks_c_5601-1987``, ``korean``, ...) decode as CP949 (Windows-949, the Unified Hangul Code superset
that browsers use: EUC-KR's KS X 1001 only has 2,350 of the 11,172 syllables), and ``iso-8859-1`` /
``ascii`` decode as Windows-1252. Nothing here raises: the last resort is UTF-8 with replacement
characters, reported as ``utf-8+replace`` so callers can count it.
"""

from __future__ import annotations

import codecs
import re

from dataflow.readers.sniff import strip_bom

META_SCAN_BYTES = 4096  # WHATWG prescans 1024 bytes; real pages put <meta charset> after long <head> scripts
DETECT_BYTES = 65536  # detectors converge long before this; bounds their cost on big pages
REPLACED = "+replace"  # suffix of the encoding name when undecodable bytes were replaced

# WHATWG Encoding Standard label -> the Python codec browsers effectively use
_ALIASES = {
    "euc-kr": "cp949",
    "euc_kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "korean": "cp949",
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "uhc": "cp949",
    "iso-ir-149": "cp949",
    "csksc56011987": "cp949",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",  # what codecs.lookup calls latin-1 and its aliases
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "x-user-defined": "cp1252",
    "gb2312": "gb18030",  # superset, as browsers do
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "euc-jp": "euc_jis_2004",
}
# detections strong enough to overrule a windows-1252 label: multibyte CJK codecs
_MULTIBYTE = frozenset({"cp949", "gb18030", "big5", "cp932", "euc_jis_2004", "iso2022_kr"})
_META_RE = re.compile(rb"<meta[^>]{0,512}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.+-]{2,40})", re.IGNORECASE)
_HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.+-]{2,40})", re.IGNORECASE)


def normalize_charset(label: str | None) -> str | None:
    """Python codec name for a charset label, after the WHATWG aliases; None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    name = _ALIASES.get(name, name)  # codecs.lookup('euc-kr') gives 'euc_kr'; map it again
    return "utf-8" if name in ("utf_8", "utf-8") else name


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of an HTTP/WARC ``Content-Type`` header value, if any."""
    match = _HEADER_CHARSET_RE.search(content_type or "")
    return match.group(1) if match else None


def meta_charset(content: bytes) -> str | None:
    """Charset declared by ``<meta charset=...>`` or ``<meta http-equiv=Content-Type content=...>``."""
    match = _META_RE.search(content[:META_SCAN_BYTES])
    return match.group(1).decode("ascii") if match else None


def _try(content: bytes, encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return content.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def detect_charset(content: bytes) -> str | None:
    """Best guess of the encoding of undeclared, non-UTF-8 bytes (cchardet, then charset_normalizer)."""
    sample = content[:DETECT_BYTES]
    try:
        import cchardet

        guess = normalize_charset((cchardet.detect(sample) or {}).get("encoding"))
        if guess and _try(sample, guess) is not None:
            return guess
    except ImportError:  # faust-cchardet is optional; charset_normalizer is a hard dependency of requests
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return normalize_charset(best.encoding) if best is not None else None


def _declared(content: bytes, hints: dict, scan_meta: bool) -> list[str]:
    labels = [hints.get("charset"), charset_from_content_type(hints.get("content_type"))]
    if scan_meta:
        labels.append(meta_charset(content))
    found: list[str] = []
    for label in labels:
        name = normalize_charset(label)
        if name in ("utf_16", "utf_16_le", "utf_16_be", "utf_32"):
            name = "utf-8"  # WHATWG: a utf-16 label without a BOM means the bytes are really ASCII-compatible
        if name and name not in found:
            found.append(name)
    return found


def decode_bytes(content: bytes, hints: dict | None = None, scan_meta: bool = True) -> tuple[str, str]:
    """(text, encoding used) for raw bytes; see the module docstring for the order. Never raises."""
    hints = hints or {}
    body, bom = strip_bom(content)
    if bom:
        return body.decode(bom, errors="replace"), bom
    declared = _declared(content, hints, scan_meta)
    # windows-1252 (what an iso-8859-1 label means) decodes almost any bytes, and it is the default
    # of old servers that send it for Korean pages too: it goes after UTF-8 and after a CJK detection
    strong = [e for e in declared if e != "cp1252"]
    for encoding in dict.fromkeys([*strong, "utf-8"]):
        text = _try(content, encoding)
        if text is not None:
            return text, encoding
    guess = detect_charset(content)
    order = [guess, *declared] if guess in _MULTIBYTE else [*declared, guess]
    for encoding in order:
        text = _try(content, encoding)
        if text is not None:
            return text, encoding or ""
    # nothing decodes cleanly: keep the first declared (else detected, else UTF-8) reading, bad bytes replaced
    fallback = next((e for e in [*declared, guess] if e), "utf-8")
    return content.decode(fallback, errors="replace"), fallback + REPLACED


def decode_html(content: bytes, hints: dict | None = None) -> tuple[str, str]:
    """(text, encoding used) for an HTML page: BOM, header charset, meta charset, detection."""
    return decode_bytes(content, hints, scan_meta=True)


def decode_text(content: bytes, hints: dict | None = None) -> tuple[str, str]:
    """(text, encoding used) for plain text: as ``decode_html`` without looking for meta tags."""
    return decode_bytes(content, hints, scan_meta=False)
