"""Fast Korean word statistics for FineWeb-2's Korean rules, calibrated against Kiwi.

FineWeb-2's Korean thresholds were set on Kiwi morphemes (datatrove's ``KiwiTokenizer``), and
Kiwi analyses about 0.15-0.2 MB/s per core. The rules only need a handful of numbers from the word
split (how many words, their mean length, how many have a letter, which stop words occur, the
top and duplicated n-gram character fractions, newlines per word). This module estimates Kiwi's
numbers without Kiwi:

* the split: one regex pass cuts runs of Hangul, Latin, Hanja, jamo, numbers (``3.14``, ``1,000``),
  punctuation (``...`` is one token, as Kiwi makes it) and Kiwi's URL/e-mail/hashtag/serial tokens;
  each Hangul eojeol loses its particles and endings from a table (``을``, ``에서``, ``했다`` ->
  ``했 했 다``: Kiwi returns text spans, so a contracted ending such as 했 = 하+었 appears twice);
* the estimate: Kiwi's content words = the split's plus, per Hangul run, calibrated extra tokens
  by (run length, pieces) and by last syllable (``_EXTRA_BY_SHAPE``, ``_LAST_TABLE``: the mean of
  Kiwi minus fast over every Korean set under ../shared/testdata, bench/bench_quality_ko.py
  --calibrate); the numbers of each whitespace chunk are cached as one int64 record (``_CHUNKS``: words
  repeat, Zipf), so a document costs one split, one dict lookup and copy per chunk and one compiled pass
  over the joined records (``_doc_sums_py``);
* ``ngram_fracs``: datatrove's top and duplicated n-gram characters (its exact greedy scan) in one
  numba pass over word ids; ``word_stats``: every number exactly as datatrove computes it, from
  any word list (Kiwi's, in the fallback, the calibration and the tests);
* ``korean_rules``: the chain on intervals (``quality_ko.KIWI_BOUNDS`` around the estimates).
  A rule whose interval lies on one side of its threshold is decided; a sure failure drops the
  document; when a rule is undecided and nothing fails for sure, the caller asks Kiwi (``UNSURE``).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, reduce
from itertools import chain
from operator import itemgetter, or_
from typing import NamedTuple

import numpy as np
import regex
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import PUNCTUATION_SET, TERMINAL_PUNCTUATION

UNSURE = "unsure"  # korean_rules(): the estimates settle no rule that fails and leave one undecided: ask Kiwi

# One token per match, in Kiwi's units: URL, e-mail, mention, hashtag (up to the next #), serial such as
# a date or phone number (Kiwi tags these W_URL, W_EMAIL, W_MENTION, W_HASHTAG, W_SERIAL), Hangul run,
# jamo run (ㅋㅋ), Latin run, Hanja run, number with inner separators, one bracket or quote (Kiwi: 《 and ( of
# "》(" are two tokens), a run of other punctuation (Kiwi: "?!", "...", "!!!" are one), any other run.
_TOKEN = regex.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|@\w+|#[^\s#]+|[0-9]+(?:[-.:/][0-9]+){2,}"  # Kiwi's W_* tags
    r"|[\uAC00-\uD7A3]+|[\u3131-\u318E\u1100-\u11FF]+|[A-Za-z]+|[\p{Han}]+"
    r"|[0-9]+(?:[.,][0-9]+)*|[\p{Ps}\p{Pe}\p{Pi}\p{Pf}\"']|(?:(?![\p{Ps}\p{Pe}\p{Pi}\p{Pf}\"'])[\p{P}\p{S}])+"
    r"|[^\s\p{P}\p{S}]+"
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
_SUFFIX_LAST = frozenset(k[-1] for k in _SUFFIXES)
# peeled even after a one-syllable stem (책을, 물이, 있다); other endings need two (할인, 참가 are nouns)
_PARTICLES = frozenset(
    ["을", "를", "은", "는", "이", "가", "의", "에", "와", "과", "도", "로", "만", "에서", "으로", "다"]
)
# past-tense and formal endings and the connective 고 are peeled after a one-syllable verb stem too
# (있었다 -> 있 었 다, 찾고 -> 찾 고, as Kiwi; nouns such as 참고 and 최고 are then cut wrongly, but on the test
# sets the n-gram and count estimates gain more: agreement 99.63 -> 99.78 % at the same Kiwi share)
_AFTER_ONE_SYLLABLE = frozenset(["었다", "았다", "였다", "습니다", "고"])
_LONG_STEM = 4  # longer stems are cut: Sino-Korean compounds are mostly two-syllable nouns
_UNSPACED = 10  # an eojeol this long is text written without spaces (NSMC reviews): cut finer


def split_eojeol(word: str) -> tuple[str, ...]:
    """Stem and peeled particles/endings of one Hangul eojeol (at most two peels; the stem keeps a syllable).
    Called once per distinct run and cache (a whole-chunk run is kept in the chunk cache, a run inside a
    longer chunk in the token cache)."""
    tail: tuple[str, ...] = ()
    stem = word
    for peel in range(2):
        if stem[-1] not in _SUFFIX_LAST:  # most nouns: no suffix can match
            break
        for k in range(min(_MAX_SUFFIX, len(stem) - 1), 0, -1):
            pieces = _SUFFIXES.get(stem[-k:])
            if pieces is not None and (
                len(stem) - k > 1 or (peel == 0 and (pieces[0] in _PARTICLES or stem[-k:] in _AFTER_ONE_SYLLABLE))
            ):
                tail = pieces + tail
                stem = stem[:-k]
                break
        else:
            break
    if len(stem) > _LONG_STEM:  # compound noun or unspaced text: Kiwi cuts it into short morphemes
        return (*(stem[a:b] for a, b in _cuts(len(stem), len(word) > _UNSPACED)), *tail)
    return (stem, *tail)


@lru_cache(maxsize=1024)
def _cuts(length: int, unspaced: bool) -> tuple[tuple[int, int], ...]:
    """The (start, end) pieces a long stem of ``length`` syllables is cut into."""
    step = 1.5 if unspaced else 2  # syllables per Kiwi token; run_extra corrects the rest
    cuts = [round(i * step) for i in range(int(length / step) + 1)] + [length]
    return tuple((a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a)


# Calibrated extra Kiwi content tokens per Hangul run, on top of the table split's pieces (bench/bench_quality_ko.py
# --calibrate fits them on every Korean set under ../shared/testdata; mean of Kiwi - fast pieces per run):
# by (run length capped at 12 syllables, fast pieces capped at 6) ...
_EXTRA_BY_SHAPE: dict[tuple[int, int], float] = {
    (1, 1): 0.105, (2, 1): 0.292, (2, 2): -0.088, (3, 1): 0.709, (3, 2): 0.084, (3, 3): -0.066, (4, 1): 1.399,
    (4, 2): 0.447, (4, 3): -0.025, (4, 4): -0.308, (4, 5): -1.93, (5, 2): 0.872, (5, 3): 0.118, (5, 4): -0.245,
    (5, 5): -1.001, (5, 6): -1.4, (6, 2): 0.971, (6, 3): 0.732, (6, 4): -0.598, (6, 5): -0.838, (7, 2): 2.089,
    (7, 3): 0.565, (7, 4): -0.087, (7, 5): -0.401, (7, 6): -2.032, (8, 3): 0.143, (8, 4): 0.5, (8, 5): -0.589,
    (8, 6): -0.395, (9, 4): 1.571, (9, 5): 0.179, (9, 6): -0.24, (10, 5): 1.158, (10, 6): 0.233, (11, 6): -0.923,
    (12, 6): -0.394,
}  # fmt: skip
# ... and then by the run's last syllable (the endings and particles the table does not peel), as "syllable:hundredths"
_LAST_TABLE = (
    "다:31 해:77 서:-29 의:-16 로:-27 데:72 한:19 스:-97 요:35 가:-13 게:25 를:-14 "
    "던:103 면:42 이:-6 음:69 고:6 지:16 히:-63 리:-48 트:-90 에:-6 와:-30 는:-3 "
    "할:34 드:-92 네:65 인:20 듯:113 진:61 터:-60 야:42 건:95 함:111 국:-39 길:159 "
    "시:-35 난:65 어:28 을:3 며:22 화:-21 라:24 무:-31 거:49 과:-12 들:32 마:-50 "
    "장:-35 기:12 그:-24 임:81 걸:119 은:3 자:-22 원:-46 엔:110 만:-9 긴:113 "
    "크:-85 부:-40 된:23 사:-42 말:-27 냐:78 줄:104 안:-32 린:50 도:4 우:-33 때:33 "
    "까:46 큰:89 주:-35 내:39 아:-15 회:-65 볼:95 져:99 니:22 일:-12 될:50 본:41 "
    "션:-109 즈:-106 준:78 미:-38 대:-24 상:-24 짜:-28 런:-29 카:-113 년:-11 "
    "여:18 전:-19 교:-76 제:-15 적:25 것:28 당:-35 르:-109 금:-35 온:80 죠:93 "
    "탄:-72 운:15 정:-33 됨:163 후:-18 소:-41 프:-94 째:58 질:58 영:-45 낸:115 "
    "색:-40 두:-14 비:-49 키:-71 막:-57 체:-43 력:-43 간:-12 디:-53 합:-41 월:-12 "
    "법:-46 오:-43 냥:-30 더:-11 엘:-105 러:-21 관:-56 치:-35 령:-63 물:-37 "
    "타:-51 토:-93 코:-83 려:33 님:35 공:-65 돼:136 닌:66 작:-31 식:-35 픽:-94 "
    "재:-30 땐:177 점:-18 "
)
_EXTRA_BY_LAST: dict[str, float] = {p[0]: int(p[2:]) / 100 for p in _LAST_TABLE.split()}
_SHAPE_CAP = (12, 6)


def run_extra(run: str, pieces: int) -> float:
    """Calibrated Kiwi content tokens of one Hangul run beyond the table split's ``pieces``."""
    return _EXTRA_BY_SHAPE.get((min(len(run), _SHAPE_CAP[0]), min(pieces, _SHAPE_CAP[1])), 0.0) + _EXTRA_BY_LAST.get(
        run[-1], 0.0
    )


