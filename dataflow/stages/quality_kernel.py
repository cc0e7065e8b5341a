"""fastText's two-label score as one margin per vocabulary word: the quality model's scorer, compiled by numba.

A fastText supervised model with softmax loss scores a line as softmax(B h), h the mean of the
input rows A[i] of its tokens (each vocabulary word: its own row and its character n-gram rows;
each unknown word: its n-gram rows; the end-of-line token ``</s>``: its row). With two labels,

    P(hq) = sigmoid((B[hq] - B[lq]) . h) = sigmoid(sum_i m_i / n),   m = A (B[hq] - B[lq]),

n the number of rows summed. So the model collapses to one number per row, and a vocabulary word
to the sum of its rows' margins and their count (``collapse``): scoring a document adds two numbers
per known word instead of averaging 13-15 rows of 16 floats, and looks words up in an
open-addressing table of 32-bit hashes instead of fastText's (linear probing at load 0.7, a string
compare per probe: ~40% of fastText's predict time in perf). Unknown words get their n-gram rows
exactly as fastText's ``computeSubwords`` finds them (FNV-1a over the UTF-8 bytes, each byte
sign-extended as fastText's ``int8_t`` cast does, modulo ``bucket``). Same tokens (fastText's
separators), same rows, same margins: the scores are fastText's to float rounding, except that
fastText's ``predict`` reports p + 1e-5 (it stores log(p + 1e-5)). tests/dataflow/test_quality_model.py
compares the two on unknown words, label-like tokens and every separator, and each word's rows with
fastText's subword ids; tests/quality_models/test_word_table.py on 3,000 real examples with the default
model; bench/bench_quality_model.py times both.

Only dense (not quantized) two-label softmax models without word n-grams collapse this way: the
default model is one (quality_models.classifier.TrainParams); for any other, ``collapse`` returns
None and the stage keeps fastText's own ``predict``.

Imported on first use (importing numba takes time; ``cache=True`` keeps the machine code in
``__pycache__``). Hash arithmetic is in int64, cut to 32 bits after each multiply
((2^32 - 1) x 16777619 < 2^63, so nothing overflows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numba import njit

FNV_OFFSET, FNV_PRIME = 2166136261, 16777619  # fastText's Dictionary::hash (32-bit FNV-1a)
BOW, EOW = 60, 62  # '<' and '>', around a word before its character n-grams are taken
# values scored per feature token: 2 log2(n) < 128 for any int64 character count n, so every value
# ``_features`` can return has its row (the default max_chars, 20,000, needs 29)
FEATURE_VALUES = 128
BLOCK = 64  # bytes a text's end is searched in at a time (_score_docs)
EOS = "</s>"  # fastText's end-of-line token: every line ends with it (predict adds the newline)


@njit(cache=True, nogil=True, inline="always")
def _step(h: int, c: int) -> int:
    """One FNV-1a step on byte ``c``, sign-extended like fastText's ``uint32_t(int8_t(c))``."""
    c = np.int64(c)
    if c >= 128:
        c |= 0xFFFFFF00
    return ((h ^ c) * FNV_PRIME) & 0xFFFFFFFF


@njit(cache=True, nogil=True, inline="always")
def _byte(buf: np.ndarray, a: int, length: int, v: int) -> int:
    """Byte ``v`` of '<' + buf[a:a+length] + '>' (the word fastText takes n-grams of), without copying it."""
    if v == 0:
        return BOW
    if v == length + 1:
        return EOW
    return buf[a + v - 1]


