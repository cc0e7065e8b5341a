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

Two traps are repaired rather than passed on. NUL bytes (a C string terminator some CMSs leak into
pages) are removed before decoding any ASCII-compatible encoding: a valid UTF-8 page with five of
them is text, not binary. A page that is mostly UTF-8 with a paragraph pasted from an EUC-KR source
fails strict UTF-8 and, decoded as CP949 as a whole, would turn every valid paragraph into mojibake;
it is decoded word by word instead (``decode_mixed``): each run of letters and non-ASCII bytes that is
valid UTF-8 stays UTF-8, each other run is decoded with the declared or detected legacy codec, and
the number of repaired spans is reported (encoding ``utf-8+cp949``).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

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
_HIGH = bytes(range(128, 256))
_WORD_RE = re.compile(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*")  # words with a non-ASCII byte
# a page whose non-ASCII bytes are at least this share valid UTF-8 is UTF-8 with foreign spans; a CP949 page
# has few of its bytes in accidental UTF-8 pairs, a UTF-8 page with one EUC-KR paragraph of ten most of them
MIXED_UTF8_SHARE = 0.5


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


@dataclass(frozen=True)
class Decoded:
    """Decoded text with what it took: the encoding, mixed-encoding spans repaired, NUL bytes removed."""

    text: str
    encoding: str
    repaired_spans: int = 0
    nul_bytes: int = 0

    def repairs(self) -> dict[str, int]:
        """The repairs counted, for a record's metadata: empty when nothing was repaired."""
        if not (self.repaired_spans or self.nul_bytes):
            return {}
        return {"repaired_spans": self.repaired_spans, "nul_bytes": self.nul_bytes}


def utf8_share(content: bytes) -> float:
    """Share of the non-ASCII bytes that sit in valid UTF-8 sequences (1.0 for ASCII-only bytes)."""
    non_ascii = len(content) - len(content.translate(None, _HIGH))
    if not non_ascii:
        return 1.0
    invalid = sum(1 for ch in content.decode("utf-8", errors="surrogateescape") if "\udc80" <= ch <= "\udcff")
    return 1.0 - invalid / non_ascii


def decode_mixed(content: bytes, legacy: str) -> tuple[str, int, int]:
    """(text, repaired spans, words replaced): UTF-8 where a word is valid UTF-8, else ``legacy``, else
    U+FFFD replacement characters (junk bytes are not dressed up as legacy text).

    Words are runs of ASCII letters and non-ASCII bytes: the separators (space, markup, digits,
    punctuation; bytes 0x00-0x40, 0x5B-0x60, 0x7B-0x7F) are never inside a UTF-8 sequence, nor inside a
    CP949 character, whose trail byte is a letter or >= 0x81 (the Unified Hangul Code extension uses
    0x41-0x5A and 0x61-0x7A), so no character is split."""
    out: list[str] = []
    spans, replaced, last, previous_legacy = 0, 0, 0, False
    for match in _WORD_RE.finditer(content):
        word, gap = match.group(), content[last : match.start()].decode("ascii")
        out.append(gap)
        last = match.end()
        text = _try(word, "utf-8")
        if text is not None:
            out.append(text)
            previous_legacy = False
        else:
            repaired = _try(word, legacy)
            if repaired is None:
                out.append(word.decode("utf-8", errors="replace"))
                replaced += 1
                previous_legacy = False
                continue
            out.append(repaired)
            # words of one span: no line break or tag between them (an ASCII word may sit inside)
            spans += 0 if previous_legacy and "\n" not in gap and "<" not in gap else 1
            previous_legacy = True
    out.append(content[last:].decode("ascii"))
    return "".join(out), spans, replaced


def decode_bytes(content: bytes, hints: dict | None = None, scan_meta: bool = True) -> tuple[str, str]:
    """(text, encoding used) for raw bytes; see the module docstring for the order. Never raises."""
    d = decode_detail(content, hints, scan_meta)
    return d.text, d.encoding


def decode_detail(content: bytes, hints: dict | None = None, scan_meta: bool = True) -> Decoded:
    """``Decoded`` text of raw bytes, with the repairs counted; see the module docstring. Never raises."""
    hints = hints or {}
    body, bom = strip_bom(content)
    if bom:
        return Decoded(body.decode(bom, errors="replace"), bom)
    nuls = content.count(b"\x00")
    if nuls:
        content = content.replace(b"\x00", b"")  # no BOM: an ASCII-compatible encoding, where NUL is never text
    text, encoding, spans = _decode(content, hints, scan_meta)
    return Decoded(text, encoding, spans, nuls)


def _decode(content: bytes, hints: dict, scan_meta: bool) -> tuple[str, str, int]:
    declared = _declared(content, hints, scan_meta)
    # windows-1252 (what an iso-8859-1 label means) decodes almost any bytes, and it is the default
    # of old servers that send it for Korean pages too: it goes after UTF-8 and after a CJK detection
    strong = [e for e in declared if e != "cp1252"]
    for encoding in dict.fromkeys([*strong, "utf-8"]):
        text = _try(content, encoding)
        if text is not None:
            return text, encoding, 0
    if utf8_share(content) >= MIXED_UTF8_SHARE:
        legacy = next((e for e in strong if e != "utf-8"), None) or _legacy_guess(content)
        text, spans, replaced = decode_mixed(content, legacy)
        encoding = f"utf-8+{legacy}" if spans else "utf-8"
        return text, encoding + (REPLACED if replaced else ""), spans
    guess = detect_charset(content)
    order = [guess, *declared] if guess in _MULTIBYTE else [*declared, guess]
    for encoding in order:
        text = _try(content, encoding)
        if text is not None:
            return text, encoding or "", 0
    # nothing decodes cleanly: keep the first declared (else detected, else UTF-8) reading, bad bytes replaced
    fallback = next((e for e in [*declared, guess] if e), "utf-8")
    return content.decode(fallback, errors="replace"), fallback + REPLACED, 0


def _legacy_guess(content: bytes) -> str:
    """The codec of the words that are not UTF-8 in a mostly-UTF-8 page: CP949 when it decodes all of them
    (Korean first: Big5 and GB18030 also decode most CP949 byte pairs, so detection alone picks them on
    short spans), else the detector's multibyte or windows-1252 guess, else CP949."""
    words = [w for w in _WORD_RE.findall(content) if _try(w, "utf-8") is None]
    if all(_try(w, "cp949") is not None for w in words):
        return "cp949"
    invalid = b" ".join(words)  # only these: the UTF-8 words would pull the detector towards UTF-8
    guess = detect_charset(invalid) if len(invalid) >= 8 else None
    return guess if guess in _MULTIBYTE or guess == "cp1252" else "cp949"


def decode_html(content: bytes, hints: dict | None = None) -> tuple[str, str]:
    """(text, encoding used) for an HTML page: BOM, header charset, meta charset, detection."""
    return decode_bytes(content, hints, scan_meta=True)


def decode_text(content: bytes, hints: dict | None = None) -> tuple[str, str]:
    """(text, encoding used) for plain text: as ``decode_html`` without looking for meta tags."""
    return decode_bytes(content, hints, scan_meta=False)