_LENGTHS = np.zeros(1 << 12, np.int64)  # length of each word id (spare room, doubled when full)
_LENGTHS[:65] = np.arange(65)  # ids 0-64: the per-length rare slots
_VOCAB_CAP = 1 << 20  # 1M words x ~100 B: ids past this are shared by one "rare" slot per length
_STOP_BIT: dict[str, int] = {}  # stop word -> its bit in a chunk's stop-word mask (set by set_stop_words)


class _WordIds(dict):
    """Every word seen by this process gets an int id (from 65: never 0); n-grams are hashed from ids (no string
    joins). A word seen before is a plain dict lookup (``_word_id`` is the dict's own ``__getitem__``); only a new
    one runs Python code, ``__missing__``."""

    def __missing__(self, w: str) -> int:
        global _LENGTHS
        if len(self) >= _VOCAB_CAP:  # a full table: the hash keeps working, only n-gram keys collide more
            return min(len(w), 64)
        i = self[w] = len(self) + 65
        if i >= len(_LENGTHS):
            _LENGTHS = np.concatenate([_LENGTHS, np.zeros(len(_LENGTHS), np.int64)])
        _LENGTHS[i] = len(w)
        return i


_WORD_ID = _WordIds()
_word_id = _WORD_ID.__getitem__


