"""Fast Korean word statistics for FineWeb-2's Korean rules, calibrated against Kiwi.

FineWeb-2's Korean thresholds were set on Kiwi morphemes (datatrove's ``KiwiTokenizer``), and
Kiwi analyses about 0.15 MB/s per core. The rules only need a handful of numbers from the word
split (how many words, their mean length, how many have a letter, which stop words occur, the
top and duplicated n-gram character fractions, newlines per word). This module computes the
same numbers from a cheap split that imitates Kiwi's:

* ``fast_words``: one regex pass cuts runs of Hangul, Latin, Hanja, jamo, numbers (``3.14``,
  ``1,000``) and punctuation (a run like ``...`` or ``?!`` is one token, as Kiwi makes it); each
  Hangul eojeol then loses its particles and endings from a table (``을``, ``에서``, ``했다`` ->
  ``했 했 다``: Kiwi returns text spans, so a contracted ending such as 했 = 하+었 appears twice);
  the split of each distinct eojeol is cached, words follow Zipf's law;
* ``word_stats``: the rules' numbers from any word list, exactly as datatrove's three filters
  compute them (also used on Kiwi's words, so calibration compares like with like);
* ``quality_ko.KIWI_BOUNDS``: how far Kiwi's numbers lie from the fast ones, measured on every Korean set
  under ../shared/testdata (bench/bench_quality_ko.py --calibrate), widened by a safety factor;
* ``decide``: the rules on intervals. A rule whose interval lies entirely on one side of its
  threshold is decided without Kiwi; when the first undecided rule comes before any certain
  failure, the caller asks Kiwi (``UNSURE``). So decisions equal Kiwi's wherever the fast
  numbers are decisive, and Kiwi runs only on the few documents near a threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import regex
from datatrove.utils.text import PUNCTUATION_SET

UNSURE = "unsure"  # decide(): the fast numbers cannot settle a rule; ask Kiwi

# One token per match, in Kiwi's units: URL, e-mail, mention, hashtag (up to the next #), serial such as
# a date or phone number (Kiwi tags these W_URL, W_EMAIL, W_MENTION, W_HASHTAG, W_SERIAL), Hangul run,
# jamo run (ㅋㅋ), Latin run, Hanja run, number with inner separators, a run of punctuation, any other run.
_TOKEN = regex.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|@\w+|#[^\s#]+|[0-9]+(?:[-.:/][0-9]+){2,}"  # Kiwi's W_* tags
    r"|[\uAC00-\uD7A3]+|[\u3131-\u318E\u1100-\u11FF]+|[A-Za-z]+|[\p{Han}]+"
    r"|[0-9]+(?:[.,][0-9]+)*|[\p{P}\p{S}]+|[^\s\p{P}\p{S}]+"
)
_HANGUL_FIRST = 0xAC00
_HANGUL_LAST = 0xD7A3

# Particles and endings peeled from the end of an eojeol, longest first, as the pieces Kiwi
# returns (text spans: a contracted syllable like 했 = 하+었 is returned once per morpheme).
_SUFFIXES: dict[str, tuple[str, ...]] = {
    # verb/adjective endings
    "했습니다": ("했", "했", "습니다"), "합니다": ("합", "합니다"), "입니다": ("입", "입니다"),
    "습니다": ("습니다",), "었다": ("었", "다"), "았다": ("았", "다"), "였다": ("였", "다"),
    "했다": ("했", "했", "다"), "됐다": ("됐", "됐", "다"), "했고": ("했", "했", "고"),
    "했으며": ("했", "했", "으며"), "하였다": ("하", "였", "다"), "하였으며": ("하", "였", "으며"),
    "한다": ("한", "한다"), "된다": ("된", "된다"), "이다": ("이", "다"), "있다": ("있", "다"),
    "없다": ("없", "다"), "하는": ("하", "는"), "하고": ("하", "고"), "하며": ("하", "며"),
    "하여": ("하", "여"), "해서": ("해", "해서"), "되어": ("되", "어"), "되는": ("되", "는"),
    "되었다": ("되", "었", "다"), "한": ("한", "한"), "된": ("된", "된"), "할": ("할", "할"),
    "될": ("될", "될"), "인": ("인", "인"), "으며": ("으며",), "에서": ("에서",), "에게": ("에게",),
    "으로": ("으로",), "로서": ("로서",), "부터": ("부터",), "까지": ("까지",), "처럼": ("처럼",),
    "보다": ("보다",), "마다": ("마다",), "이나": ("이나",), "에는": ("에", "는"), "에도": ("에", "도"),
    "으로는": ("으로", "는"), "에서는": ("에서", "는"), "과": ("과",), "와": ("와",), "을": ("을",),
    "를": ("를",), "은": ("은",), "는": ("는",), "이": ("이",), "가": ("가",), "의": ("의",),
    "에": ("에",), "로": ("로",), "도": ("도",), "만": ("만",), "고": ("고",), "며": ("며",),
    "다": ("다",), "지": ("지",), "게": ("게",), "서": ("서",),
}  # fmt: skip
_MAX_SUFFIX = max(map(len, _SUFFIXES))
# peeled even after a one-syllable stem (책을, 물이, 있다); other endings need two (참고, 할인 are nouns)
_PARTICLES = frozenset(
    ["을", "를", "은", "는", "이", "가", "의", "에", "와", "과", "도", "로", "만", "에서", "으로", "다"]
)
_LONG_STEM = 4  # longer stems are cut: Sino-Korean compounds are mostly two-syllable nouns
_UNSPACED = 10  # an eojeol this long is text written without spaces (NSMC reviews): cut finer


@lru_cache(maxsize=1 << 16)
def split_eojeol(word: str) -> tuple[str, ...]:
    """Stem and peeled particles/endings of one Hangul eojeol (at most two peels; the stem keeps a syllable)."""
    tail: list[str] = []
    stem = word
    for peel in range(2):
        for k in range(min(_MAX_SUFFIX, len(stem) - 1), 0, -1):
            pieces = _SUFFIXES.get(stem[-k:])
            if pieces is not None and (len(stem) - k > 1 or (peel == 0 and pieces[0] in _PARTICLES)):
                tail[:0] = pieces
                stem = stem[:-k]
                break
        else:
            break
    if len(stem) > _LONG_STEM:  # compound noun or unspaced text: Kiwi cuts it into short morphemes
        step = 2 if len(word) <= _UNSPACED else 1.5  # syllables per Kiwi token, measured (module docstring)
        cuts = [round(i * step) for i in range(int(len(stem) / step) + 1)] + [len(stem)]
        return (*(stem[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a), *tail)
    return (stem, *tail)


def _split_chunk(chunk: str) -> list[str]:
    out: list[str] = []
    for tok in _TOKEN.findall(chunk):
        if _HANGUL_FIRST <= ord(tok[0]) <= _HANGUL_LAST and len(tok) > 1:
            out.extend(split_eojeol(tok))
        else:
            out.append(tok)
    return out


_CHUNKS: dict[str, list[str]] = {}  # whitespace chunk -> its words, per process (Zipf: most chunks repeat)
_CHUNK_CACHE = 1 << 18  # 262k chunks x ~200 B = ~50 MB at most


def fast_words(text: str) -> list[str]:
    """Kiwi-like word split of ``text`` without a morphological analyser (see module docstring).

    No token spans whitespace, so the text is split on whitespace first and each chunk's words
    are looked up in a cache: one dict lookup per eojeol for all but its first occurrence.
    """
    out: list[str] = []
    cache = _CHUNKS
    for chunk in text.split():
        words = cache.get(chunk)
        if words is None:
            words = _split_chunk(chunk)
            if len(cache) < _CHUNK_CACHE:
                cache[chunk] = words
        out += words
    return out


@dataclass(frozen=True)
class WordStats:
    """The word-derived numbers of FineWeb-2's Korean rules, as datatrove's filters compute them."""

    n_words: int  # every token (datatrove: len(words)); list_ratio, hash and ellipsis ratios
    n_content: int  # tokens with a character outside PUNCTUATION_SET (Gopher's "non-symbol words")
    mean_length: float  # mean length of the content tokens (0 when none)
    alpha_ratio: float  # share of tokens with an alphabetic character
    stop_words: int  # distinct stop words among the tokens
    top_ngram: tuple[float, ...]  # per cfg top n: top n-gram characters / len(text)
    dup_ngram: tuple[float, ...]  # per cfg dup n: duplicated n-gram characters / len(text)


def _ids(words: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Integer id of each word (first-occurrence order) and the vocabulary."""
    table: dict[str, int] = {}
    ids = np.fromiter((table.setdefault(w, len(table)) for w in words), np.int64, len(words))
    return ids, list(table)


