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

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

FNV_OFFSET, FNV_PRIME = 2166136261, 16777619  # fastText's Dictionary::hash (32-bit FNV-1a)
BOW, EOW = 60, 62  # '<' and '>', around a word before its character n-grams are taken
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
    """P(hq) of every newline-terminated line of ``buf`` (UTF-8) into ``out``; returns the line count.

    Tokens are split on fastText's separators (space, \\n, \\r, \\t, \\v, \\f, \\0); a token that is
    not a vocabulary word and starts with the label prefix is a label to fastText and scores nothing;
    a literal ``</s>`` token ends the line, as fastText's getLine stops at it.
    """
    line = 0
    total = word_margin[eos]
    rows = word_rows[eos]
    i = 0
    end = buf.shape[0]
    n_label = label.shape[0]
    while i < end:
        c = buf[i]
        if c == 10:  # end of line: its </s> is already counted
            out[line] = 1.0 / (1.0 + np.exp(-total / rows))
            line += 1
            total = word_margin[eos]
            rows = word_rows[eos]
            i += 1
            continue
        if c == 32 or c == 9 or c == 13 or c == 11 or c == 12 or c == 0:
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
            while i < end and buf[i] != 10:
                i += 1
            continue
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
    return line


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

    def scores(self, lines: list[str]) -> list[float]:
        """P(hq) of each line (one line each: no newline inside, as fastText's predict requires)."""
        buf = np.frombuffer(("\n".join(lines) + "\n").encode("utf-8"), np.uint8)
        out = np.empty(len(lines), np.float64)
        n = _score_lines(
            buf,
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
            out,
        )
        if n != len(lines):
            raise ValueError("a line to score holds a newline (fastText's predict refuses it too)")
        return out.tolist()


def collapse(model: Any, positive: str) -> WordTable | None:
    """The word table of a loaded fastText model (``fasttext.FastText._FastText``) scoring P(``positive``),
    or None where the model is not a dense two-label softmax model without word n-grams."""
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
    return WordTable(
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
    )