# A token's summable numbers packed into one int, 64 bits per field (the low six are counts >= 0; the calibrated
# extra tokens, in thousandths and signed, sit on top, where a negative sum cannot borrow from a field below):
# a chunk of several tokens sums them with one sum()
_FIELD = 64
_MASK = (1 << _FIELD) - 1
_N_WORDS, _N_CONTENT, _CHARS, _N_ALPHA, _HANGUL, _SIZE, _EXTRA = (1 << (_FIELD * k) for k in range(7))
_RUN_WORD = _N_WORDS + _N_CONTENT + _N_ALPHA  # a Hangul run's piece: a token, a content token, with letters


# One token's or chunk's numbers: a plain tuple (words, ids, sums, stops), not a NamedTuple, because the garbage
# collector stops tracking exact tuples of atoms (str, bytes, int) and so skips the cached ones on every full
# collection (a quarter of the chunk time, measured, with a NamedTuple)
#   words: the fast split (tuple of str)
#   ids: their word ids as int64 bytes
#   sums: packed (above): fast tokens, content tokens (a character outside PUNCTUATION_SET), their characters, tokens
#         with a letter, Hangul characters (HANGUL_CHARS), characters; Kiwi's extra tokens in thousandths
#   stops: bit mask of the stop words among its words
Chunk = tuple[tuple[str, ...], bytes, int, int]
# What the chunk cache keeps: one bytes record per chunk, int64 fields: the seven sums (tokens first: the record's
# id count), the stop-word mask, then the ids. A document's records are one bytes join (a dict lookup and a memcpy
# per chunk, no tuple or int objects touched) and one compiled pass (``_doc_sums_py``) adds them up.
_HEAD = 8


