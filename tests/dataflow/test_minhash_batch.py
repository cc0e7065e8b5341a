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
LAYOUT_6BB6883 = {"bands": 14, "rows": 8}  # DedupConfig's defaults when the values were stored (the "default" config)


def golden_config(name: str) -> DedupConfig:
    return DedupConfig(**{**LAYOUT_6BB6883, **GOLDEN["configs"][name]})


@pytest.mark.parametrize("name", sorted(GOLDEN["configs"]))
def test_keys_equal_the_stored_values(name):
    cfg = golden_config(name)
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


HARD_TEXTS = [
    "  가나\u3000다  ",  # ideographic space, leading and trailing runs
    "ABC\x1cdef ",  # U+001C: whitespace to str.split, not to the regex
    "\x1c\x1d 앞 \x1e 가운데\x1f\x1c \x1f",  # separators at both ends (stripped) and inside (kept)
    "\x1c",
    "\ue000 sentinel inside",
    "",
    " \t\n\r\x0b\x0c\x85\u2028\u3000 ",  # whitespace only
    "...!!! ### ☆★ ",  # punctuation and symbols only
    "é ́",  # combining acute after a space: NFKC keeps it apart
    "e\u0301 cafe\u0301 한\u0308",  # combining marks composed (é) or kept (on Hangul)
    "ᄀ",
    "ᅡ 끝",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab",  # conjoining jamo compose to 각 한
    "大韓民國은 民主共和國이다. 豈 樂 丹",  # Hanja, and compatibility ideographs NFKC maps
    "ＡＢＣ１２３ （주） ㈜ ㎞ ½ ﬁ ｶﾞ",  # full-width, parenthesized, units, fraction, ligature, half-width kana
    "😀👍🏽 👨\u200d👩\u200d👧 🇰🇷 ok",  # emoji: symbols, skin tone, ZWJ (format), flag
    "zero\u200bwidth soft\u00adhyphen \ufeffbom \u2060joiner",  # format characters deleted inside words
    "Straße İstanbul ΣΑΣ ǅ ﬀ",  # casefold expands (ß -> ss, İ -> i̇) and folds Σ, titlecase digraphs
    "tab\there  two\n\nlines\r\n",
    "\ud800 lone surrogate",
    "a\u0000b\u0007c",  # control characters are kept
]


def test_canonical_batch_equals_one_by_one():
    texts = HARD_TEXTS
    assert canonical_batch(texts) == [canonical(t) for t in texts]
    for i in range(len(texts)):  # each alone, and every neighbour pair: nothing leaks across a text boundary
        assert canonical_batch(texts[i : i + 1]) == [canonical(texts[i])]
        assert canonical_batch(texts[i : i + 2]) == [canonical(t) for t in texts[i : i + 2]]
    assert canonical_batch([]) == []


def test_canonical_known_values():
    assert canonical("ＡＢＣ１２３ （주）") == "abc123 주"
    assert canonical("\x1c\x1d 앞 \x1e 가운데\x1f\x1c \x1f") == "앞 \x1e 가운데"
    assert canonical("zero\u200bwidth soft\u00adhyphen") == "zerowidth softhyphen"
    assert canonical("Straße 😀 ok!!") == "strasse ok"
    assert canonical("\u1100\u1161\u11a8") == "각"
    assert canonical(" \t\n\u3000 ") == ""


def test_canonical_batch_equals_one_by_one_on_random_mixtures():
    import random

    rng = random.Random(15)
    # code points from every class the canonical form treats differently, and the ones next to them
    pool = list("가나다한글abcXYZ019 \t\n.,!?·ㆍ…~@#") + [chr(c) for c in (0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0)]
    pool += [chr(c) for c in (0x200B, 0x200D, 0xAD, 0xFEFF, 0x3000, 0x2028, 0xFF21, 0xFF11, 0x3231, 0x1F600)]
    pool += [chr(c) for c in (0x0301, 0x0308, 0x1100, 0x1161, 0x11A8, 0xDF, 0x130, 0x3A3, 0xF900, 0xE000, 0xD800)]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randrange(0, 30))) for _ in range(2000)]
    assert canonical_batch(texts) == [canonical(t) for t in texts]


# default; 14x8 (17-128-byte bands); 1 row (4 bytes); 40 rows (160 bytes); 64 rows (256: xxhash per band)
LAYOUTS = [{}, LAYOUT_6BB6883, {"ngram": 1, "bands": 4, "rows": 1}, {"ngram": 3, "bands": 3, "rows": 40}]
LAYOUTS += [{"bands": 2, "rows": 64}]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_batch_keys_equal_the_one_text_functions_on_hard_texts(layout):
    from dataflow.dedup.exact import exact_hash
    from dataflow.dedup.minhash import band_keys

    cfg = DedupConfig(**layout)
    texts = [t for t in HARD_TEXTS if "\ud800" not in t] + GOLDEN["texts"]  # a lone surrogate has no UTF-8 key
    got = dedup_keys_batch(texts, cfg)
    for t, k in zip(texts, got, strict=True):
        assert k.exact == exact_hash(t)
        hashes = shingle_hashes(canonical(t), "char", cfg.ngram)
        assert k.bands == (
            band_keys(signature(hashes, cfg.num_perm, cfg.seed), cfg.bands, cfg.rows) if len(hashes) else []
        )


def test_compiled_xxh3_equals_the_xxhash_package():
    import xxhash

    from dataflow.dedup.minhash_kernel import XXH3_MAX_BYTES, xxh3_64

    rng = np.random.default_rng(15)
    for words in range(1, XXH3_MAX_BYTES // 4 + 1):  # every band width, 4 to 240 bytes
        for seed in (0, 1, 49, 2**63 + 12345, 2**64 - 1):
            w = rng.integers(0, 2**32, words, dtype=np.uint64).astype(np.uint32)
            assert int(xxh3_64(w, np.uint64(seed))) == xxhash.xxh3_64_intdigest(w.astype("<u4").tobytes(), seed)
