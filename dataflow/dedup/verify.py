"""Verification of LSH candidate pairs: keep an edge only when the two signatures agree enough.

Banding with a low threshold (more bands, fewer rows) finds edited copies that a 0.72 S-curve
misses, but also admits pairs that merely share a few shingles. Each candidate edge is checked
by the MinHash estimate of its Jaccard similarity, the share of equal signature positions
(Broder 1997: P[min_p(A) = min_p(B)] = J(A, B)), and only verified edges are unioned into
clusters. The check is a pure function of two signatures, so every engine could apply it the
same way to the same edges; today only bench/bench_dedup.py uses it (no engine does). With k
permutations the estimate's standard error is sqrt(J (1 - J) / k): 0.047 at J = 0.5 with 112
permutations, which is what bench/bench_dedup.py's verified rows measure.
"""

from __future__ import annotations

import numpy as np


def agreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of equal positions of signature rows ``a[i]`` and ``b[i]`` (arrays of shape (n, k) or (k,))."""
    return (np.asarray(a) == np.asarray(b)).mean(axis=-1)


def verified_edges(src: np.ndarray, dst: np.ndarray, sigs: np.ndarray, threshold: float) -> np.ndarray:
    """Mask of the edges (src[i], dst[i]) whose signatures (rows of ``sigs``) agree on >= ``threshold``."""
    if len(src) == 0:
        return np.zeros(0, dtype=bool)
    return agreement(sigs[src], sigs[dst]) >= threshold