class Totals(NamedTuple):
    """A document's numbers summed over its chunks (``totals``)."""

    n_words: int  # fast tokens
    n_content: int  # fast content tokens
    chars: int  # characters of the content tokens
    n_alpha: int  # fast tokens with a letter
    hangul: int  # Hangul characters
    size: int  # characters outside whitespace
    extra: float  # calibrated extra Kiwi content tokens (run_extra over the Hangul runs)
    stop_words: int  # distinct stop words among the fast words
    ids: np.ndarray  # the fast words' ids, in order (int64)


HANGUL_CHARS = regex.compile(
    "[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]"
)  # syllables, conjoining and compatibility jamo
_CHUNKS: dict[str, bytes] = {}  # chunk -> its record, per process (Zipf: most chunks repeat)
_CHUNK_CACHE = 1 << 18  # 262k chunks x ~300 B = ~80 MB at most
_TOKENS: dict[str, Chunk] = {}  # token -> its numbers without Hangul and size (책을 in 책을, and 책을.); same cap
_WORDS, _IDS, _SUMS, _STOPS = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(3)
_CLOSING = ".,!?"  # punctuation that _TOKEN keeps as one run after a Hangul run (no bracket, quote or symbol)


def _hangul_run(run: str, sums: int = 0) -> Chunk:
    """One Hangul run's numbers (plus ``sums``: the chunk's Hangul and size, when the run is the whole chunk);
    every piece is a content word with letters."""
    words, ids, n, chars, extra, stops = _hangul_fields(run)
    return words, ids, sums + n * _RUN_WORD + chars * _CHARS + extra * _EXTRA, stops


def _hangul_fields(run: str) -> tuple[tuple[str, ...], bytes, int, int, int, int]:
    """(words, ids, pieces, their characters, extra Kiwi tokens in thousandths, stop mask) of one Hangul run."""
    words = split_eojeol(run) if len(run) > 1 else (run,)
    stops = 0
    for w in words:
        stops |= _STOP_BIT.get(w, 0)
    n = len(words)
    extra = round(run_extra(run, n) * 1000)  # the tables hold thousandths: exact
    return words, array("q", map(_word_id, words)).tobytes(), n, sum(map(len, words)), extra, stops


def _token(tok: str) -> Chunk:
    if _HANGUL_FIRST <= ord(tok[0]) <= _HANGUL_LAST:
        t = _hangul_run(tok)
    else:
        content = not PUNCTUATION_SET.issuperset(tok)
        alpha = any(map(str.isalpha, tok))
        sums = _N_WORDS + (_N_CONTENT + len(tok) * _CHARS if content else 0) + (_N_ALPHA if alpha else 0)
        t = (tok,), array("q", (_word_id(tok),)).tobytes(), sums, _STOP_BIT.get(tok, 0)
    if len(_TOKENS) < _CHUNK_CACHE:
        _TOKENS[tok] = t
    return t


def _mixed_chunk(text: str) -> Chunk:
    """A chunk of several tokens (or one that is not a Hangul run): its tokens' numbers summed."""
    head = text.rstrip(_CLOSING)
    if head and len(head) < len(text) and min(head) >= "\uac00" and max(head) <= "\ud7a3":
        # 있다. or 뭐지?!: _TOKEN cuts the Hangul run, then the punctuation run; no regex pass, and the Hangul
        # characters are the run's
        tail = text[len(head) :]
        toks = [_TOKENS.get(head) or _token(head), _TOKENS.get(tail) or _token(tail)]
        sums = len(head) * _HANGUL + len(text) * _SIZE
    else:
        toks = [_TOKENS.get(t) or _token(t) for t in _TOKEN.findall(text)]
        sums = (0 if text.isascii() else len(HANGUL_CHARS.findall(text)) * _HANGUL) + len(text) * _SIZE
    if len(toks) == 1:
        words, ids, one, stops = toks[0]
        return words, ids, one + sums, stops
    return (
        tuple(chain.from_iterable(map(_WORDS, toks))),
        b"".join(map(_IDS, toks)),
        sum(map(_SUMS, toks), sums),
        reduce(or_, map(_STOPS, toks), 0),
    )


