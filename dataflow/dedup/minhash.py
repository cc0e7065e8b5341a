"""Per-document dedup keys: exact hash plus MinHash LSH band keys, pure and engine-agnostic.

``dedup_keys(text, cfg)`` is all an engine computes per document; grouping the keys (a dict in
``local.py``, a DataFrame groupBy on Spark, GroupByKey on Beam) is separate, so every engine
groups the same integers and gets the same candidate pairs.

Steps (Broder 1997, "On the resemblance and containment of documents"; banding as in Leskovec,
Rajaraman & Ullman, *Mining of Massive Datasets* ch. 3.4):

1. canonical text (``exact.canonical``: NFKC keeps Hangul composed, casefold, punctuation and
   symbols dropped, whitespace collapsed);
2. units: code points without spaces (``char``, the default), whitespace words (``word``) or
   Kiwi morphemes (``morph``, kiwipiepy, loaded on first use). bench/bench_dedup.py chose
   ``char``: see the reasons on ``DedupConfig``;
3. shingles: every run of ``cfg.ngram`` consecutive units, hashed to 32 bits by a polynomial over
   the unit ids (vectorised: one numpy pass per position in the n-gram) and the 64-bit
   MurmurHash3 finalizer. Word and morpheme ids are ``xxh3_64`` of their UTF-8 bytes;
4. signature: datasketch's default ("affine32") scheme. datasketch's own
   ``MinHash(num_perm, seed)`` draws the permutation parameters, so the signature equals
   ``MinHash(num_perm, seed, hashfunc=lambda h: h).update_batch(shingle_hashes)`` exactly
   (a test checks it). ``dedup_keys_batch`` does steps 1-4 for many texts at once: NFKC and
   casefold per text, then the rest of the canonical form, the n-gram polynomial and the per-text
   minimum of every permutation in compiled loops over the batch's code points end to end
   (``minhash_kernel``, numba); bench/bench_dedup.py --speed compares it with ``MinHash.bulk`` on
   the same documents. ``dedup_keys`` is a batch of one;
5. band keys: the signature cut into ``cfg.bands`` bands of ``cfg.rows`` values; each band's
   little-endian bytes hashed with ``xxh3_64`` seeded by the band index, so equal rows in
   different bands never collide. Keys are signed int64 Python ints (Arrow int64 / Spark
   LongType hold them without conversion).

Two documents are near-duplicate candidates when any band key is equal: with Jaccard
similarity s the probability is 1 - (1 - s^r)^b (the LSH S-curve), threshold ≈ (1/b)^(1/r).

Everything is deterministic given the config: no Python ``hash()``, no process state except
a cache of the permutation arrays. Texts with fewer than ``cfg.ngram`` units have no shingles
and so no band keys: they take part in exact dedup only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from dataflow.dedup.exact import canonical_code_points, exact_hash, texts_of

if TYPE_CHECKING:
    from dataflow.config import DedupConfig

UNITS = ("char", "word", "morph")
_POLY = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier (golden ratio) for the n-gram polynomial


@dataclass(frozen=True)
class DedupKeys:
    """What one document contributes to dedup: 16-byte exact key, its LSH band keys and its signature."""

    exact: bytes
    bands: list[int]  # cfg.bands signed int64 values, or [] for texts shorter than one shingle
    # the MinHash signature, uint32 little-endian x cfg.num_perm (verify.signature_bytes), which verifies
    # candidate pairs (dedup.verify); b"" with the band keys empty
    signature: bytes = b""


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, a bijection that spreads the polynomial's low-entropy bits."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it to every input hash before permuting."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


@functools.cache
def _kiwi():  # pragma: no cover - exercised by the benchmark only
    from kiwipiepy import Kiwi

    return Kiwi(model_type="cong")  # the model kiwipiepy 0.24 ships ("sbg" and "knlm" are gone)


def token_ids(tokens: list[str]) -> np.ndarray:
    """uint64 id of each word or morpheme: xxh3_64 of its UTF-8 bytes."""
    return np.fromiter((xxhash.xxh3_64_intdigest(t.encode("utf-8")) for t in tokens), np.uint64, len(tokens))


def unit_ids(canon: str, unit: str) -> np.ndarray:
    """uint64 id of every unit of canonical text: code points, or hashes of words / morphemes."""
    if unit == "char":
        # spaces are dropped: Korean spacing (띄어쓰기) varies between copies of one text, and a
        # shingle across a word boundary still carries the boundary through its neighbours
        data = canon.replace(" ", "").encode("utf-32-le")
        return np.frombuffer(data, dtype="<u4").astype(np.uint64)
    if unit == "word":
        return token_ids(canon.split())
    if unit == "morph":
        return token_ids([t.form for t in _kiwi().tokenize(canon)])
    raise ValueError(f"unknown shingle unit {unit!r}; expected one of {UNITS}")


def shingle_hashes(canon: str, unit: str, ngram: int) -> np.ndarray:
    """32-bit hashes (uint32, with repeats) of every ``ngram``-unit shingle; empty when too short."""
    return ngram_hashes(unit_ids(canon, unit), ngram)


def ngram_hashes(ids: np.ndarray, ngram: int) -> np.ndarray:
    """32-bit hash of every run of ``ngram`` consecutive unit ids (uint32; empty when fewer ids)."""
    m = len(ids) - ngram + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint32)
    h = np.zeros(m, dtype=np.uint64)
    for k in range(ngram):  # h = sum ids[i+k] * POLY^(n-1-k) mod 2^64, one vector op per position
        h = h * _POLY + ids[k : k + m]
    return (_fmix64(h) >> np.uint64(32)).astype(np.uint32)


@functools.cache
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of datasketch's affine32 permutations h -> a*h + b mod 2^32, drawn by datasketch itself."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def signature(hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signature (uint32[num_perm]) of a set of 32-bit shingle hashes; all 0xFFFFFFFF when empty."""
    from dataflow.dedup.minhash_kernel import segment_minhash

    a, b = _permutations(num_perm, seed)
    hv = _fmix32(np.ascontiguousarray(hashes, dtype=np.uint32))
    out = np.empty((1, num_perm), dtype=np.uint32)
    segment_minhash(hv, np.array([0, len(hv)], dtype=np.int64), a, b, out)
    return out[0]


