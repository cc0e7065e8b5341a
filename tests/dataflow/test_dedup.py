"""Exact and MinHash LSH dedup: keys, keep rule, components, local grouping."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import unicodedata

import numpy as np
import pytest

from dataflow.config import DedupConfig
from dataflow.dedup import (
    EXACT_DUPLICATE,
    NEAR_DUPLICATE,
    bucket_edges,
    canonical,
    connected_components,
    dedup_keys,
    exact_hash,
    keep_id,
    plan_dedup,
)
from dataflow.dedup.components import UnionFind
from dataflow.dedup.minhash import band_keys, ngram_hashes, shingle_hashes, signature, unit_ids

# Written for these tests: a short Korean article, a lightly edited copy, and an unrelated text.
ARTICLE = (
    "서울시는 올해 여름 폭염에 대비해 무더위 쉼터를 지난해보다 두 배 늘린 천여 곳으로 확대한다고 밝혔다. "
    "쉼터는 주민센터와 경로당, 도서관 등에 마련되며 평일에는 오후 아홉 시까지 문을 연다. "
    "시는 또 홀몸 어르신 가구를 대상으로 방문 건강관리 서비스를 강화하고, 폭염 특보가 내려지면 "
    "생활지원사가 하루 한 번 이상 안부를 확인하도록 할 계획이다. 자세한 쉼터 위치는 시 누리집에서 확인할 수 있다."
)
EDITED = (
    "서울시는 올해 여름 폭염에 대비해 무더위 쉼터를 지난해보다 두 배 늘린 천여 곳으로 늘린다고 밝혔다. "
    "쉼터는 주민센터와 경로당, 도서관 등에 마련되며 평일에는 오후 아홉 시까지 문을 연다. "
    "시는 또 홀몸 어르신 가구를 대상으로 방문 건강관리 서비스를 강화하고, 폭염 특보가 내려지면 "
    "생활지원사가 하루 한 번 이상 안부를 확인하도록 할 계획이다. 쉼터 위치는 시 누리집에서 확인할 수 있다."
)
UNRELATED = (
    "국립중앙박물관은 다음 달부터 고려 시대 청자 특별전을 연다고 밝혔다. 전시에는 국보와 보물을 포함해 "
    "이백여 점의 유물이 나오며, 관람객은 가마터에서 발굴된 파편을 직접 만져 볼 수 있다. 관람료는 무료이고 "
    "온라인으로 미리 예약하면 전문 해설사의 설명을 들을 수 있다. 전시는 석 달 동안 이어진다."
)


def keys_row(doc_id: str, text: str, cfg: DedupConfig) -> tuple[str, bytes, list[int], int, bytes]:
    k = dedup_keys(text, cfg)
    return doc_id, k.exact, k.bands, 0, k.signature


# ---------------------------------------------------------------- exact keys
def test_exact_key_ignores_whitespace_case_punctuation_and_width():
    base = exact_hash("Hello World 서울시 발표")
    assert exact_hash("  hello,\n\tWORLD!  서울시   발표.  ") == base
    assert exact_hash("“Hello” World — 서울시 발표…") == base
    assert exact_hash("Ｈｅｌｌｏ Ｗｏｒｌｄ 서울시 발표") == base  # full-width forms fold under NFKC
    assert exact_hash("Hello World 서울시 발표\u200b") == base  # zero-width space
    assert exact_hash("Hello World 부산시 발표") != base
    assert len(base) == 16


def test_canonical_keeps_hangul_composed():
    nfd = unicodedata.normalize("NFD", "한국어 문서")
    assert len(nfd) > len("한국어 문서")  # the decomposed input really is jamo
    assert canonical(nfd) == "한국어 문서"
    assert exact_hash(nfd) == exact_hash("한국어 문서")


def test_empty_and_symbol_only_texts():
    cfg = DedupConfig()
    empty = dedup_keys("", cfg)
    assert empty.bands == []
    assert dedup_keys("", cfg).exact == empty.exact
    assert dedup_keys("   \n", cfg).bands == []
    # no letters at all: keyed by the text itself, so different symbol strings stay distinct
    assert exact_hash("!!!") != exact_hash("???")
    assert exact_hash("!!!") != exact_hash("")
    # shorter than one shingle (5 characters without spaces): exact key only
    assert dedup_keys("가나 다라", cfg).bands == []
    assert len(dedup_keys("가나다라마", cfg).bands) == cfg.bands


# ---------------------------------------------------------------- signatures and band keys
def test_signature_equals_datasketch_minhash():
    from datasketch import MinHash

    hashes = shingle_hashes(canonical(ARTICLE), "char", 5)
    ours = signature(hashes, 112, 7)
    ref = MinHash(num_perm=112, seed=7, hashfunc=lambda h: h)
    ref.update_batch(hashes.tolist())
    assert np.array_equal(ours, ref.hashvalues)


def test_char_units_ignore_spacing_and_word_units_split_on_it():
    assert shingle_hashes(canonical("무더위 쉼터를 늘린다"), "char", 3).tolist() == (
        shingle_hashes(canonical("무더위쉼터를 늘린 다"), "char", 3).tolist()
    )
    assert len(unit_ids("무더위 쉼터를 늘린다", "word")) == 3
    assert len(ngram_hashes(unit_ids("a b c d", "word"), 5)) == 0
    with pytest.raises(ValueError, match="unknown shingle unit"):
        unit_ids("text", "bpe")


def test_band_index_is_part_of_the_band_key():
    sig = np.zeros(16, dtype=np.uint32)  # both bands hold identical rows
    keys = band_keys(sig, 2, 8)
    assert keys[0] != keys[1]
    assert all(-(1 << 63) <= k < (1 << 63) for k in keys)  # fits int64 (Arrow, Spark LongType)


def test_keys_identical_in_another_process():
    code = (
        "import json, sys\n"
        "from dataflow.config import DedupConfig\n"
        "from dataflow.dedup import dedup_keys\n"
        "k = dedup_keys(sys.stdin.read(), DedupConfig())\n"
        "print(json.dumps([k.exact.hex(), k.bands]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=ARTICLE,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},  # a different str hash salt than this process
    )
    exact_hex, bands = json.loads(out.stdout)
    here = dedup_keys(ARTICLE, DedupConfig())
    assert exact_hex == here.exact.hex()
    assert bands == here.bands


# ---------------------------------------------------------------- near duplicates
def test_lightly_edited_korean_is_near_duplicate_and_unrelated_is_not():
    cfg = DedupConfig()
    a, e, u = (dedup_keys(t, cfg) for t in (ARTICLE, EDITED, UNRELATED))
    assert a.exact != e.exact
    assert set(a.bands) & set(e.bands)
    assert not set(a.bands) & set(u.bands)
    plan = plan_dedup([keys_row("b", ARTICLE, cfg), keys_row("a", EDITED, cfg), keys_row("c", UNRELATED, cfg)], cfg)
    assert plan.drops == {"b": (NEAR_DUPLICATE, "a")}
    assert plan.clusters == {"a": "a", "b": "a"}


def test_edited_korquad_paragraphs_cluster_with_their_originals(testdata):
    with gzip.open(testdata / "korean_text/korquad_v1/KorQuAD_v1.0_dev.json.gz") as f:
        data = json.load(f)
    texts = list(dict.fromkeys(p["context"] for art in data["data"][:20] for p in art["paragraphs"][:1]))
    rng = random.Random(0)
    cfg = DedupConfig()
    rows = []
    for i, text in enumerate(texts):
        words = text.split()
        del words[rng.randrange(len(words))]  # one word deleted, one replaced: a light edit
        words[rng.randrange(len(words))] = "그리고"
        rows += [keys_row(f"{i:03d}-orig", text, cfg), keys_row(f"{i:03d}-copy", " ".join(words), cfg)]
    plan = plan_dedup(rows, cfg)
    assert plan.drops == {f"{i:03d}-orig": (NEAR_DUPLICATE, f"{i:03d}-copy") for i in range(len(texts))}


# ---------------------------------------------------------------- keep rule and components
def test_keep_rule_is_smallest_id():
    assert keep_id(["b7", "a9", "c1"]) == "a9"
    cfg = DedupConfig()
    rows = [keys_row(i, t, cfg) for i, t in [("b", ARTICLE), ("c", ARTICLE.upper()), ("a", " " + ARTICLE)]]
    plan = plan_dedup(rows, cfg)
    assert plan.drops == {"b": (EXACT_DUPLICATE, "a"), "c": (EXACT_DUPLICATE, "a")}
    assert plan.clusters == {"a": "a", "b": "a", "c": "a"}


def test_components_over_chains():
    assert connected_components([("b", "c"), ("d", "c"), ("a", "b"), ("x", "y")]) == {
        "a": "a",
        "b": "a",
        "c": "a",
        "d": "a",
        "x": "x",
        "y": "x",
    }
    assert bucket_edges(["c", "a", "b", "a"]) == [("a", "b"), ("a", "c")]
    uf = UnionFind()
    assert uf.union(3, 1) == 1 and uf.union(2, 3) == 1 and uf.find(2) == 1


def test_plan_chains_through_shared_bands_and_ignores_order():
    cfg = DedupConfig(bands=2, rows=4, verify=0)
    rows = [("n3", b"\x03", [30, 40]), ("n1", b"\x01", [10, 20]), ("n2", b"\x02", [11, 20]), ("m", b"\x04", [11, 30])]
    rows.append(("z", b"\x05", [50, 60]))  # unrelated: in no cluster
    plan = plan_dedup(rows, cfg)
    # n1~n2 share band 1, n2~m share band 0; m's band-1 key equals n3's band-0 key, which is no match
    assert plan.drops == {"n1": (NEAR_DUPLICATE, "m"), "n2": (NEAR_DUPLICATE, "m")}
    assert plan.clusters == {"m": "m", "n1": "m", "n2": "m"}
    assert plan_dedup(list(reversed(rows)), cfg) == plan


def test_exact_duplicate_of_a_near_duplicate_points_to_the_kept_document():
    cfg = DedupConfig(bands=1, rows=4, verify=0)
    rows = [("c", b"X", [7]), ("d", b"X", [7]), ("b", b"Y", [7]), ("e", b"Z", [])]
    plan = plan_dedup(rows, cfg)
    assert plan.drops == {"c": (NEAR_DUPLICATE, "b"), "d": (EXACT_DUPLICATE, "b")}
    assert plan.clusters == {"b": "b", "c": "b", "d": "b"}
    assert plan.count(EXACT_DUPLICATE) == 1


def test_switches_and_bad_rows():
    rows = [("a", b"X", [1, 2]), ("b", b"X", [1, 2])]
    assert plan_dedup(rows, DedupConfig(bands=2, exact=False, verify=0)).drops == {"b": (NEAR_DUPLICATE, "a")}
    assert plan_dedup(rows, DedupConfig(bands=2, near=False, verify=0)).drops == {"b": (EXACT_DUPLICATE, "a")}
    assert (
        plan_dedup([("a", b"X", [1, 2]), ("b", b"Y", [1, 2])], DedupConfig(bands=2, near=False, verify=0)).drops == {}
    )
    assert dedup_keys(ARTICLE, DedupConfig(near=False)).bands == []
    with pytest.raises(ValueError, match="appears twice"):
        plan_dedup([("a", b"X", []), ("a", b"Y", [])], DedupConfig())
    with pytest.raises(ValueError, match="band keys"):
        plan_dedup([("a", b"X", [1, 2, 3])], DedupConfig(bands=2, verify=0))
    assert plan_dedup([], DedupConfig()).drops == {}
