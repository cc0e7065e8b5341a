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
_SEPARATORS = regex.compile("[\x1c-\x1f]")  # whitespace to str.split() but not to Unicode White_Space
_SENTINEL = "\ue000"  # joins a batch of texts for canonical_batch (private use: no meaning to any step)
_EMPTY_PREFIX = "\x00"  # marks keys of texts whose canonical form is empty (cannot occur in canonical text)


def canonical(text: str) -> str:
    """NFKC, casefolded, punctuation/symbols to spaces, whitespace collapsed (see module docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCT_SYMBOL.sub(" ", _FORMAT.sub("", text))
    if _SEPARATORS.search(text) is None:
        # str.split() is ~4x faster than the regex; its whitespace equals Unicode White_Space except
        # for the four C0 information separators (checked over every code point), handled below
        return " ".join(text.split())
    return _WHITESPACE.sub(" ", text).strip()


def canonical_batch(texts: list[str]) -> list[str]:
    """``[canonical(t) for t in texts]`` in one pass over the texts joined by a private-use sentinel.

    The sentinel (U+E000) is a letter to none of the steps: NFKC and casefold keep it, it is no
    punctuation, symbol, format character or whitespace, and as a starter it stops composition
    across texts; so cutting the joined result at it and stripping each piece gives each text's
    canonical form (a test compares them). Texts that contain it go one by one.
    """
    if len(texts) < 2 or any(_SENTINEL in t for t in texts):
        return [canonical(t) for t in texts]
    return [piece.strip() for piece in canonical(_SENTINEL.join(texts)).split(_SENTINEL)]


def exact_hash(text: str, canon: str | None = None) -> bytes:
    """16-byte exact-dedup key of ``text``; pass ``canon`` when ``canonical(text)`` is already known."""
    if canon is None:
        canon = canonical(text)
    material = canon if canon else _EMPTY_PREFIX + unicodedata.normalize("NFC", text)
    return xxhash.xxh3_128_digest(material.encode("utf-8"))
