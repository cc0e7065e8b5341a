"""The MinHash inner loops, compiled by numba: canonical text and signatures over a batch's code points.

numpy needs a (shingles x permutations) temporary per block and three passes over it (multiply,
add, reduce), and Python's regexes and ``str.split`` walk the text several times; these loops walk
it once and keep one signature row in registers: bench/bench_dedup.py --speed measures them on the
same documents as datasketch. Imported on first use (importing numba takes time; ``cache=True``
keeps the machine code in ``__pycache__``, so each worker process compiles once per install).

Arithmetic is on ``np.uint64`` throughout (numba widens uint32 operands to 64 bits; mixing in a
signed int would turn the expression into float64), cut to the low 32 bits where the reference
works in uint32: the results are bit-for-bit those of ``minhash.ngram_hashes`` and datasketch's
affine32 scheme (tests/dataflow/test_minhash_batch.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# code point classes of exact.code_point_classes: what canonical text does with each code point
KEEP, SPACE, DROP, SEPARATOR = 0, 1, 2, 3
_LOW32 = np.uint64(0xFFFFFFFF)
_POLY = np.uint64(0x9E3779B97F4A7C15)  # minhash._POLY, the n-gram polynomial's multiplier
_SPACE = np.uint32(32)


@njit(cache=True, nogil=True)
def canonical_runs(
    cps: np.ndarray, offsets: np.ndarray, classes: np.ndarray, out: np.ndarray, out_offsets: np.ndarray
) -> None:
    """Canonical code points of every text, from its NFKC-casefolded code points (``exact.canonical``'s last steps).

    ``cps``: uint32 code points of the texts end to end, text d at ``offsets[d]:offsets[d+1]``;
    ``classes``: uint8 class of every code point. Writes text d's canonical code points to
    ``out[out_offsets[d]:out_offsets[d+1]]``: DROP deleted, each run of SPACE (whitespace,
    punctuation, symbols) one U+0020 between kept code points, none at either end; SEPARATOR
    (U+001C-U+001F: kept by the regex, stripped by ``str.strip``) kept except at either end. Every
    U+0020 written stands for at least one SPACE read, so ``out`` needs no more room than ``cps``.
    """
    w = 0
    out_offsets[0] = 0
    for d in range(offsets.shape[0] - 1):
        start = w
        pending = False  # a SPACE run since the last code point written
        for i in range(offsets[d], offsets[d + 1]):
            c = cps[i]
            k = classes[c]
            if k == SPACE:
                pending = True
            elif k != DROP:  # KEEP or SEPARATOR
                if w == start:
                    if k == SEPARATOR:  # leading: str.strip removes it
                        continue
                elif pending:
                    out[w] = _SPACE
                    w += 1
                pending = False
                out[w] = c
                w += 1
        while w > start and (out[w - 1] == _SPACE or classes[out[w - 1]] == SEPARATOR):  # trailing separators
            w -= 1
        out_offsets[d + 1] = w


@njit(cache=True, nogil=True, inline="always")
def _fmix64(h: np.uint64) -> np.uint64:
    """MurmurHash3's 64-bit finalizer (``minhash._fmix64``)."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


@njit(cache=True, nogil=True, inline="always")
def _fmix32(h: np.uint64) -> np.uint64:
    """MurmurHash3's 32-bit finalizer (``minhash._fmix32``) on a value below 2^32."""
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _LOW32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _LOW32
    return h ^ (h >> np.uint64(16))


@njit(cache=True, nogil=True)
def char_minhash(
    cps: np.ndarray, offsets: np.ndarray, ngram: int, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Signature of every text's character ``ngram``-grams, spaces (U+0020) left out; returns shingles per text.

    Per text: the n-gram polynomial ``h = sum c[i+k] * POLY^(n-1-k) mod 2^64`` rolled over the
    code points (``h * POLY + new - leaving * POLY^n``: exact in arithmetic mod 2^64), its 64-bit
    finalizer's top 32 bits (``minhash.ngram_hashes``) and the 32-bit finalizer datasketch applies,
    into a scratch row; then, permutation by permutation, ``out[d, p] = min (a[p] * h + b[p]) mod
    2^32`` over that row (``segment_minhash``'s values). The min over a contiguous row vectorises
    (16 shingles per AVX-512 instruction); shingle by shingle over all permutations measured 1.7x
    slower. Rows of texts without a shingle are all 0xFFFFFFFF.
    """
    n_docs = offsets.shape[0] - 1
    longest = 0
    for d in range(n_docs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    rolled = np.empty(longest, np.uint64)  # the polynomial after each code point of one text
    hv = np.empty(longest, np.uint32)  # one text's shingle hashes, finalized
    window = np.zeros(ngram, np.uint64)  # the last ngram code points, a ring
    top = np.uint64(1)  # POLY^n
    for _ in range(ngram):
        top *= _POLY
    counts = np.zeros(n_docs, np.int64)
    for d in range(n_docs):
        window[:] = 0  # so the first ngram - 1 steps subtract nothing
        h = np.uint64(0)
        m = 0  # code points of this text so far, spaces left out
        slot = 0  # == m % ngram, without a division per code point
        for i in range(offsets[d], offsets[d + 1]):
            c = cps[i]
            if c == _SPACE:
                continue
            x = np.uint64(c)
            h = h * _POLY + x - window[slot] * top
            window[slot] = x
            slot = slot + 1 if slot + 1 < ngram else 0
            rolled[m] = h
            m += 1
        shingles = max(m - ngram + 1, 0)
        for j in range(shingles):  # the window ending at code point j + ngram - 1
            hv[j] = np.uint32(_fmix32(_fmix64(rolled[j + ngram - 1]) >> np.uint64(32)))
        counts[d] = shingles
        row = out[d]
        for p in range(a.shape[0]):
            ap, bp = a[p], b[p]
            low = np.uint32(0xFFFFFFFF)
            for j in range(shingles):
                low = min(low, np.uint32(ap * hv[j] + bp))  # uint32 truncation: the product mod 2^32
            row[p] = low
    return counts


@njit(cache=True, nogil=True)
def segment_minhash(hv: np.ndarray, seg: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out[d, p] = min over i in [seg[d], seg[d+1]) of (a[p] * hv[i] + b[p]) mod 2^32 (0xFFFFFFFF if empty).

    ``hv``: uint32 shingle hashes (already through datasketch's finalizer); ``a``, ``b``: uint32
    permutation parameters; ``out``: uint32[len(seg) - 1, len(a)]. The product is taken in 64 bits
    and cut to its low 32, which is datasketch's affine32 arithmetic exactly.
    """
    perms = a.shape[0]
    for d in range(seg.shape[0] - 1):
        row = out[d]
        for p in range(perms):
            row[p] = np.uint32(0xFFFFFFFF)
        for i in range(seg[d], seg[d + 1]):
            h = np.uint64(hv[i])
            for p in range(perms):
                v = np.uint32((np.uint64(a[p]) * h + np.uint64(b[p])) & _LOW32)
                if v < row[p]:
                    row[p] = v


# XXH3's default secret, its first 136 bytes (XXH3_SECRET_SIZE_MIN): all that inputs of up to 240 bytes read
_SECRET_BYTES = np.frombuffer(
    bytes.fromhex(
        "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
        "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
        "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
        "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
        "eac5ac8334d3ebc3"
    ),
    dtype=np.uint8,
)
# its little-endian 64-bit word at every byte offset (the 129-240-byte path reads at offsets 3 + 16k and 119)
_XXH3_SECRET64 = np.array([int.from_bytes(_SECRET_BYTES[k : k + 8].tobytes(), "little") for k in range(129)], np.uint64)
_PRIME64_1 = np.uint64(0x9E3779B185EBCA87)
XXH3_MAX_BYTES = 240  # longer inputs take XXH3's long-input path, which band_hashes does not implement


@njit(cache=True, nogil=True, inline="always")
def _secret64(at: int) -> np.uint64:
    """Little-endian 64-bit word of the secret at byte ``at`` (any alignment)."""
    return _XXH3_SECRET64[at]


@njit(cache=True, nogil=True, inline="always")
def _input64(words: np.ndarray, at: int) -> np.uint64:
    """Little-endian 64-bit word at byte ``at`` (a multiple of 4) of uint32 ``words``."""
    k = at >> 2
    return np.uint64(words[k]) | (np.uint64(words[k + 1]) << np.uint64(32))


@njit(cache=True, nogil=True, inline="always")
def _mul128_fold64(x: np.uint64, y: np.uint64) -> np.uint64:
    """Low 64 bits xor high 64 bits of the 128-bit product, from four 32x32-bit products (XXH_mult64to128)."""
    lo_lo = (x & _LOW32) * (y & _LOW32)
    hi_lo = (x >> np.uint64(32)) * (y & _LOW32)
    lo_hi = (x & _LOW32) * (y >> np.uint64(32))
    hi_hi = (x >> np.uint64(32)) * (y >> np.uint64(32))
    cross = (lo_lo >> np.uint64(32)) + (hi_lo & _LOW32) + lo_hi
    upper = (hi_lo >> np.uint64(32)) + (cross >> np.uint64(32)) + hi_hi
    lower = (cross << np.uint64(32)) | (lo_lo & _LOW32)
    return lower ^ upper


@njit(cache=True, nogil=True, inline="always")
def _swap_bytes(v: np.uint64, width: int) -> np.uint64:
    """The low ``width`` bytes of ``v`` in reverse order (XXH_swap32, XXH_swap64)."""
    out = np.uint64(0)
    for k in range(width):
        out |= ((v >> np.uint64(8 * k)) & np.uint64(0xFF)) << np.uint64(8 * (width - 1 - k))
    return out


@njit(cache=True, nogil=True, inline="always")
def _avalanche(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(37)
    h *= np.uint64(0x165667919E3779F9)
    return h ^ (h >> np.uint64(32))


@njit(cache=True, nogil=True, inline="always")
def _mix16(words: np.ndarray, at: int, secret_at: int, seed: np.uint64) -> np.uint64:
    lo = _input64(words, at) ^ (_secret64(secret_at) + seed)
    hi = _input64(words, at + 8) ^ (_secret64(secret_at + 8) - seed)
    return _mul128_fold64(lo, hi)


@njit(cache=True, nogil=True)
def xxh3_64(words: np.ndarray, seed: np.uint64) -> np.uint64:
    """XXH3-64 with ``seed`` of the little-endian bytes of uint32 ``words`` (4 to 240 bytes).

    The short- and mid-input paths of xxHash 0.8 (``XXH3_len_4to8_64b``, ``9to16``, ``17to128``,
    ``129to240``) for lengths that are a multiple of 4; a test compares it with the xxhash package.
    """
    n = words.shape[0] * 4
    if n <= 8:
        s = seed ^ (_swap_bytes(seed & _LOW32, 4) << np.uint64(32))
        x = (np.uint64(words[words.shape[0] - 1]) + (np.uint64(words[0]) << np.uint64(32))) ^ (
            (_secret64(8) ^ _secret64(16)) - s
        )
        x ^= ((x << np.uint64(49)) | (x >> np.uint64(15))) ^ ((x << np.uint64(24)) | (x >> np.uint64(40)))
        x *= np.uint64(0x9FB21C651E98DF25)
        x ^= (x >> np.uint64(35)) + np.uint64(n)
        x *= np.uint64(0x9FB21C651E98DF25)
        return x ^ (x >> np.uint64(28))
    if n <= 16:
        lo = _input64(words, 0) ^ ((_secret64(24) ^ _secret64(32)) + seed)
        hi = _input64(words, n - 8) ^ ((_secret64(40) ^ _secret64(48)) - seed)
        return _avalanche(np.uint64(n) + _swap_bytes(lo, 8) + hi + _mul128_fold64(lo, hi))
    acc = np.uint64(n) * _PRIME64_1
    if n <= 128:
        if n > 32:
            if n > 64:
                if n > 96:
                    acc += _mix16(words, 48, 96, seed)
                    acc += _mix16(words, n - 64, 112, seed)
                acc += _mix16(words, 32, 64, seed)
                acc += _mix16(words, n - 48, 80, seed)
            acc += _mix16(words, 16, 32, seed)
            acc += _mix16(words, n - 32, 48, seed)
        acc += _mix16(words, 0, 0, seed)
        acc += _mix16(words, n - 16, 16, seed)
        return _avalanche(acc)
    for i in range(8):
        acc += _mix16(words, 16 * i, 16 * i, seed)
    acc = _avalanche(acc)
    for i in range(8, n // 16):
        acc += _mix16(words, 16 * i, 16 * (i - 8) + 3, seed)  # XXH3_MIDSIZE_STARTOFFSET
    acc += _mix16(words, n - 16, 136 - 17, seed)  # XXH3_SECRET_SIZE_MIN - XXH3_MIDSIZE_LASTOFFSET
    return _avalanche(acc)


@njit(cache=True, nogil=True)
def band_hashes(sigs: np.ndarray, bands: int, rows: int, out: np.ndarray) -> None:
    """out[d, i] = xxh3_64 of band i of signature d (its ``rows`` values' bytes) seeded by i (``minhash.band_keys``)."""
    for d in range(sigs.shape[0]):
        for i in range(bands):
            out[d, i] = xxh3_64(sigs[d, i * rows : (i + 1) * rows], np.uint64(i))
