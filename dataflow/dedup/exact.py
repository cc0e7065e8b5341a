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

import functools
import unicodedata

import numpy as np
import regex
import xxhash

_PUNCT_SYMBOL = regex.compile(r"[\p{P}\p{S}]+")  # every Unicode punctuation and symbol code point
_FORMAT = regex.compile(r"\p{Cf}+")  # zero-width characters and soft hyphens hide inside words
_WHITESPACE = regex.compile(r"\s+")
_SEPARATORS = regex.compile("[\x1c-\x1f]")  # whitespace to str.split() but not to Unicode White_Space
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


@functools.cache
def code_point_classes() -> np.ndarray:
    """What ``canonical`` does with each code point after NFKC and casefold, as uint8[0x110000].

    ``minhash_kernel.KEEP``, ``SPACE`` (whitespace, punctuation, symbols: runs become one space),
    ``DROP`` (format characters) or ``SEPARATOR`` (U+001C-U+001F). Drawn from ``canonical``'s own
    regexes over a string of every code point (about 30 ms, once per process), so the two cannot
    disagree; the regexes match single code points, so a table per code point is exact.
    """
    from dataflow.dedup.minhash_kernel import DROP, SEPARATOR, SPACE

    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    classes = np.zeros(0x110000, dtype=np.uint8)
    for pattern, cls in ((_PUNCT_SYMBOL, SPACE), (_WHITESPACE, SPACE), (_FORMAT, DROP), (_SEPARATORS, SEPARATOR)):
        for m in pattern.finditer(every):
            classes[m.start() : m.end()] = cls
    return classes


def canonical_code_points(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(uint32 code points of every text's canonical form end to end, start offset of each plus the total).

    NFKC and casefold run per text in Python (``normalize`` returns at once when its quick check
    passes, which most texts do); the rest of ``canonical`` is one compiled pass over the batch's
    code points (``minhash_kernel.canonical_runs``) with the table of ``code_point_classes``.
    """
    from dataflow.dedup.minhash_kernel import canonical_runs

    folded = [unicodedata.normalize("NFKC", t).casefold() for t in texts]
    # utf-32 is one 4-byte unit per code point (surrogatepass: a str may hold lone surrogates, as canonical keeps)
    cps = np.frombuffer("".join(folded).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, folded), np.int64, len(folded)), out=offsets[1:])
    out = np.empty_like(cps)
    out_offsets = np.empty_like(offsets)
    canonical_runs(cps, offsets, code_point_classes(), out, out_offsets)
    return out[: out_offsets[-1]], out_offsets


def texts_of(cps: np.ndarray, offsets: np.ndarray) -> list[str]:
    """The strings of ``canonical_code_points``' result: one decode for the batch, then one slice per text."""
    joined = cps.astype("<u4", copy=False).tobytes().decode("utf-32-le", "surrogatepass")
    bounds = offsets.tolist()
    return [joined[i:j] for i, j in zip(bounds[:-1], bounds[1:], strict=True)]


def canonical_batch(texts: list[str]) -> list[str]:
    """``[canonical(t) for t in texts]``, by ``canonical_code_points`` (a test compares them on hard cases)."""
    return texts_of(*canonical_code_points(texts))


def exact_hash(text: str, canon: str | None = None) -> bytes:
    """16-byte exact-dedup key of ``text``; pass ``canon`` when ``canonical(text)`` is already known."""
    if canon is None:
        canon = canonical(text)
    material = canon if canon else _EMPTY_PREFIX + unicodedata.normalize("NFC", text)
    return xxhash.xxh3_128_digest(material.encode("utf-8"))