def _chunk(text: str) -> Chunk:
    if min(text) >= "\uac00" and max(text) <= "\ud7a3":  # the common chunk, one Hangul run: no tokenizer pass
        size = len(text) * (_HANGUL + _SIZE)
        t = _TOKENS.get(text)
        return _hangul_run(text, size) if t is None else (t[0], t[1], t[2] + size, t[3])
    return _mixed_chunk(text)


def _record(text: str) -> bytes:
    """A chunk's cache record (``_HEAD``), built on its first sight."""
    if min(text) >= "\uac00" and max(text) <= "\ud7a3" and text not in _TOKENS:  # one Hangul run: fields as they are
        _, ids, n, chars, extra, stops = _hangul_fields(text)
        rec = array("q", (n, n, chars, n, len(text), len(text), extra, stops)).tobytes() + ids
    else:
        _, ids, s, stops = _chunk(text)
        fields = []
        for _ in range(6):
            fields.append(s & _MASK)
            s >>= _FIELD
        rec = array("q", (*fields, s, stops)).tobytes() + ids  # s: the signed extra tokens, the top field
    if len(_CHUNKS) < _CHUNK_CACHE:
        _CHUNKS[text] = rec
    return rec


def clear_caches() -> None:
    """Forget every chunk's and token's numbers (after the stop words or the calibrated tables change)."""
    _CHUNKS.clear()
    _TOKENS.clear()


def set_stop_words(stop_words: Sequence[str]) -> None:
    """The stop words the chunk masks record (one bit each); the caches are cleared when they change."""
    if len(stop_words) > 63:
        raise ValueError("at most 63 stop words: their mask is one int64 field of a chunk record")
    bits = {w: 1 << i for i, w in enumerate(sorted(stop_words))}
    if bits != _STOP_BIT:
        _STOP_BIT.clear()
        _STOP_BIT.update(bits)
        clear_caches()


def chunks(text: str) -> bytes:
    """The records of the whitespace chunks of ``text``, joined (cached per chunk; no token spans whitespace)."""
    parts = text.split()
    try:
        return b"".join(map(_CHUNKS.__getitem__, parts))
    except KeyError:  # a chunk seen for the first time (or the cache is full)
        return b"".join([_CHUNKS.get(p) or _record(p) for p in parts])


def _doc_sums_py(rec: np.ndarray, out: np.ndarray) -> int:
    """out[:_HEAD]: the records' fields summed (the stop-word masks OR-ed); out[_HEAD:]: their ids, in order.
    Returns how many ids. Compiled by numba on first use (``_kernels``)."""
    i, m, end = 0, 0, rec.shape[0]
    while i < end:
        k = rec[i]
        for f in range(_HEAD - 1):
            out[f] += rec[i + f]
        out[_HEAD - 1] |= rec[i + _HEAD - 1]
        for q in range(k):
            out[_HEAD + m + q] = rec[i + _HEAD + q]
        m += k
        i += _HEAD + k
    return m


def totals(parts: bytes) -> Totals:
    """A document's numbers from its joined chunk records (``chunks``)."""
    rec = np.frombuffer(parts, np.int64)
    out = np.zeros(rec.shape[0] + _HEAD, np.int64)  # room for the header and every id
    m = _kernels()[1](rec, out) if parts else 0
    h = out[:_HEAD].tolist()
    return Totals(*h[:6], h[6] / 1000, h[7].bit_count(), out[_HEAD : _HEAD + m])


def fast_words(text: str) -> list[str]:
    """Kiwi-like word split of ``text`` without a morphological analyser (see module docstring)."""
    return [w for p in text.split() for w in _chunk(p)[0]]


@dataclass(frozen=True)
class WordStats:
    """The word-derived numbers of FineWeb-2's Korean rules, as datatrove's filters compute them."""

    n_words: float  # every token (datatrove: len(words)); list_ratio, hash and ellipsis ratios
    n_content: float  # tokens with a character outside PUNCTUATION_SET (Gopher's "non-symbol words")
    mean_length: float  # mean length of the content tokens (0 when none)
    alpha_ratio: float  # share of tokens with an alphabetic character
    stop_words: int  # distinct stop words among the tokens
    top_ngram: tuple[float, ...]  # per cfg top n: top n-gram characters / len(text)
    dup_ngram: tuple[float, ...]  # per cfg dup n: duplicated n-gram characters / len(text)


