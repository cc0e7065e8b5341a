"""Verification of LSH candidate pairs: keep an edge only when the two signatures agree enough.

Banding with a low threshold (more bands, fewer rows) finds edited copies that a 0.72 S-curve
misses, but also admits pairs that merely share a few shingles. Each candidate edge is checked
by the MinHash estimate of its Jaccard similarity, the share of equal signature positions
(Broder 1997: P[min_p(A) = min_p(B)] = J(A, B)), and only verified edges are unioned into
clusters (``dedup.verify``: the threshold; 0 = off). With k permutations the estimate's standard
error is sqrt(J (1 - J) / k): 0.041 at J = 0.5 with the default 150 (50 bands x 3 rows).

The check is a pure function of two signatures, applied the same way to the same edges by every
engine: ``local.plan_dedup`` (numpy, in chunks), ``spark_cc`` (``mapInArrow`` over joined pairs)
and ``beam_cc`` (a Filter after joining signatures onto pairs). Signatures travel as bytes
(``signature_bytes``: the uint32 values little-endian, 4 x num_perm bytes; b"" for a text too short
to shingle), the type Arrow, Parquet, Spark and Beam all carry without conversion.

Candidates: with verification on, every pair of a band bucket is checked, not only the star from
its minimum (``components.bucket_pairs``): a copy that fails against the bucket minimum may still
verify against another member. Buckets over ``components.BUCKET_PAIRS_CAP`` members fall back to
their star, so a huge bucket (a template shared by thousands of pages) costs k - 1 checks, not k^2 / 2.
"""

from __future__ import annotations

import numpy as np

CHUNK_EDGES = 1 << 16  # edges verified per numpy pass: 65,536 x 150 x 4 B x 2 = 79 MB of gathered rows


def signature_bytes(sig: np.ndarray) -> bytes:
    """A signature (uint32[num_perm]) as the bytes a STAGING or dedup_index row carries."""
    return np.ascontiguousarray(sig, dtype="<u4").tobytes()


def signature_rows(blobs: list[bytes], num_perm: int) -> np.ndarray:
    """uint32[len(blobs), num_perm] from signature bytes; every blob must hold exactly num_perm values."""
    for blob in blobs:
        if len(blob) != 4 * num_perm:
            raise ValueError(f"a signature of {len(blob)} bytes, config says {num_perm} permutations x 4 bytes")
    return np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(blobs), num_perm)


def agreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of equal positions of signature rows ``a[i]`` and ``b[i]`` (arrays of shape (n, k) or (k,))."""
    return (np.asarray(a) == np.asarray(b)).mean(axis=-1)


def agree(a: bytes, b: bytes, threshold: float) -> bool:
    """Whether two signatures (``signature_bytes``) agree on >= ``threshold`` of their positions."""
    x, y = np.frombuffer(a, "<u4"), np.frombuffer(b, "<u4")
    return len(x) == len(y) > 0 and float(agreement(x, y)) >= threshold


def verified_batches(threshold: float):
    """A ``mapInArrow`` function over (src, dst, src_sig, dst_sig) batches keeping (src, dst) of the edges
    whose signatures agree on >= ``threshold``: ``verified_edges``' check, batch by batch (Spark)."""
    import pyarrow as pa

    def run(batches):
        for batch in batches:
            src_sig, dst_sig = (batch.column(c).to_pylist() for c in ("src_sig", "dst_sig"))
            if not src_sig:
                continue
            k = len(src_sig[0]) // 4
            keep = agreement(signature_rows(src_sig, k), signature_rows(dst_sig, k)) >= threshold
            mask = pa.array(keep)
            yield pa.RecordBatch.from_arrays(
                [batch.column("src").filter(mask), batch.column("dst").filter(mask)], names=["src", "dst"]
            )

    return run


def verified_edges(src: np.ndarray, dst: np.ndarray, sigs: np.ndarray, threshold: float) -> np.ndarray:
    """Mask of the edges (src[i], dst[i]) whose signatures (rows of ``sigs``) agree on >= ``threshold``."""
    return verified_pairs(sigs, src, sigs, dst, threshold)


def verified_pairs(
    a_sigs: np.ndarray, a: np.ndarray, b_sigs: np.ndarray, b: np.ndarray, threshold: float
) -> np.ndarray:
    """Mask of the pairs i whose signatures ``a_sigs[a[i]]`` and ``b_sigs[b[i]]`` agree on >= ``threshold``,
    ``CHUNK_EDGES`` pairs at a time (gathering every pair's two rows at once would need 1.2 kB per pair)."""
    out = np.zeros(len(a), dtype=bool)
    for at in range(0, len(a), CHUNK_EDGES):
        s, d = a[at : at + CHUNK_EDGES], b[at : at + CHUNK_EDGES]
        out[at : at + CHUNK_EDGES] = agreement(a_sigs[s], b_sigs[d]) >= threshold
    return out
