"""The MinHash inner loop, compiled by numba: per text, the minimum of every permutation over its shingles.

numpy needs a (shingles x permutations) temporary per block and three passes over it (multiply,
add, reduce); the compiled loop keeps one signature row in registers and needs none:
bench/bench_dedup.py measures both on the same documents. Imported on first use (importing
numba takes time; ``cache=True`` keeps the machine code in ``__pycache__``, so each worker
process compiles once per install).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_LOW32 = np.uint64(0xFFFFFFFF)


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