def _ngram_chars_py(
    ids: np.ndarray, lengths: np.ndarray, top_ns: np.ndarray, dup_ns: np.ndarray, out: np.ndarray
) -> None:
    """out[j]: datatrove's find_top_duplicate characters for top_ns[j], then find_all_duplicate's
    for each of dup_ns (its greedy scan: a repeat skips past itself), from word ids and lengths.

    One open-addressing table of 64-bit n-gram hashes per n (FNV-1a over the ids; equal hashes stand for
    equal n-grams, ~2^-64 per pair). FNV-1a folds the ids in order, so the n-gram hash at i is the
    (n-1)-gram hash at i folded with ids[i + n - 1]: when n grows from one pass to the next (2, 3, ..., 10 in
    FineWeb-2's settings) each pass folds one more id instead of hashing n ids again (9 passes: 10 folds
    per position, not 54). Counter.most_common breaks ties by first occurrence, so does this.
    Compiled by numba on first use (``_kernels``).
    """
    m = ids.shape[0]
    size = 16
    while size < 2 * m:
        size *= 2
    mask = size - 1
    keys = np.empty(size, np.uint64)
    used = np.zeros(size, np.bool_)
    counts = np.zeros(size, np.int64)
    firsts = np.zeros(size, np.int64)
    hs = np.empty(max(m, 1), np.uint64)
    folded = m + 1  # ids folded into hs so far (more than any n: start afresh)
    n_top = top_ns.shape[0]
    for t in range(n_top + dup_ns.shape[0]):
        n = top_ns[t] if t < n_top else dup_ns[t - n_top]
        out[t] = 0
        k = m - n + 1
        if k <= 0:
            continue
        if n < folded:
            hs[:] = np.uint64(14695981039346656037)
            folded = 0
        for q in range(folded, n):
            for i in range(m - q):
                hs[i] = (hs[i] ^ np.uint64(ids[i + q])) * np.uint64(1099511628211)
        folded = n
        used[:] = False
        if t < n_top:
            best, best_first = 0, 0
            for i in range(k):
                h = hs[i]
                s = np.int64(h & np.uint64(mask))
                while used[s] and keys[s] != h:
                    s = (s + 1) & mask
                if not used[s]:
                    used[s], keys[s], counts[s], firsts[s] = True, h, 1, i
                else:
                    counts[s] += 1
                c = counts[s]
                if c > best or (c == best and firsts[s] < best_first):
                    best, best_first = c, firsts[s]
            chars = n - 1  # " ".join(n-gram)
            for q in range(n):
                chars += lengths[ids[best_first + q]]
            out[t] = best * chars
        else:
            total, i = 0, 0
            while i < k:
                h = hs[i]
                s = np.int64(h & np.uint64(mask))
                while used[s] and keys[s] != h:
                    s = (s + 1) & mask
                if used[s]:
                    for q in range(n):
                        total += lengths[ids[i + q]]
                    i += n
                else:
                    used[s], keys[s] = True, h
                    i += 1
            out[t] = total


@lru_cache(maxsize=1)
def _kernels() -> tuple:
    """The compiled n-gram and record-sum kernels (numba is imported on first use; cache=True keeps the machine
    code). The sum kernel runs once here on an empty record, so that whoever warms the n-gram kernel
    (engines.local.preload, through ngram_fracs) loads both."""
    from numba import njit

    ngram, doc_sums = njit(cache=True, nogil=True)(_ngram_chars_py), njit(cache=True, nogil=True)(_doc_sums_py)
    doc_sums(np.frombuffer(bytes(8 * _HEAD), np.int64), np.zeros(2 * _HEAD, np.int64))
    return ngram, doc_sums


@lru_cache(maxsize=8)
def _ns(ns: tuple[int, ...]) -> np.ndarray:
    return np.asarray(ns, np.int64)