def _ngram_keys(ids: np.ndarray, n: int, vocab: int) -> np.ndarray:
    """One int key per n-gram of ids: polynomial base vocab+1, wrapping in uint64 (collision odds ~2^-64 per pair)."""
    m = len(ids) - n + 1
    key = np.zeros(m, dtype=np.uint64)
    base = np.uint64(vocab + 1)
    u = ids.astype(np.uint64) + np.uint64(1)
    for k in range(n):
        key = key * base + u[k : k + m]
    return key


def _top_chars(lengths: np.ndarray, keys: np.ndarray, n: int) -> int:
    """datatrove find_top_duplicate(get_n_grams(words, n)): count x length of the most common n-gram."""
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    top = counts.max()
    at = int(first[counts == top].min())  # Counter.most_common breaks ties by first occurrence
    return int(top) * (int(lengths[at : at + n].sum()) + n - 1)  # " ".join(n-gram)


def _dup_chars_exact(lengths: np.ndarray, keys: np.ndarray, n: int) -> int:
    """datatrove find_all_duplicate(words, n): characters of repeated n-grams, skipping past each repeat
    (equal keys stand for equal word tuples; datatrove compares the "".join, nearly always the same)."""
    seen: set[int] = set()
    total, idx, stop = 0, 0, len(keys)
    klist = keys.tolist()
    while idx < stop:
        k = klist[idx]
        if k in seen:
            total += int(lengths[idx : idx + n].sum())
            idx += n
        else:
            seen.add(k)
            idx += 1
    return total


