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
# (characters one of which any mojibake match holds, or None; ftfy's mojibake pattern; the characters a match of
# it reaches on either side of such a character, or None where its width is unbounded)
_FTFY_CHECKS: tuple = ()

# What else ftfy 6.3.1's fix_text can act on under _ftfy_config, besides its mojibake test (ftfy.badness.is_bad):
# C1 controls (fix_c1_controls), surrogates (fix_surrogates), ESC (remove_terminal_escapes); and, because
# is_bad runs once per line and its pattern has one alternative anchored with '^' (no MULTILINE: ``^[ÃÂ][ ]``),
# that alternative at the start of any line
_FTFY_OTHER_TRIGGERS = re.compile("[\\x1b\\x80-\\x9f\\ud800-\\udfff]|^[ÃÂ] ", re.MULTILINE)


def _required_characters(pattern: re.Pattern) -> re.Pattern | None:
    """A character class of the non-ASCII characters ``pattern`` names, if each of its top-level alternatives
    requires one of them (then a text without any cannot match); else None. Read from the parsed pattern, so
    it follows ftfy's own list."""
    from re import _parser  # CPython's regex parser (sre_parse)

    def characters(op, av) -> set[str] | None:  # the characters one required item can match, None if unknown
        if op is _parser.LITERAL:
            return {chr(av)}
        if op is _parser.IN and all(o in (_parser.LITERAL, _parser.RANGE) for o, _ in av):
            return {chr(c) for o, a in av for c in ((a,) if o is _parser.LITERAL else range(a[0], a[1] + 1))}
        return None

    (op, av), *rest = _parser.parse(pattern.pattern, pattern.flags).data
    if rest or op is not _parser.BRANCH:
        return None
    names: set[str] = set()
    for branch in av[1]:
        sets = [c for c in (characters(o, a) for o, a in branch.data) if c is not None]
        if not any(c and not any(x.isascii() for x in c) for c in sets):
            return None  # an alternative that could match without a non-ASCII character it names
        names |= {x for c in sets for x in c if not x.isascii()}
    return re.compile("[" + "".join(re.escape(x) for x in sorted(names)) + "]")


def _reach(pattern: re.Pattern) -> int | None:
    """How far a match of ``pattern`` can reach from one of its characters (its longest match less one, 6 for
    ftfy 6.3.1's pattern), or None where it is unbounded or looks past its own characters (a lookaround, a
    word boundary, '$', a back reference: a window's edge could then change a match). Read from the parsed
    pattern."""
    from re import _constants as c
    from re import _parser

    plain = {c.LITERAL, c.NOT_LITERAL, c.IN, c.ANY}  # one character each, read where the match is

    def local(op, av) -> bool:  # the item matches by its own characters only ('^' at the text's start too)
        if op is c.AT:
            return av in (c.AT_BEGINNING, c.AT_BEGINNING_STRING)
        if op is c.BRANCH:
            return all(all(local(*item) for item in branch) for branch in av[1])
        if op is c.SUBPATTERN and av[1] & re.MULTILINE:  # '^' after any line break
            return False
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.SUBPATTERN):
            return all(local(*item) for item in av[-1])
        return op in plain

    parsed = _parser.parse(pattern.pattern, pattern.flags)
    longest = parsed.getwidth()[1]
    bounded = longest < c.MAXREPEAT and not pattern.flags & re.MULTILINE
    return longest - 1 if bounded and all(local(*item) for item in parsed) else None


def ftfy_may_change(text: str) -> bool:
    """False only where ftfy's ``fix_text`` (our config) returns ``text`` unchanged, found by regex searches
    instead of ftfy's per-line Python and mojibake pattern (~73% of normalize's CPU on web and Korean text, most
    of it that pattern).

    ftfy changes a line only if its mojibake pattern matches in that line or one of the triggers above is in
    it. Each of the pattern's alternatives requires one of the non-ASCII characters it names (checked when the
    class is built): a text holding none of them cannot match. Else the pattern is searched only around those
    characters: a match holds one, is at most ``reach + 1`` characters long and reads no character outside
    itself (``_reach`` checks the pattern's shape), so every match lies within
    ``reach`` characters of one of them; the windows around them, merged where they overlap, are searched
    with ``pos``/``endpos`` (then '^' still means the text's start only). Web text holds such characters (curly
    quotes, NBSP, accents) a few times a paragraph, not in every position: the search covers a fraction of it.
    A match across a line break can only over-report (then ftfy runs as before)."""
    global _FTFY_CHECKS
    if not _FTFY_CHECKS:
        from ftfy.badness import BADNESS_RE

        _FTFY_CHECKS = (_required_characters(BADNESS_RE), BADNESS_RE, _reach(BADNESS_RE))
    suspects, badness, reach = _FTFY_CHECKS
    if _FTFY_OTHER_TRIGGERS.search(text):
        return True
    if suspects is None or reach is None:
        return badness.search(text) is not None
    start = end = -1  # the current window [start, end): merged windows around the suspects seen so far
    for found in suspects.finditer(text):
        at = found.start()
        if at - reach > end:  # disjoint from the current window: search that one, open the next
            if end >= 0 and badness.search(text, start, end):
                return True
            start = max(at - reach, 0)
        end = at + reach + 1
    return end >= 0 and badness.search(text, start, end) is not None


def fix_mojibake(text: str) -> str:
    """Repair text decoded with the wrong codec (UTF-8 read as Latin-1/cp1252), else return it unchanged."""
    global _FTFY_CONFIG
    import ftfy

    if text.isascii() or not ftfy_may_change(text):  # nothing for ftfy to repair; skips its per-line analysis
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