def _ngram_fracs(text: str, ids: np.ndarray, top_ns: Sequence[int], dup_ns: Sequence[int]) -> tuple:
    out = np.zeros(len(top_ns) + len(dup_ns), np.int64)
    if len(ids) >= min(min(top_ns), min(dup_ns)):
        _kernels()[0](ids, _LENGTHS, _ns(tuple(top_ns)), _ns(tuple(dup_ns)), out)
    fr = (out / max(len(text), 1)).tolist()
    return tuple(fr[: len(top_ns)]), tuple(fr[len(top_ns) :])


def ngram_fracs(text: str, ids: Sequence[int], top_ns: Sequence[int], dup_ns: Sequence[int]) -> tuple[tuple, tuple]:
    """(top n-gram, duplicated n-gram) character fractions of ``text`` for word ids ``ids``, datatrove's definitions."""
    return _ngram_fracs(text, np.fromiter(ids, np.int64, len(ids)), top_ns, dup_ns)


def word_stats(
    text: str, words: Sequence[str], stop_words: frozenset[str], top_ns: Sequence[int], dup_ns: Sequence[int]
) -> WordStats:
    """FineWeb-2 Korean rules' word numbers of ``text`` split into ``words``, exactly as datatrove's filters
    compute them (Kiwi's words in fast mode's fallback, in calibration and in the tests)."""
    n = len(words)
    if n == 0:
        return WordStats(0, 0, 0.0, 0.0, 0, tuple(0.0 for _ in top_ns), tuple(0.0 for _ in dup_ns))
    content = [len(w) for w in words if not PUNCTUATION_SET.issuperset(w)]
    alpha = sum(1 for w in words if any(map(str.isalpha, w)))
    top, dup = ngram_fracs(text, list(map(_word_id, words)), top_ns, dup_ns)
    mean = sum(content) / len(content) if content else 0.0
    return WordStats(n, len(content), mean, alpha / n, len(stop_words.intersection(words)), top, dup)


def estimate(
    text: str, parts: bytes, top_ns: Sequence[int], dup_ns: Sequence[int], t: Totals | None = None
) -> WordStats:
    """Kiwi's word numbers of ``text`` estimated from its chunks (``t``: their ``totals``, when already summed):
    the fast counts plus the calibrated extra tokens (``run_extra``); n-grams on the fast words. The caller
    checks them on KIWI_BOUNDS."""
    if not parts:
        return WordStats(0, 0, 0.0, 0.0, 0, tuple(0.0 for _ in top_ns), tuple(0.0 for _ in dup_ns))
    t = t or totals(parts)
    k_content, k_words = t.n_content + t.extra, t.n_words + t.extra
    top, dup = _ngram_fracs(text, t.ids, top_ns, dup_ns)
    return WordStats(
        k_words,
        k_content,
        t.chars / k_content if k_content > 0 else 0.0,
        (t.n_alpha + t.extra) / k_words if k_words > 0 else 0.0,
        t.stop_words,
        top,
        dup,
    )


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
    top_below: float  # top n-gram character fractions
    top_above: float
    frac_below: float  # duplicated n-gram character fractions
    frac_above: float


EXACT = Bounds(1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)  # the numbers are Kiwi's own: plain threshold checks


_NEWLINES = regex.compile("\n+")  # datatrove's line split (compiled once: regex.split re-parses its flags)
_TERMINAL = tuple(TERMINAL_PUNCTUATION)


class Lines(NamedTuple):
    """The non-blank lines' numbers that both the rule chain and the stage's signals use (``line_stats``)."""

    n: int  # lines with a character outside whitespace (FineWeb's ``lines``)
    dup_lines: int  # datatrove's find_duplicates over them: repeated lines ...
    dup_chars: int  # ... and their characters
    punct: int  # lines ending in datatrove's terminal punctuation


def line_stats(text: str) -> Lines:
    """``Lines`` of ``text``, computed once per document for the rules and the signals."""
    full = [line for line in text.split("\n") if line.strip()]
    return Lines(len(full), *find_duplicates(full), sum(1 for line in full if line.endswith(_TERMINAL)))