@njit(cache=True, nogil=True)
def _ngram_rows(
    buf: np.ndarray, a: int, length: int, minn: int, maxn: int, bucket: int, bucket_margin: np.ndarray
) -> tuple[float, int]:
    """(sum of margins, count) of the character n-gram rows of the word buf[a:a+length]: fastText's
    computeSubwords (n-grams of minn..maxn characters of '<' + word + '>', a lone '<' or '>' left out,
    each hashed with FNV-1a modulo ``bucket``). The characters' starts and sign-extended bytes are
    laid out first: scoring the held-out sources' 2 KB documents (22% unknown words) took 23 us a
    document this way against 46 us branching on every byte of every n-gram."""
    size = length + 2
    # character starts of '<' + word + '>' and each character's FNV bytes, sign-extended
    starts = np.empty(size + 1, np.int64)
    ext = np.empty(size, np.int64)
    n_chars = 0
    for v in range(size):
        c = np.int64(_byte(buf, a, length, v))
        if (c & 0xC0) != 0x80:
            starts[n_chars] = v
            n_chars += 1
        ext[v] = c | 0xFFFFFF00 if c >= 128 else c
    starts[n_chars] = size
    total = 0.0
    rows = 0
    for i in range(n_chars):
        h = np.int64(FNV_OFFSET)
        top = min(n_chars, i + maxn)
        for k in range(i, top):
            for v in range(starts[k], starts[k + 1]):
                h = ((h ^ ext[v]) * FNV_PRIME) & 0xFFFFFFFF
            n = k - i + 1
            if n >= minn and not (n == 1 and (i == 0 or k == n_chars - 1)):
                total += bucket_margin[h % bucket]
                rows += 1
    return total, rows


@njit(cache=True, nogil=True)
def _hash(buf: np.ndarray, a: int, b: int) -> int:
    h = np.int64(FNV_OFFSET)
    for i in range(a, b):
        h = _step(h, buf[i])
    return h


@njit(cache=True, nogil=True)
def _find(
    buf: np.ndarray,
    a: int,
    b: int,
    h: int,
    slots: np.ndarray,
    slot_hash: np.ndarray,
    vocab: np.ndarray,
    offsets: np.ndarray,
) -> int:
    """The vocabulary id of buf[a:b], or -1: linear probing from the hash, bytes compared on equal hashes."""
    mask = slots.shape[0] - 1
    s = h & mask
    length = b - a
    while True:
        w = slots[s]
        if w < 0:
            return -1
        if slot_hash[s] == h:
            o = offsets[w]
            if offsets[w + 1] - o == length:
                k = 0
                while k < length and vocab[o + k] == buf[a + k]:
                    k += 1
                if k == length:
                    return w
        s = (s + 1) & mask


