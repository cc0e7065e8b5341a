"""Exact-duplicate key: a 16-byte hash of the text in a canonical form.

Two documents are exact duplicates when their canonical forms are equal. The canonical form
ignores what web copies of one text typically differ in and nothing else:

* Unicode form: NFKC. It ends with canonical composition, so Hangul syllables stay composed
  (NFD would split them into jamo, as datatrove's MinHash normalization does), and it also
  folds compatibility variants (full-width ``ＡＢＣ１２３``, ``（주）``,
  ligatures) that Korean pages mix freely with their plain forms;
* case: ``str.casefold`` (Hangul has no case; English headlines do);
* punctuation and symbols (Unicode categories P* and S*): replaced by a space, so straight vs curly
  quotes, "·" vs "ㆍ" bullets, a trailing "..." or an emoji do not make two copies distinct;
* invisible format characters (category Cf: zero-width space/joiner, soft hyphen, BOM): deleted;
* whitespace: every run collapsed to one space, leading/trailing removed (line wrapping and
  indentation differ between copies of one article).

The key is ``xxh3_128`` of the UTF-8 canonical form (xxhash is pinned; its digest is defined
byte for byte on every platform, unlike Python's salted ``hash()``). A text with no letters or
digits at all would canonicalize to "" and collide with every other such text, so its key is
taken over its NFC form instead (still equal for equal texts, distinct for different ones).

The same canonical form feeds MinHash shingling (``dataflow.dedup.minhash``), so exact and near
dedup agree on what "the same text" means.
"""

from __future__ import annotations

import unicodedata

import regex
import xxhash

_PUNCT_SYMBOL = regex.compile(r"[\p{P}\p{S}]+")  # every Unicode punctuation and symbol code point
_FORMAT = regex.compile(r"\p{Cf}+")  # zero-width characters and soft hyphens hide inside words
_WHITESPACE = regex.compile(r"\s+")
_EMPTY_PREFIX = "\x00"  # marks keys of texts whose canonical form is empty (cannot occur in canonical text)


def canonical(text: str) -> str:
    """NFKC, casefolded, punctuation/symbols to spaces, whitespace collapsed (see module docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCT_SYMBOL.sub(" ", _FORMAT.sub("", text))
    return _WHITESPACE.sub(" ", text).strip()


def exact_hash(text: str, canon: str | None = None) -> bytes:
    """16-byte exact-dedup key of ``text``; pass ``canon`` when ``canonical(text)`` is already known."""
    if canon is None:
        canon = canonical(text)
    material = canon if canon else _EMPTY_PREFIX + unicodedata.normalize("NFC", text)
    return xxhash.xxh3_128_digest(material.encode("utf-8"))