def korean_rules(
    text: str, s: WordStats, rules: dict, bounds: Bounds = EXACT, lines: Lines | None = None
) -> str | None:
    """FineWeb-2's Korean rule chain (datatrove's three filters, in order, Gopher's length rule first)
    on ``text`` and its word numbers ``s``; None keeps, a reason drops, ``UNSURE`` asks for Kiwi.

    ``rules`` holds the thresholds (quality_ko.KOR_HANG plus the filter settings FineWeb-2 uses);
    ``lines``: ``line_stats(text)``, when the caller has it. Rules that need no words (duplicate lines,
    terminal punctuation, duplicated line characters, bullets, ellipsis lines) are computed exactly;
    word rules are checked on the interval that ``bounds`` puts around each fast number: a rule fails
    for sure when the whole interval fails, passes when the whole interval passes, else it is undecided.
    The first rule that fails for sure drops the document: datatrove drops it too, whatever an earlier
    undecided rule does (only the reason may then differ from Kiwi mode's: the bench counts both). With
    no sure failure, an undecided rule asks for Kiwi.
    """
    b = bounds
    n_lo, n_hi = s.n_words * b.count_lo - b.count_pad, s.n_words * b.count_hi + b.count_pad
    c_lo, c_hi = s.n_content * b.count_lo - b.count_pad, s.n_content * b.count_hi + b.count_pad
    n_lo, c_lo = max(n_lo, 1e-9), max(c_lo, 0.0)
    min_words = rules["min_doc_words"]
    if c_hi < min_words:
        return "gopher_short_doc"
    unsure = c_lo < min_words
    if not text:
        return "empty"
    split = _NEWLINES.split(text)
    if find_duplicates(split)[0] / len(split) > rules["dup_line_frac"]:
        return "dup_line_frac"
    for (n, thr), x in zip(rules["top_n_grams"], s.top_ngram, strict=True):
        if x - b.top_below > thr:
            return f"top_{n}_gram"
        unsure = unsure or x + b.top_above > thr
    for (n, thr), x in zip(rules["dup_n_grams"], s.dup_ngram, strict=True):
        if x - b.frac_below > thr:
            return f"duplicated_{n}_n_grams"
        unsure = unsure or x + b.frac_above > thr
    lines = line_stats(text) if lines is None else lines
    if not lines.n:
        return "empty"
    if lines.punct / lines.n < rules["line_punct_thr"]:
        return "line_punct_ratio"
    if lines.dup_chars / max(len(text) - text.count("\n"), 1) > rules["char_duplicates_ratio"]:
        return "char_dup_ratio"
    newlines, thr = text.count("\n"), rules["new_line_ratio"]
    if newlines / n_hi > thr:
        return "list_ratio"
    unsure = unsure or newlines / n_lo > thr
    max_words = rules["max_doc_words"]
    if c_lo > max_words:
        return "gopher_long_doc"
    unsure = unsure or c_hi > max_words
    lo, hi = s.mean_length - b.mean_below, s.mean_length + b.mean_above
    thr = rules["min_avg_word_length"]
    if hi < thr:
        return "gopher_below_avg_threshold"
    unsure = unsure or lo < thr
    thr = rules["max_avg_word_length"]
    if lo > thr:
        return "gopher_above_avg_threshold"
    unsure = unsure or hi > thr
    thr = rules["max_symbol_word_ratio"]
    for count, reason in ((text.count("#"), "gopher_too_many_hashes"),
                          (text.count("...") + text.count("…"), "gopher_too_many_ellipsis")):  # fmt: skip
        if count / n_hi > thr:
            return reason
        unsure = unsure or count / n_lo > thr
    all_lines = text.splitlines()
    bullets = sum(1 for x in all_lines if x.lstrip().startswith(("•", "-")))
    if bullets / len(all_lines) > rules["max_bullet_lines_ratio"]:
        return "gopher_too_many_bullets"
    ellipsis = sum(1 for x in all_lines if x.rstrip().endswith(("...", "…")))
    if ellipsis / len(all_lines) > rules["max_ellipsis_lines_ratio"]:
        return "gopher_too_many_end_ellipsis"
    lo, hi, thr = s.alpha_ratio - b.alpha_below, s.alpha_ratio + b.alpha_above, rules["max_non_alpha_words_ratio"]
    if hi < thr:
        return "gopher_below_alpha_threshold"
    unsure = unsure or lo < thr
    most = stop_word_bound(text, rules["stop_words"]) if b is not EXACT else s.stop_words
    least, thr = s.stop_words - b.stop_below, rules["min_stop_words"]
    if most < thr:
        return "gopher_enough_stop_words"
    unsure = unsure or least < thr
    return UNSURE if unsure else None
