"""HWP 5 and HWPX (Hancom 한글) documents -> text with tables, footnotes and endnotes.

HWP 5 is an OLE compound file (read with olefile, BSD): ``FileHeader`` holds the signature and
property flags (bit 0 compressed, bit 1 password, bit 2 distribution/배포용, bit 4 DRM), and
``BodyText/Section<n>`` streams hold raw-deflate-compressed records that ``hwp_records`` parses.
A distribution document keeps its body encrypted in ``ViewText`` (reason
``distribution_protected``), a password document encrypts ``BodyText`` (reason ``encrypted``):
neither is decrypted, so no garbage text comes out. pyhwp (AGPL) and hwp-hwpx-parser were measured
against the same fixtures (bench/bench_hwp.py) and this record walker does better, so neither is
imported here.

HWPX (KS X 6101, OWPML) is a zip: ``Contents/section<n>.xml`` with ``<hp:p>`` paragraphs whose
``<hp:run>``s hold ``<hp:t>`` text, ``<hp:tbl>`` tables (``hp:tr``/``hp:tc``), ``<hp:footNote>``,
``<hp:endNote>``, ``<hp:header>``/``<hp:footer>`` and text boxes (``hp:drawText``), each holding
``<hp:subList>`` paragraph lists. Each member's inflated size is capped while reading (a declared
size can lie), as is the total, so a zip bomb fails fast as ``zip_bomb`` in bounded memory; the XML
goes through ``safe_xml``.

Both give body lines, then page headers/footers, then notes, separated by blank lines.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

from dataflow.config import ExtractConfig, HwpConfig
from dataflow.extractors.hwp_records import SectionText, section_text
from dataflow.extractors.result import Extraction
from dataflow.extractors.safe_xml import BadXML, UnsafeXML, local_name, parse_xml

HWP5_SIGNATURE = b"HWP Document File"
HWP3_SIGNATURE = b"HWP Document File V3"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_COMPRESSED, _PASSWORD, _DISTRIBUTION, _DRM = 1 << 0, 1 << 1, 1 << 2, 1 << 4


class ZipBomb(ValueError):
    """Compressed content that inflates past ``HwpConfig.max_uncompressed_bytes``."""


def _inflate(data: bytes, limit: int) -> bytes:
    """Raw-deflate ``data`` with at most ``limit`` bytes out (``ZipBomb`` beyond)."""
    d = zlib.decompressobj(-15)
    out = d.decompress(data, limit + 1)
    if len(out) > limit:
        raise ZipBomb(f"a section inflates past {limit} bytes")
    if not d.eof:  # the deflate stream stops short: a truncated or damaged file
        raise zlib.error("incomplete deflate stream")
    return out


_PUA = re.compile("[\ue000-\uf8ff]")


def old_hangul_to_jamo(text: str) -> str:
    """Hanyang private-use old-Hangul syllables (한글 writes e.g. U+F53A for ᄒᆞᆫ) -> Unicode jamo.

    Uses hypua2jamo (LGPL-3.0+, pyhwp's own table) when installed; otherwise the text is unchanged.
    """
    if not _PUA.search(text):
        return text
    try:
        from hypua2jamo import translate
    except ImportError:
        return text
    return translate(text)


def _compose(text: SectionText, config: HwpConfig) -> str:
    parts = ["\n".join(text.body)]
    if config.headers_footers and text.headers:
        parts.append("\n".join(text.headers))
    if config.notes and text.notes:
        parts.append("\n".join(line.strip() for line in text.notes))
    joined = "\n\n".join(p for p in parts if p.strip())
    return old_hangul_to_jamo(joined) if config.pua_to_jamo else joined


def _hwp_summary(ole) -> dict:  # noqa: ANN001
    """Title and page count from ``\\x05HwpSummaryInformation`` (an OLE property set)."""
    try:
        props = ole.getproperties("\x05HwpSummaryInformation")
    except Exception:  # absent or malformed: metadata is optional
        return {}
    meta = {}
    title = props.get(2)
    if isinstance(title, str) and title.split("\x00")[0].strip():
        meta["title"] = title.split("\x00")[0].strip()
    pages = props.get(14)
    if isinstance(pages, int) and pages > 0:
        meta["page_count"] = pages
    return meta


def _section_number(name: str) -> int:
    m = re.search(r"(\d+)\D*$", name)
    return int(m.group(1)) if m else 0


def extract_hwp(content: bytes, uri: str | None, hints: dict, config: ExtractConfig) -> Extraction:
    """HWP 5 (OLE) document -> text; reasons ``encrypted``, ``distribution_protected``, ``corrupt_hwp``, ..."""
    import olefile

    cfg = config.hwp
    kind = cfg.source_kind

    def fail(reason: str, **meta: object) -> Extraction:
        return Extraction(None, "hwp", kind, dict(meta), reason=reason)

    if not content.strip(b"\x00 \r\n\t"):
        return fail("empty")
    if content.startswith(HWP3_SIGNATURE):
        return fail("unsupported_hwp_version", version="3")
    if not content.startswith(OLE_MAGIC):
        return fail("corrupt_hwp", detail="not an OLE compound file")
    try:
        ole = olefile.OleFileIO(content)
    except Exception as err:  # olefile raises OSError / struct.error / IndexError on damaged files
        return fail("corrupt_hwp", detail=f"{type(err).__name__}: {err}"[:200])
    with ole:
        try:
            header = ole.openstream("FileHeader").read(256)
        except Exception:
            return fail("corrupt_hwp", detail="no FileHeader stream")
        if not header.startswith(HWP5_SIGNATURE) or len(header) < 40:
            return fail("corrupt_hwp", detail="bad FileHeader signature")
        version, flags = struct.unpack_from("<II", header, 32)
        meta: dict = {"hwp_version": f"{version >> 24}.{(version >> 16) & 255}.{(version >> 8) & 255}.{version & 255}"}
        if flags & _DISTRIBUTION:
            return fail("distribution_protected", **meta)
        if flags & (_PASSWORD | _DRM):
            return fail("encrypted", **meta)
        names = ["/".join(p) for p in ole.listdir() if len(p) == 2 and p[0] == "BodyText"]
        names.sort(key=_section_number)
        if not names:
            return fail("corrupt_hwp", detail="no BodyText sections", **meta)
        out = SectionText()
        budget = cfg.max_uncompressed_bytes
        try:
            for name in names:
                raw = ole.openstream(name).read()
                if flags & _COMPRESSED:
                    try:
                        raw = _inflate(raw, budget)
                    except zlib.error as err:
                        return fail("corrupt_hwp", detail=f"{name}: {err}", **meta)
                budget -= len(raw)
                section_text(raw, out, headers_footers=cfg.headers_footers, comments=False)
        except ZipBomb as err:
            return fail("zip_bomb", detail=str(err), **meta)
        meta.update(_hwp_summary(ole))
    meta.update(sections=len(names), tables=out.tables, notes=len(out.notes))
    text = _compose(out, cfg)
    if not text.strip():
        return Extraction(None, "hwp", kind, meta, reason="no_main_text")
    return Extraction(text, "hwp", kind, meta)


# ---------------------------------------------------------------- HWPX


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, reading at most ``limit + 1`` (the declared size may lie)."""
    if info.file_size > limit:
        raise ZipBomb(f"{info.filename} declares {info.file_size} bytes (limit {limit})")
    with zf.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ZipBomb(f"{info.filename} inflates past {limit} bytes")
    return data


class _HwpxText:
    """Walks OWPML section XML: paragraphs, tables, notes, headers/footers, text boxes."""

    # inline children of <hp:t>
    _INLINE = {"tab": "\t", "lineBreak": "\n", "hyphen": "-", "nbSpace": "\u00a0", "fwSpace": " "}

    def __init__(self, out: SectionText):
        self.out = out

    def paragraphs(self, el, sink: list[str]) -> None:  # noqa: ANN001
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if local_name(child.tag) == "p":
                self.paragraph(child, sink)
            else:
                self.paragraphs(child, sink)

    def paragraph(self, p, sink: list[str]) -> None:  # noqa: ANN001
        buf: list[str] = []
        deferred: list = []
        self._inline(p, buf, deferred)
        line = "".join(buf).strip("\r\n")
        if line.strip():
            sink.append(line)
        for kind, node in deferred:
            if kind == "tbl":
                self.out.tables += 1
                sink.extend(self.table_rows(node))
            elif kind in ("footNote", "endNote"):
                self.paragraphs(node, self.out.notes)
            elif kind in ("header", "footer"):
                self.paragraphs(node, self.out.headers)
            else:
                self.paragraphs(node, sink)

    def _inline(self, el, buf: list[str], deferred: list) -> None:  # noqa: ANN001
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = local_name(child.tag)
            if name == "t":
                self._t(child, buf)
            elif name in ("tbl", "footNote", "endNote", "header", "footer"):
                deferred.append((name, child))
            elif name == "subList":  # text box, caption, any other nested paragraph list
                deferred.append(("list", child))
            elif name == "p":
                deferred.append(("list", [child]))
            elif name in ("script", "hiddenComment", "memo"):  # equation source, hidden comments
                continue
            else:
                self._inline(child, buf, deferred)

    def _t(self, t, buf: list[str]) -> None:  # noqa: ANN001
        if t.text:
            buf.append(t.text)
        for child in t:
            if isinstance(child.tag, str):
                buf.append(self._INLINE.get(local_name(child.tag), ""))
            if child.tail:
                buf.append(child.tail)

    def table_rows(self, tbl) -> list[str]:  # noqa: ANN001
        lines: list[str] = []
        for child in tbl:
            if isinstance(child.tag, str) and local_name(child.tag) == "caption":
                cap: list[str] = []
                self.paragraphs(child, cap)
                lines.extend(cap)
        for tr in tbl.iter("{*}tr"):
            cells = []
            for tc in tr:
                if not isinstance(tc.tag, str) or local_name(tc.tag) != "tc":
                    continue
                cell: list[str] = []
                self.paragraphs(tc, cell)
                if text := " ".join(" ".join(cell).split()):
                    cells.append(text)  # empty layout cells are dropped, as in HWP 5 tables
            if cells:
                lines.append(" | ".join(cells))
        return lines


def extract_hwpx(content: bytes, uri: str | None, hints: dict, config: ExtractConfig) -> Extraction:
    """HWPX (OWPML zip) document -> text; reasons ``zip_bomb``, ``encrypted``, ``corrupt_hwpx``, ..."""
    cfg = config.hwp
    kind = cfg.source_kind

    def fail(reason: str, **meta: object) -> Extraction:
        return Extraction(None, "hwpx", kind, dict(meta), reason=reason)

    if not content.strip(b"\x00 \r\n\t"):
        return fail("empty")
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        return fail("corrupt_hwpx", detail=f"{type(err).__name__}: {err}"[:200])
    with zf:
        sections = sorted(
            (i for i in infos if re.fullmatch(r"Contents/section\d+\.xml", i.filename)),
            key=lambda i: _section_number(i.filename[:-4]),
        )
        if not sections:
            return fail("corrupt_hwpx", detail="no Contents/section*.xml")
        if any(i.flag_bits & 1 for i in sections):
            return fail("encrypted")
        try:
            manifest = next((i for i in infos if i.filename == "META-INF/manifest.xml"), None)
            if manifest is not None and b"encryption-data" in _read_member(zf, manifest, 1_000_000):
                return fail("encrypted")
            out = SectionText()
            budget = cfg.max_uncompressed_bytes
            walker = _HwpxText(out)
            for info in sections:
                data = _read_member(zf, info, min(budget, cfg.max_member_bytes))
                budget -= len(data)
                root, _ = parse_xml(data)
                walker.paragraphs(root, out.body)
        except ZipBomb as err:
            return fail("zip_bomb", detail=str(err)[:200])
        except (UnsafeXML, BadXML) as err:
            return fail(err.reason, detail=str(err)[:200])
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as err:
            return fail("corrupt_hwpx", detail=f"{type(err).__name__}: {err}"[:200])
    meta = {"sections": len(sections), "tables": out.tables, "notes": len(out.notes)}
    text = _compose(out, cfg)
    if not text.strip():
        return Extraction(None, "hwpx", kind, meta, reason="no_main_text")
    return Extraction(text, "hwpx", kind, meta)


__all__ = ["extract_hwp", "extract_hwpx"]
