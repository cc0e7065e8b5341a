"""Batched MinHash: the same exact keys, signatures and band keys as the one-text implementation.

The expected values in golden/minhash_6bb6883.json were written by the implementation at commit
6bb6883 (per-text shingling, numpy blocks) before the batched, compiled path replaced it; they are
data, not produced by the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dataflow.config import DedupConfig
from dataflow.dedup.exact import canonical, canonical_batch
from dataflow.dedup.minhash import batch_signatures, dedup_keys, dedup_keys_batch, shingle_hashes, signature

GOLDEN = json.loads((Path(__file__).parent / "golden" / "minhash_6bb6883.json").read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(GOLDEN["configs"]))
def test_keys_equal_the_stored_values(name):
    cfg = DedupConfig(**GOLDEN["configs"][name])
    expected = GOLDEN["keys"][name]
    batch = dedup_keys_batch(GOLDEN["texts"], cfg)
    assert [{"exact": k.exact.hex(), "bands": k.bands} for k in batch] == expected
    one = [dedup_keys(t, cfg) for t in GOLDEN["texts"]]
    assert [{"exact": k.exact.hex(), "bands": k.bands} for k in one] == expected


def test_signatures_equal_the_stored_values_and_datasketch():
    from datasketch import MinHash

    canons = [canonical(t) for t in GOLDEN["texts"]]
    sigs = batch_signatures(canons, "char", 5, 112, 1)
    assert [[] if s is None else s.tolist() for s in sigs] == GOLDEN["signatures"]
    for c, sig in zip(canons, sigs, strict=True):
        hashes = shingle_hashes(c, "char", 5)
        if len(hashes) == 0:
            assert sig is None
            continue
        ref = MinHash(num_perm=112, seed=1, hashfunc=lambda h: h)  # datasketch on the same shingle hashes
        ref.update_batch(hashes.tolist())
        assert np.array_equal(sig, ref.hashvalues)
        assert np.array_equal(signature(hashes, 112, 1), ref.hashvalues)


def test_batch_order_and_neighbours_do_not_change_a_text_keys():
    cfg = DedupConfig()
    texts = GOLDEN["texts"]
    alone = [dedup_keys(t, cfg) for t in texts]
    shuffled = list(reversed(texts)) + texts[:3]
    got = dedup_keys_batch(shuffled, cfg)
    assert got[: len(texts)] == list(reversed(alone))
    assert got[len(texts) :] == alone[:3]
    assert dedup_keys_batch([], cfg) == []


def test_canonical_batch_equals_one_by_one():
    texts = ["  가나\u3000다  ", "ABC\x1cdef ", "\ue000 sentinel inside", "", "é ́", "ᄀ", "ᅡ 끝"]
    assert canonical_batch(texts) == [canonical(t) for t in texts]
    assert canonical_batch(texts[3:]) == [canonical(t) for t in texts[3:]]  # no sentinel: the joined path