def band_keys(sig: np.ndarray, bands: int, rows: int) -> list[int]:
    """One signed 64-bit key per band: xxh3_64 of the band's rows, seeded by the band index."""
    if len(sig) < bands * rows:
        raise ValueError(f"signature of {len(sig)} values is shorter than {bands} bands x {rows} rows")
    data = sig.astype("<u4").tobytes()
    width = rows * 4
    keys = []
    for i in range(bands):
        k = xxhash.xxh3_64_intdigest(data[i * width : (i + 1) * width], seed=i)
        keys.append(k - (1 << 64) if k >= 1 << 63 else k)  # to int64 range, for Arrow and Spark
    return keys


def _concat_units(canons: list[str], unit: str) -> tuple[np.ndarray, np.ndarray]:
    """(word or morpheme ids of all texts end to end, start offset of each text plus the total) for a batch."""
    parts = [unit_ids(c, unit) for c in canons]
    ids = np.concatenate(parts) if parts else np.empty(0, np.uint64)
    lengths = np.fromiter(map(len, parts), np.int64, len(parts))
    offsets = np.zeros(len(canons) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return ids, offsets


def _char_signatures(
    cps: np.ndarray, offsets: np.ndarray, ngram: int, num_perm: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``signature_matrix`` for ``char`` units, from the code points of the canonical texts end to end."""
    from dataflow.dedup.minhash_kernel import char_minhash

    a, b = _permutations(num_perm, seed)
    sigs = np.empty((len(offsets) - 1, num_perm), dtype=np.uint32)
    docs = np.flatnonzero(char_minhash(cps, offsets, ngram, a, b, sigs))
    return docs, sigs if len(docs) == len(sigs) else sigs[docs]


def signature_matrix(
    canons: list[str], unit: str, ngram: int, num_perm: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the texts that have a shingle, their signatures as uint32[len(indices), num_perm]).

    Equal to ``signature(shingle_hashes(c, unit, ngram), num_perm, seed)`` per text (a test checks
    it against values stored from the one-text implementation). ``char`` units: one compiled loop
    over the batch's code points end to end rolls the n-gram polynomial and takes each text's minimum
    of every permutation (``minhash_kernel.char_minhash``), with no array per shingle. Words and
    morphemes: the n-gram polynomial runs once over the batch's ids laid end to end, shingles that
    would cross from one text into the next are cut out, and the minima come from
    ``minhash_kernel.segment_minhash``. No Python runs per shingle.
    """
    if unit == "char":  # utf-32: one 4-byte unit per code point, so a str's len is its length there
        cps = np.frombuffer("".join(canons).encode("utf-32-le", "surrogatepass"), dtype="<u4")
        offsets = np.zeros(len(canons) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, canons), np.int64, len(canons)), out=offsets[1:])
        return _char_signatures(cps, offsets, ngram, num_perm, seed)
    ids, offsets = _concat_units(canons, unit)
    counts = np.maximum(np.diff(offsets) - ngram + 1, 0)  # shingles per text
    docs = np.flatnonzero(counts)
    sigs = np.empty((len(docs), num_perm), dtype=np.uint32)
    if len(docs) == 0:
        return docs, sigs
    from dataflow.dedup.minhash_kernel import segment_minhash

    hashes = ngram_hashes(ids, ngram)  # every window of the concatenation, also those across texts
    first = np.cumsum(counts) - counts  # position of each text's first shingle among the kept ones
    starts = np.repeat(offsets[:-1] - first, counts) + np.arange(counts.sum())
    hv = _fmix32(hashes[starts])  # the windows inside one text, in text order
    a, b = _permutations(num_perm, seed)
    seg = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(counts[docs], out=seg[1:])
    segment_minhash(hv, seg, a, b, sigs)
    return docs, sigs


