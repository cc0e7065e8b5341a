"""Unicode and whitespace normalization, the first step after extraction.

Every later stage (language ID, boilerplate rules, quality statistics, exact-dedup hashes)
assumes one spelling of the same text, so this stage fixes it once:

1. mojibake repair with ftfy (optional), limited to encoding fixes: ftfy's defaults would also
   straighten curly quotes (233 of 964 KorQuAD paragraphs changed) and widen/narrow characters,
   which is editing, not repair;
2. line breaks unified to ``\\n``; C0/C1 control characters, invisible format characters
   (zero-width space, BOM, bidi controls, soft hyphen) and lone surrogates (which cannot be
   written as UTF-8) removed; ``\\t`` kept;
3. odd spaces (NBSP, en/em spaces, ideographic space U+3000, Hangul filler U+3164 used as a
   "blank" character on Korean sites) become a plain space;
4. Unicode NFC. Not NFD: it splits each Hangul syllable into two or three jamo, so Kiwi and every
   character n-gram sees a different script (datatrove's MinHash normalization applies NFD and so
   shingles Korean as jamo);
5. runs of spaces inside a line collapse to one (leading indentation kept), trailing
   whitespace is stripped, runs of blank lines collapse to ``max_blank_lines``.

A document with nothing left drops as ``empty_after_normalize``.
"""

from __future__ import annotations

import re
import unicodedata

from datatrove.data import Document

from dataflow.config import NormalizeConfig
from dataflow.stages.base import Stage

_REMOVE = (
    [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85), *range(0x86, 0xA0)]  # C0/C1 but \t \n
    + [0x00AD, 0x180E, 0x200B, 0x200E, 0x200F, *range(0x202A, 0x202F)]  # soft hyphen, ZWSP, LRM/RLM, bidi embeds
    + [*range(0x2060, 0x2065), *range(0x2066, 0x206A), 0xFEFF, *range(0xFFF9, 0xFFFC)]  # joiners, isolates, BOM
    + list(range(0xD800, 0xE000))  # lone surrogates: unencodable in UTF-8, would fail the Parquet writer
)
_SPACES = [0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000, 0x3164, 0xFFA0]
_NEWLINES = [0x0C, 0x0D, 0x85, 0x2028, 0x2029]  # form feed, lone CR, NEL, line and paragraph separators
# ZWJ/ZWNJ (U+200C/U+200D) stay: they are part of emoji sequences and some scripts' spelling.
_TABLE = {cp: None for cp in _REMOVE} | {cp: " " for cp in _SPACES} | {cp: "\n" for cp in _NEWLINES}

_INNER_SPACES = re.compile(r"(?<=\S) {2,}")  # runs after the first visible character; indentation kept
_TRAILING = re.compile(r"[ \t]+$", re.MULTILINE)
_FORMS = ("NFC", "NFKC")  # NFD/NFKD decompose Hangul syllables into jamo


def _ftfy_config():
    """ftfy's encoding repairs only (see the module docstring for what the defaults would change)."""
    import ftfy

    return ftfy.TextFixerConfig(
        unescape_html=False,  # entities were decoded by the extractor; '&amp;' in plain text may be literal
        uncurl_quotes=False,
        fix_latin_ligatures=False,
        fix_character_width=False,  # full-width forms are a writing choice in CJK text
        fix_line_breaks=False,  # done below
        remove_control_chars=False,  # done below, with our own list
        normalization=None,  # done below
        explain=False,
    )


_FTFY_CONFIG = None


def fix_mojibake(text: str) -> str:
    """Repair text decoded with the wrong codec (UTF-8 read as Latin-1/cp1252), else return it unchanged."""
    global _FTFY_CONFIG
    import ftfy

    if text.isascii():  # nothing for ftfy to repair; skips its per-line analysis
        return text
    if _FTFY_CONFIG is None:
        _FTFY_CONFIG = _ftfy_config()
    return ftfy.fix_text(text, _FTFY_CONFIG)


def collapse_blank_lines(text: str, max_blank_lines: int) -> str:
    """Keep at most ``max_blank_lines`` empty lines in a row; lines must already be right-stripped."""
    return re.sub(f"\n{{{max_blank_lines + 2},}}", "\n" * (max_blank_lines + 1), text)


def normalize_text(text: str, cfg: NormalizeConfig) -> str:
    """The normalized text ('' when nothing visible remains). Pure; see the module docstring for the steps."""
    if cfg.form not in _FORMS:
        raise ValueError(f"normalize.form must be one of {_FORMS}, got {cfg.form!r} (NFD splits Hangul into jamo)")
    if cfg.fix_mojibake:
        text = fix_mojibake(text)
    text = text.replace("\r\n", "\n").translate(_TABLE)
    text = unicodedata.normalize(cfg.form, text)
    text = _TRAILING.sub("", _INNER_SPACES.sub(" ", text))
    text = collapse_blank_lines(text, max(cfg.max_blank_lines, 0))
    return text.strip("\n").rstrip() if text.strip() else ""


class NormalizeStage(Stage):
    """Normalize ``doc.text`` in place; drop ``empty_after_normalize`` when nothing is left."""

    name = "normalize"

    def __init__(self, cfg: NormalizeConfig) -> None:
        super().__init__()
        if cfg.form not in _FORMS:  # fail at build time, not once per document
            raise ValueError(f"normalize.form must be one of {_FORMS}, got {cfg.form!r}")
        self.cfg = cfg

    def apply(self, doc: Document) -> str | None:
        doc.text = normalize_text(doc.text or "", self.cfg)
        return None if doc.text else "empty_after_normalize"