def _dup_chars_fast(lengths: np.ndarray, keys: np.ndarray, n: int) -> int:
    """Characters of the words covered by any n-gram that occurred before: datatrove's greedy count
    without its sequential scan (it counts the same repeats, minus overlaps it skips)."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    repeat = first[inverse] < np.arange(len(keys))
    if not repeat.any():
        return 0
    edge = np.zeros(len(lengths) + 1, dtype=np.int64)
    starts = np.flatnonzero(repeat)
    np.add.at(edge, starts, 1)
    np.add.at(edge, starts + n, -1)
    return int(lengths[np.cumsum(edge[:-1]) > 0].sum())


_FLAGS: dict[str, tuple[bool, bool]] = {}  # word -> flags, per process (words repeat across documents)


def _flags(word: str) -> tuple[bool, bool]:
    f = (not PUNCTUATION_SET.issuperset(word), any(c.isalpha() for c in word))
    if len(_FLAGS) < _CHUNK_CACHE:
        _FLAGS[word] = f
    return f


def word_stats(
    text: str,
    words: Sequence[str],
    stop_words: frozenset[str],
    top_ns: Sequence[int],
    dup_ns: Sequence[int],
    exact: bool = True,
) -> WordStats:
    """FineWeb-2 Korean rules' word numbers of ``text`` split into ``words`` (datatrove's definitions;
    ``exact=False`` replaces the sequential duplicated-n-gram scan by its vectorised near-equal)."""
    n = len(words)
    if n == 0:
        return WordStats(0, 0, 0.0, 0.0, 0, tuple(0.0 for _ in top_ns), tuple(0.0 for _ in dup_ns))
    ids, vocab = _ids(words)
    vlen = np.fromiter(map(len, vocab), np.int64, len(vocab))
    flags = [_FLAGS.get(w) or _flags(w) for w in vocab]  # (has a non-punctuation char, has a letter)
    vcontent = np.fromiter((f[0] for f in flags), bool, len(vocab))
    valpha = np.fromiter((f[1] for f in flags), bool, len(vocab))
    lengths, content = vlen[ids], vcontent[ids]
    n_content = int(content.sum())
    mean = float(lengths[content].mean()) if n_content else 0.0
    alpha = float(valpha[ids].mean())
    size = max(len(text), 1)
    dup_chars = _dup_chars_exact if exact else _dup_chars_fast
    top, dup = [], []
    for k in top_ns:
        top.append(_top_chars(lengths, _ngram_keys(ids, k, len(vocab)), k) / size if n >= k else 0.0)
    for k in dup_ns:  # ascending: a repeated k-gram contains a repeated (k-1)-gram, so 0 stays 0
        chars = dup_chars(lengths, _ngram_keys(ids, k, len(vocab)), k) if n >= k and (not dup or dup[-1]) else 0
        dup.append(chars / size)
    stops = len(stop_words.intersection(vocab))
    return WordStats(n, n_content, mean, alpha, stops, tuple(top), tuple(dup))


def stop_word_bound(text: str, stop_words: frozenset[str]) -> int:
    """Most distinct stop words any split of ``text`` into substrings can contain (Kiwi returns spans)."""
    return sum(1 for w in stop_words if w in text)


# ---------------------------------------------------------------------------- rules on intervals


@dataclass(frozen=True)
class Bounds:
    """Where Kiwi's numbers lie around the fast ones: count c -> [c * lo - pad, c * hi + pad];
    a ratio or fraction x -> [x - below, x + above]."""

    count_lo: float
    count_hi: float
    count_pad: float
    mean_below: float
    mean_above: float
    alpha_below: float
    alpha_above: float
    stop_below: int
    frac_below: float  # top and duplicated n-gram character fractions
    frac_above: float


EXACT = Bounds(1, 1, 0, 0, 0, 0, 0, 0, 0, 0)  # the numbers are Kiwi's own: plain threshold checks


def _side(lo: float, hi: float, fails: bool, passes: bool) -> bool | None:
    """True: the rule fails for every value in [lo, hi]; False: passes for every value; None: undecided."""
    if fails:
        return True
    if passes:
        return False
    return None


def korean_rules(text: str, s: WordStats, rules: dict, bounds: Bounds = EXACT) -> str | None:
    """FineWeb-2's Korean rule chain (datatrove's three filters, in order, Gopher's length rule first)
    on ``text`` and its word numbers ``s``; None keeps, a reason drops, ``UNSURE`` asks for Kiwi.

    ``rules`` holds the thresholds (quality_ko.KOR_HANG plus the filter settings FineWeb-2 uses).
    Rules that need no words (duplicate lines, terminal punctuation, duplicated line characters,
    bullets, ellipsis lines) are computed exactly; word rules are checked on the interval that
    ``bounds`` puts around each fast number. The first rule that fails for sure decides, unless an
    earlier rule is undecided.
    """
    from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
    from datatrove.utils.text import TERMINAL_PUNCTUATION

    b = bounds
    n_lo, n_hi = s.n_words * b.count_lo - b.count_pad, s.n_words * b.count_hi + b.count_pad
    c_lo, c_hi = s.n_content * b.count_lo - b.count_pad, s.n_content * b.count_hi + b.count_pad
    n_lo, c_lo = max(n_lo, 1e-9), max(c_lo, 0.0)
    unsure = False

    def check(decided: bool | None, reason: str) -> str | None:
        nonlocal unsure
        if decided is None:
            unsure = True
        elif decided:
            return UNSURE if unsure else reason
        return None

    min_words = rules["min_doc_words"]
    if (r := check(_side(c_lo, c_hi, c_hi < min_words, c_lo >= min_words), "gopher_short_doc")) is not None:
        return r
    if not text:
        return UNSURE if unsure else "empty"
    lines = regex.split("\n+", text)
    if find_duplicates(lines)[0] / len(lines) > rules["dup_line_frac"]:
        return UNSURE if unsure else "dup_line_frac"
    for (n, thr), x in zip(rules["top_n_grams"], s.top_ngram, strict=True):
        lo, hi = x - b.frac_below, x + b.frac_above
        if (r := check(_side(lo, hi, lo > thr, hi <= thr), f"top_{n}_gram")) is not None:
            return r
    for (n, thr), x in zip(rules["dup_n_grams"], s.dup_ngram, strict=True):
        lo, hi = x - b.frac_below, x + b.frac_above
        if (r := check(_side(lo, hi, lo > thr, hi <= thr), f"duplicated_{n}_n_grams")) is not None:
            return r
    full = [line for line in text.split("\n") if line.strip() != ""]
    if not full:
        return UNSURE if unsure else "empty"
    stops = tuple(TERMINAL_PUNCTUATION)
    if sum(1 for line in full if line.endswith(stops)) / len(full) < rules["line_punct_thr"]:
        return UNSURE if unsure else "line_punct_ratio"
    if find_duplicates(full)[1] / max(len(text.replace("\n", "")), 1) > rules["char_duplicates_ratio"]:
        return UNSURE if unsure else "char_dup_ratio"
    newlines, thr = text.count("\n"), rules["new_line_ratio"]
    if (r := check(_side(0, 0, newlines / n_hi > thr, newlines / n_lo <= thr), "list_ratio")) is not None:
        return r
    if (r := check(_side(c_lo, c_hi, c_hi < min_words, c_lo >= min_words), "gopher_short_doc")) is not None:
        return r
    max_words = rules["max_doc_words"]
    if (r := check(_side(c_lo, c_hi, c_lo > max_words, c_hi <= max_words), "gopher_long_doc")) is not None:
        return r
    lo, hi = s.mean_length - b.mean_below, s.mean_length + b.mean_above
    thr = rules["min_avg_word_length"]
    if (r := check(_side(lo, hi, hi < thr, lo >= thr), "gopher_below_avg_threshold")) is not None:
        return r
    thr = rules["max_avg_word_length"]
    if (r := check(_side(lo, hi, lo > thr, hi <= thr), "gopher_above_avg_threshold")) is not None:
        return r
    thr = rules["max_symbol_word_ratio"]
    for count, reason in ((text.count("#"), "gopher_too_many_hashes"),
                          (text.count("...") + text.count("…"), "gopher_too_many_ellipsis")):  # fmt: skip
        if (r := check(_side(0, 0, count / n_hi > thr, count / n_lo <= thr), reason)) is not None:
            return r
    all_lines = text.splitlines()
    bullets = sum(x.lstrip().startswith("•") or x.lstrip().startswith("-") for x in all_lines)
    if bullets / len(all_lines) > rules["max_bullet_lines_ratio"]:
        return UNSURE if unsure else "gopher_too_many_bullets"
    ellipsis = sum(x.rstrip().endswith("...") or x.rstrip().endswith("…") for x in all_lines)
    if ellipsis / len(all_lines) > rules["max_ellipsis_lines_ratio"]:
        return UNSURE if unsure else "gopher_too_many_end_ellipsis"
    lo, hi, thr = s.alpha_ratio - b.alpha_below, s.alpha_ratio + b.alpha_above, rules["max_non_alpha_words_ratio"]
    if (r := check(_side(lo, hi, hi < thr, lo >= thr), "gopher_below_alpha_threshold")) is not None:
        return r
    most = stop_word_bound(text, rules["stop_words"]) if b is not EXACT else s.stop_words
    least, thr = s.stop_words - b.stop_below, rules["min_stop_words"]
    if (r := check(_side(least, most, most < thr, least >= thr), "gopher_enough_stop_words")) is not None:
        return r
    return UNSURE if unsure else None