@njit(cache=True, nogil=True)
def _build(
    vocab: np.ndarray, offsets: np.ndarray, row_margin: np.ndarray, minn: int, maxn: int, bucket: int, eos: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(slots, slot_hash, word_margin, word_rows) for the words vocab[offsets[w]:offsets[w+1]], word w
    being input row w (fastText's initNgrams: the word's own row, then its n-grams; ``</s>`` alone)."""
    n_words = offsets.shape[0] - 1
    size = 16
    while size < 2 * n_words:  # load <= 0.5: ~1.5 probes per known word, ~2.5 per unknown one
        size *= 2
    slots = np.full(size, -1, np.int32)
    slot_hash = np.zeros(size, np.int64)
    word_margin = np.empty(n_words, np.float64)
    word_rows = np.empty(n_words, np.int64)
    bucket_margin = row_margin[n_words:]
    for w in range(n_words):
        a, b = offsets[w], offsets[w + 1]
        h = _hash(vocab, a, b)
        s = h & (size - 1)
        while slots[s] >= 0:
            s = (s + 1) & (size - 1)
        slots[s] = w
        slot_hash[s] = h
        word_margin[w], word_rows[w] = row_margin[w], 1
        if w != eos and maxn > 0:
            total, rows = _ngram_rows(vocab, a, b - a, minn, maxn, bucket, bucket_margin)
            word_margin[w] += total
            word_rows[w] += rows
    return slots, slot_hash, word_margin, word_rows


@njit(cache=True, nogil=True, inline="always")
def _p(total: float, rows: int) -> float:
    """P(hq) = sigmoid(mean margin of the rows)."""
    return 1.0 / (1.0 + np.exp(-total / rows))


@njit(cache=True, nogil=True)
def _tokens(
    buf: np.ndarray,
    i: int,
    end: int,
    newline_ends: bool,
    total: float,
    rows: int,
    slots: np.ndarray,
    slot_hash: np.ndarray,
    vocab: np.ndarray,
    offsets: np.ndarray,
    word_margin: np.ndarray,
    word_rows: np.ndarray,
    bucket_margin: np.ndarray,
    minn: int,
    maxn: int,
    bucket: int,
    eos: int,
    label: np.ndarray,
) -> tuple[int, float, int]:
    """(i, total, rows): the margins and row counts of the tokens of buf[i:end] added to ``total`` and ``rows``,
    in text order, with i where reading stopped.

    Tokens are split on fastText's separators (space, \\n, \\r, \\t, \\v, \\f, \\0); a token that is
    not a vocabulary word and starts with the label prefix is a label to fastText and scores nothing;
    a literal ``</s>`` token ends the line, as fastText's getLine stops at it. With ``newline_ends``
    reading stops at a newline (i is left on it); without, a newline is one more separator (what
    ``prepare``'s ``replace("\\n", " ")`` makes of it) and reading stops at ``end``.
    """
    n_label = label.shape[0]
    while i < end:
        c = buf[i]
        if c == 10 and newline_ends:
            return i, total, rows
        if c == 32 or c == 10 or c == 9 or c == 13 or c == 11 or c == 12 or c == 0:
            i += 1
            continue
        a = i
        h = np.int64(FNV_OFFSET)
        while i < end:
            c = buf[i]
            if c == 32 or c == 10 or c == 9 or c == 13 or c == 11 or c == 12 or c == 0:
                break
            h = _step(h, c)
            i += 1
        w = _find(buf, a, i, h, slots, slot_hash, vocab, offsets)
        if w == eos:  # a literal "</s>" ends the line for fastText (getLine stops there): its one </s> is counted
            while i < end and not (newline_ends and buf[i] == 10):
                i += 1
            return i, total, rows
        if w >= 0:
            total += word_margin[w]
            rows += word_rows[w]
            continue
        k = 0
        while k < n_label and a + k < i and buf[a + k] == label[k]:
            k += 1
        if k < n_label and maxn > 0:
            more, n = _ngram_rows(buf, a, i - a, minn, maxn, bucket, bucket_margin)
            total += more
            rows += n
    return i, total, rows


@njit(cache=True, nogil=True)
def _score_lines(
    buf: np.ndarray,
    slots: np.ndarray,
    slot_hash: np.ndarray,
    vocab: np.ndarray,
    offsets: np.ndarray,
    word_margin: np.ndarray,
    word_rows: np.ndarray,
    bucket_margin: np.ndarray,
    minn: int,
    maxn: int,
    bucket: int,
    eos: int,
    label: np.ndarray,
    out: np.ndarray,
) -> int:
    """P(hq) of every newline-terminated line of ``buf`` (UTF-8) into ``out``; returns the line count
    (written only while it fits ``out``: more lines than expected is the caller's error to raise)."""
    line = 0
    i = 0
    end = buf.shape[0]
    while i < end:
        # each line starts with its </s> counted (fastText adds it at the newline)
        i, total, rows = _tokens(
            buf, i, end, True, word_margin[eos], word_rows[eos], slots, slot_hash, vocab, offsets,
            word_margin, word_rows, bucket_margin, minn, maxn, bucket, eos, label,
        )  # fmt: skip
        if i < end:  # on the newline that ends the line
            if line < out.shape[0]:
                out[line] = _p(total, rows)
            line += 1
            i += 1
    return line


@njit(cache=True, nogil=True)
def _features(chars: int, newlines: int, q: int, e: int, dots: int) -> tuple[int, int, int, int]:
    """The four values of ``quality_model.features`` (sentence length, '?' rate, '!' rate, line length) from
    a text's character, newline, '?', '!' and '.' counts: the same integer and IEEE float64 operations in
    the same order, and the same ``log2`` (numba calls the C library's, as CPython's ``math.log2`` does),
    so the same integers; tests/dataflow/test_quality_model.py checks them against ``features`` on a grid."""
    n = chars + 1
    lines = newlines + 1
    ends = dots + q + e + lines
    return (
        int(2 * math.log2(n / ends + 1)),
        min(6, int(math.log2(1 + 1000 * q / n))),
        min(6, int(math.log2(1 + 1000 * e / n))),
        int(math.log2(n / lines + 1)),
    )


@njit(cache=True, nogil=True)
def _score_docs(
    buf: np.ndarray,
    lengths: np.ndarray,
    feature_margin: np.ndarray,
    feature_rows: np.ndarray,
    slots: np.ndarray,
    slot_hash: np.ndarray,
    vocab: np.ndarray,
    offsets: np.ndarray,
    word_margin: np.ndarray,
    word_rows: np.ndarray,
    bucket_margin: np.ndarray,
    minn: int,
    maxn: int,
    bucket: int,
    eos: int,
    label: np.ndarray,
    out: np.ndarray,
    nbytes: np.ndarray,
) -> None:
    """P(hq) of ``prepare(text)`` for texts laid end to end in ``buf`` (UTF-8, no separator), text d being
    ``lengths[d]`` characters: ``prepare`` done here. One pass over a text's bytes finds its end (UTF-8
    lead bytes counted up to its length) and counts what ``features`` counts; its four tokens' rows
    (``feature_margin``/``feature_rows``, scored once per table) come first, after ``</s>``, as they
    come first on the prepared line; then the text's tokens, a newline being a plain separator. The
    same rows added in the same order: the same floats as scoring the prepared line. ``nbytes[d]``: text
    d's UTF-8 size, found on the way (the stage's accounting needs it, and an encode per text costs ~2 us)."""
    i = 0
    end = buf.shape[0]
    for d in range(lengths.shape[0]):
        start = i
        length = lengths[d]
        # the text ends before its (length + 1)-th UTF-8 lead byte; '\n', '?', '!', '.' are one byte each
        # in UTF-8 and never inside another character's bytes. Whole blocks of BLOCK bytes are counted
        # branch-free while they stay within the length (one pass, ~1.2 us a 2 KB text against ~1.6 for
        # finding the end and then counting), the last bytes one by one
        chars = newlines = q = e = dots = 0
        while i + BLOCK <= end:
            leads = block_newlines = block_q = block_e = block_dots = 0
            for k in range(i, i + BLOCK):
                c = buf[k]
                leads += (c & 0xC0) != 0x80
                block_newlines += c == 10
                block_q += c == 63
                block_e += c == 33
                block_dots += c == 46
            if chars + leads > length:
                break
            chars += leads
            newlines += block_newlines
            q += block_q
            e += block_e
            dots += block_dots
            i += BLOCK
        while i < end:
            c = buf[i]
            if (c & 0xC0) != 0x80:
                if chars == length:
                    break
                chars += 1
                newlines += c == 10
                q += c == 63
                e += c == 33
                dots += c == 46
            i += 1
        total = word_margin[eos]
        rows = word_rows[eos]
        sl, qr, er, ll = _features(chars, newlines, q, e, dots)
        total += feature_margin[0, sl]
        rows += feature_rows[0, sl]
        total += feature_margin[1, qr]
        rows += feature_rows[1, qr]
        total += feature_margin[2, er]
        rows += feature_rows[2, er]
        total += feature_margin[3, ll]
        rows += feature_rows[3, ll]
        _, total, rows = _tokens(
            buf, start, i, False, total, rows, slots, slot_hash, vocab, offsets,
            word_margin, word_rows, bucket_margin, minn, maxn, bucket, eos, label,
        )  # fmt: skip
        out[d] = _p(total, rows)
        nbytes[d] = i - start


@dataclass(frozen=True)
class WordTable:
    """A collapsed two-label fastText model: margins per word and per n-gram bucket, and the word lookup."""

    vocab: np.ndarray  # uint8: the vocabulary's words in UTF-8, end to end, word w at offsets[w]:offsets[w+1]
    offsets: np.ndarray  # int64, n_words + 1
    slots: np.ndarray  # int32 open-addressing table (a power of two, load <= 0.5): word id or -1
    slot_hash: np.ndarray  # int64: the FNV-1a hash of the word in each slot
    word_margin: np.ndarray  # float64 per word: sum of m over its rows (its own and its n-grams')
    word_rows: np.ndarray  # int64 per word: how many rows that is
    bucket_margin: np.ndarray  # float64 per n-gram hash bucket: m of that row
    minn: int
    maxn: int
    bucket: int
    eos: int  # the word id of </s>
    label: np.ndarray  # uint8: the label prefix (``__label__``)
    # float64 / int64 (4, FEATURE_VALUES): margin and row count of the feature token prefixes[f] + str(v)
    feature_margin: np.ndarray
    feature_rows: np.ndarray

    def _lookup(self) -> tuple:
        """The arrays and parameters every kernel reads tokens with, in ``_tokens``' order."""
        return (
            self.slots,
            self.slot_hash,
            self.vocab,
            self.offsets,
            self.word_margin,
            self.word_rows,
            self.bucket_margin,
            self.minn,
            self.maxn,
            self.bucket,
            self.eos,
            self.label,
        )

    def scores(self, lines: list[str]) -> list[float]:
        """P(hq) of each line (one line each: no newline inside, as fastText's predict requires)."""
        buf = np.frombuffer(("\n".join(lines) + "\n").encode("utf-8"), np.uint8)
        out = np.empty(len(lines), np.float64)
        n = _score_lines(buf, *self._lookup(), out)
        if n != len(lines):
            raise ValueError("a line to score holds a newline (fastText's predict refuses it too)")
        return out.tolist()

    def text_scores(self, texts: list[str], max_chars: int) -> tuple[list[float], list[int]]:
        """P(hq) of ``quality_model.prepare(text, max_chars)`` for each text, prepared in the kernel
        (``_score_docs``), and the UTF-8 size of each text cut to ``max_chars``: the texts are cut
        and encoded once, end to end, and nothing else is done per text in Python (``prepare`` costs
        ~7 us a 2 KB document)."""
        cut = [t[:max_chars] for t in texts]  # a text already short enough is not copied (CPython)
        lengths = np.fromiter(map(len, cut), np.int64, len(cut))
        # surrogatepass: a lone surrogate is 3 bytes of a word, as doc_size counts it (normalize removes them)
        buf = np.frombuffer("".join(cut).encode("utf-8", "surrogatepass"), np.uint8)
        out = np.empty(len(cut), np.float64)
        nbytes = np.empty(len(cut), np.int64)
        _score_docs(buf, lengths, self.feature_margin, self.feature_rows, *self._lookup(), out, nbytes)
        return out.tolist(), nbytes.tolist()


def _feature_rows(prefixes: tuple[str, ...], lookup: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(margin, rows) of every feature token ``prefix + str(v)``, v < FEATURE_VALUES, scored as a token of a
    line (a vocabulary word's rows, or an unknown word's n-grams) from 0.0: adding it later gives the same
    float as adding the token in line order."""
    margin = np.zeros((len(prefixes), FEATURE_VALUES), np.float64)
    rows = np.zeros((len(prefixes), FEATURE_VALUES), np.int64)
    for f, prefix in enumerate(prefixes):
        for v in range(FEATURE_VALUES):
            token = np.frombuffer(f"{prefix}{v}".encode(), np.uint8)
            _, margin[f, v], rows[f, v] = _tokens(token, 0, token.shape[0], False, 0.0, 0, *lookup)
    return margin, rows


def collapse(model: Any, positive: str, feature_prefixes: tuple[str, ...]) -> WordTable | None:
    """The word table of a loaded fastText model (``fasttext.FastText._FastText``) scoring P(``positive``),
    or None where the model is not a dense two-label softmax model without word n-grams.
    ``feature_prefixes``: the names of ``quality_model.features``' four tokens, in their order."""
    args = model.f.getArgs()
    labels = model.get_labels()
    if (
        model.is_quantized()
        or args.loss.name != "softmax"
        or args.wordNgrams > 1
        or len(labels) != 2
        or positive not in labels
    ):
        return None
    try:
        words = model.get_words()  # strict UTF-8: a vocabulary of other bytes would not match text's
    except UnicodeDecodeError:
        return None
    if EOS not in words:  # trained on a file without a newline: </s> has no row, and the table assumes one
        return None
    out = model.get_output_matrix().astype(np.float64)
    pos = labels.index(positive)
    row_margin = model.get_input_matrix().astype(np.float64) @ (out[pos] - out[1 - pos])
    encoded = [w.encode("utf-8") for w in words]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    vocab = np.frombuffer(b"".join(encoded), np.uint8)
    eos = words.index(EOS)
    slots, slot_hash, word_margin, word_rows = _build(
        vocab, offsets, row_margin, args.minn, args.maxn, args.bucket, eos
    )
    table = WordTable(
        vocab,
        offsets,
        slots,
        slot_hash,
        word_margin,
        word_rows,
        row_margin[len(words) :].copy(),
        args.minn,
        args.maxn,
        args.bucket,
        eos,
        np.frombuffer(args.label.encode("utf-8"), np.uint8),
        np.empty((0, 0), np.float64),
        np.empty((0, 0), np.int64),
    )
    feature_margin, feature_rows = _feature_rows(feature_prefixes, table._lookup())
    return replace(table, feature_margin=feature_margin, feature_rows=feature_rows)