def batch_signatures(canons: list[str], unit: str, ngram: int, num_perm: int, seed: int) -> list[np.ndarray | None]:
    """MinHash signature of each canonical text (None when it has no shingle), the whole batch at once."""
    docs, sigs = signature_matrix(canons, unit, ngram, num_perm, seed)
    out: list[np.ndarray | None] = [None] * len(canons)
    for j, d in enumerate(docs.tolist()):
        out[d] = sigs[j]
    return out


def _band_key_rows(sigs: np.ndarray, bands: int, rows: int) -> list[list[int]]:
    """``band_keys`` of every row of a batch's signatures: one compiled loop (``minhash_kernel.band_hashes``,
    XXH3 for bands of up to 240 bytes, i.e. 60 rows; a test compares it with the xxhash package), else per band."""
    from dataflow.dedup.minhash_kernel import XXH3_MAX_BYTES, band_hashes

    if rows * 4 > XXH3_MAX_BYTES:
        return [band_keys(s, bands, rows) for s in sigs]
    keys = np.empty((len(sigs), bands), dtype=np.uint64)
    band_hashes(sigs, bands, rows, keys)
    return keys.view(np.int64).tolist()  # the same 64 bits as signed ints, band_keys' int64 range


def dedup_keys_batch(texts: list[str], cfg: DedupConfig) -> list[DedupKeys]:
    """``dedup_keys`` of every text, computed together (see ``signature_matrix``); same values, faster."""
    cps, offsets = canonical_code_points(texts)
    canons = texts_of(cps, offsets)
    exacts = [exact_hash(t, c) for t, c in zip(texts, canons, strict=True)]
    if not cfg.near:
        return [DedupKeys(e, []) for e in exacts]
    if cfg.unit == "char":  # from the canonical code points as they are, without a decode and encode
        docs, sigs = _char_signatures(cps, offsets, cfg.ngram, cfg.num_perm, cfg.seed)
    else:
        docs, sigs = signature_matrix(canons, cfg.unit, cfg.ngram, cfg.num_perm, cfg.seed)
    bands: list[list[int]] = [[] for _ in texts]
    signatures = [b""] * len(texts)
    data = memoryview(sigs.astype("<u4", copy=False).tobytes())  # the signatures' bytes, for the whole batch at once
    row = cfg.num_perm * 4
    for j, (d, keys) in enumerate(zip(docs.tolist(), _band_key_rows(sigs, cfg.bands, cfg.rows), strict=True)):
        at = j * row
        bands[d] = keys
        signatures[d] = bytes(data[at : at + row])
    return [DedupKeys(e, b, s) for e, b, s in zip(exacts, bands, signatures, strict=True)]


def dedup_keys(text: str, cfg: DedupConfig) -> DedupKeys:
    """Exact key and LSH band keys of one document (no band keys when near dedup is off or the text is short)."""
    return dedup_keys_batch([text], cfg)[0]


def load_kernels(cfg: DedupConfig) -> None:
    """numba's import and the MinHash kernels loaded from their on-disk cache (0.5-1.5 s in a fresh process
    under py-spy), by the keys of one short text. The workers key their documents with them, and so does the
    driver after every engine: the commit keys the committed documents for the dedup index (``nightly.index_parts``)."""
    dedup_keys_batch(["preload " * 20], cfg)
