"""HWP 5.0 binary records -> text: paragraphs, tables, text boxes, footnotes and endnotes.

Format (Hancom, "한글 문서 파일 형식 5.0", revision 1.3, sections 3-4):
- a record header is one little-endian DWORD: tag id = bits 0-9, level = bits 10-19,
  size = bits 20-31; size 0xFFF means the real size follows as a second DWORD;
- a paragraph is ``PARA_HEADER`` (tag 66 = HWPTAG_BEGIN 16 + 50) with its ``PARA_TEXT`` (67) one level
  deeper; a control (table, footnote, text box, header ...) is a ``CTRL_HEADER`` (71) child of its
  paragraph, and the paragraphs inside it (cells, note bodies, box text) follow a ``LIST_HEADER``
  (72) at deeper levels;
- ``PARA_TEXT`` is UTF-16LE with control characters below 32: "char" controls take one WCHAR
  (10 line break, 13 paragraph end, 24 hyphen, 30 non-breaking space, 31 fixed-width space), "inline"
  and "extended" controls take eight (the code, a 12-byte payload such as the control id, the code
  again). The n-th extended control in the text is the n-th ``CTRL_HEADER`` child.
This module is pure: bytes of a decompressed section stream in, text out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

PARA_HEADER, PARA_TEXT, CTRL_HEADER, LIST_HEADER, TABLE_RECORD = 66, 67, 71, 72, 77

# controls taking 8 WCHARs (16 bytes): extended (1-3, 11-12, 14-18, 21-23) and inline (4-9, 19-20)
_WIDE = frozenset((1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23))
_EXTENDED = frozenset((1, 2, 3, 11, 12, 14, 15, 16, 17, 18, 21, 22, 23))
# one-WCHAR controls and the text they stand for
_CHAR = {0: "", 10: "\n", 13: "", 24: "-", 25: "", 26: "", 27: "", 28: "", 29: "", 30: "\u00a0", 31: " "}

# control ids (four ASCII chars, stored byte-reversed) whose paragraph lists hold document text
TABLE, FOOTNOTE, ENDNOTE = "tbl ", "fn  ", "en  "
HEADER, FOOTER = "head", "foot"
SHAPE = "gso "  # drawing object: rectangles and text boxes carry paragraph lists
AUTO_NUMBER = "atno"
DUTMAL = "tdut"  # 덧말 (ruby): main text and the small text set over it, stored in the control itself
COMMENT = "tcmt"  # hidden comment (숨은 설명): not part of the visible text
NOTES = frozenset((FOOTNOTE, ENDNOTE))


@dataclass
class Record:
    tag: int
    level: int
    data: bytes
    children: list[Record] = field(default_factory=list)


def parse_records(buf: bytes) -> list[Record]:
    """Flat record list of a section stream (a truncated last record is dropped)."""
    out: list[Record] = []
    pos, end = 0, len(buf)
    while pos + 4 <= end:
        (header,) = struct.unpack_from("<I", buf, pos)
        pos += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if pos + 4 > end:
                break
            (size,) = struct.unpack_from("<I", buf, pos)
            pos += 4
        if pos + size > end:
            break
        out.append(Record(tag, level, buf[pos : pos + size]))
        pos += size
    return out


def build_tree(records: list[Record]) -> list[Record]:
    """Nest records by level: a record is the child of the nearest earlier record one level up."""
    roots: list[Record] = []
    stack: list[Record] = []
    for rec in records:
        while stack and stack[-1].level >= rec.level:
            stack.pop()
        (stack[-1].children if stack else roots).append(rec)
        stack.append(rec)
    return roots


def para_text(data: bytes) -> list[str | None]:
    """Decode a ``PARA_TEXT`` payload into text pieces; ``None`` marks each extended control."""
    n = len(data) // 2
    units = struct.unpack_from(f"<{n}H", data)
    out: list[str | None] = []
    i = 0
    while i < n:
        c = units[i]
        if c >= 32:
            j = i
            while j < n and units[j] >= 32:
                j += 1
            out.append(data[2 * i : 2 * j].decode("utf-16-le", errors="replace"))
            i = j
        elif c in _WIDE:
            out.append(None if c in _EXTENDED else ("\t" if c == 9 else ""))
            i += 8
        else:
            out.append(_CHAR.get(c, ""))
            i += 1
    return out


def auto_number(data: bytes) -> str:
    """Text of an ``atno`` control (caption / note numbers); page numbers (type 0) are not known here."""
    if len(data) < 10:
        return ""
    flags, number = struct.unpack_from("<IH", data, 4)
    return str(number) if flags & 0xF and number else ""


def dutmal_text(data: bytes) -> str:
    """``main(sub)`` from a ``tdut`` control: after the id, two length-prefixed UTF-16LE strings."""
    strings, pos = [], 4
    for _ in range(2):
        if pos + 2 > len(data):
            break
        (n,) = struct.unpack_from("<H", data, pos)
        strings.append(data[pos + 2 : pos + 2 + 2 * n].decode("utf-16-le", errors="replace"))
        pos += 2 + 2 * n
    main, sub = (strings + ["", ""])[:2]
    return f"{main}({sub})" if sub.strip() else main


def ctrl_id(data: bytes) -> str:
    """The four-character id of a ``CTRL_HEADER`` (stored little-endian, so reversed)."""
    return data[:4][::-1].decode("latin-1") if len(data) >= 4 else ""


@dataclass
class SectionText:
    """Text gathered from one or more sections: body lines and note lines kept apart."""

    body: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # footnotes and endnotes, in order of reference
    headers: list[str] = field(default_factory=list)  # page headers and footers
    tables: int = 0


class TextWalker:
    """Renders paragraph trees: tables become ``a | b`` rows, notes go to ``SectionText.notes``."""

    def __init__(self, out: SectionText, *, headers_footers: bool = True, comments: bool = False):
        self.out = out
        self.headers_footers = headers_footers
        self.comments = comments

    def paragraphs(self, nodes: list[Record], sink: list[str]) -> None:
        for node in nodes:
            if node.tag == PARA_HEADER:
                self.paragraph(node, sink)
            else:  # LIST_HEADER, shape components ...: paragraphs may sit below them
                self.paragraphs(node.children, sink)

    def paragraph(self, para: Record, sink: list[str]) -> None:
        pieces: list[str | None] = []
        controls: list[Record] = []
        for child in para.children:
            if child.tag == PARA_TEXT:
                pieces.extend(para_text(child.data))
            elif child.tag == CTRL_HEADER:
                controls.append(child)
        # the k-th extended control character is the k-th CTRL_HEADER: auto numbers print inline,
        # tables, notes and boxes are rendered after the paragraph's own line
        text, k = [], 0
        for piece in pieces:
            if piece is None:
                cid = ctrl_id(controls[k].data) if k < len(controls) else ""
                if cid == AUTO_NUMBER:
                    text.append(auto_number(controls[k].data))
                elif cid == DUTMAL:
                    text.append(dutmal_text(controls[k].data))
                k += 1
            else:
                text.append(piece)
        line = "".join(text).strip("\r\n")
        if line.strip():
            sink.append(line)
        for ctrl in controls:
            self.control(ctrl, sink)

    def control(self, ctrl: Record, sink: list[str]) -> None:
        cid = ctrl_id(ctrl.data)
        if cid == TABLE:
            self.out.tables += 1
            sink.extend(self.table_rows(ctrl))
        elif cid in NOTES:
            self.paragraphs(ctrl.children, self.out.notes)
        elif cid in (HEADER, FOOTER):
            if self.headers_footers:
                self.paragraphs(ctrl.children, self.out.headers)
        elif cid == COMMENT:
            if self.comments:
                self.paragraphs(ctrl.children, sink)
        else:  # gso (text boxes, captions), and any other control holding paragraphs
            self.paragraphs(ctrl.children, sink)

    def table_rows(self, ctrl: Record) -> list[str]:
        """Cells are LIST_HEADERs (row address at byte 10) each followed by their paragraphs."""
        rows: dict[int, list[list[str]]] = {}
        caption: list[str] = []
        cell: list[str] = caption
        in_cells = False  # the TABLE record separates the caption's list (before) from the cells
        for child in ctrl.children:
            if child.tag == TABLE_RECORD:
                in_cells = True
            elif child.tag == LIST_HEADER:
                if in_cells and len(child.data) >= 12:  # paragraphs UINT16, UINT16, flags UINT32, col, row
                    cell = []
                    rows.setdefault(struct.unpack_from("<H", child.data, 10)[0], []).append(cell)
                else:
                    cell = caption
            elif child.tag == PARA_HEADER:
                lines: list[str] = []
                self.paragraph(child, lines)
                cell.extend(lines)
        lines = [" ".join(caption)] if caption else []
        for r in sorted(rows):
            # layout tables leave many cells empty: dropping them keeps rows readable
            cells = [c for c in (" ".join(" ".join(c).split()) for c in rows[r]) if c]
            if cells:
                lines.append(" | ".join(cells))
        return lines


def section_text(stream: bytes, out: SectionText, **walker_options: bool) -> None:
    """Add the text of one decompressed ``BodyText/Section*`` stream to ``out``."""
    tree = build_tree(parse_records(stream))
    TextWalker(out, **walker_options).paragraphs(tree, out.body)
