"""Issue 13: the keep rule (published, then longest, then smallest id) on every engine, and dedup of a
batch against the persistent index of published documents (duplicate_of names the published copy)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dataflow.config import DedupConfig
from dataflow.dedup import EXACT_DUPLICATE, NEAR_DUPLICATE, plan_dedup
from dataflow.dedup.components import keep_key, key_id
from dataflow.dedup.index import PublishedIndex
from dataflow.dedup.minhash import dedup_keys

CFG = DedupConfig(bands=2, verify=0)  # synthetic band keys, no signatures: grouping only


def test_keep_key_orders_published_then_longest_then_smallest_id():
    keys = [keep_key("b", 10), keep_key("a", 10), keep_key("z", 500), keep_key("y", 3, published=True)]
    assert [key_id(k) for k in sorted(keys)] == ["y", "z", "a", "b"]
    assert key_id(keep_key("0af3", 7)) == "0af3"


def test_batch_keeps_the_longest_copy_then_the_smallest_id():
    # a, b, c share band keys; c is the longest text, so it is kept although its id is the largest
    rows = [("a", b"A", [1, 2], 100), ("b", b"B", [1, 5], 100), ("c", b"C", [7, 2], 180), ("d", b"D", [8, 9], 999)]
    plan = plan_dedup(rows, CFG)
    assert plan.drops == {"a": (NEAR_DUPLICATE, "c"), "b": (NEAR_DUPLICATE, "c")}
    assert plan.clusters == {"a": "c", "b": "c", "c": "c"}
    # equal lengths: the smallest id wins; exact twins also by length first
    tie = plan_dedup([("b", b"X", [1, 2], 50), ("a", b"X", [1, 2], 50)], CFG)
    assert tie.drops == {"b": (EXACT_DUPLICATE, "a")}
    longer = plan_dedup([("b", b"X", [1, 2], 51), ("a", b"X", [1, 2], 50)], CFG)
    assert longer.drops == {"a": (EXACT_DUPLICATE, "b")}


def _index(rows, snapshot=77):
    """PublishedIndex over (id, exact, bands, n_chars) rows, all held by ``snapshot``."""
    ids, exact, bands, n_chars = (list(c) for c in zip(*rows, strict=True))
    return PublishedIndex(ids, exact, bands, n_chars, [snapshot] * len(rows), CFG.bands)


def test_published_copy_wins_even_when_shorter_and_names_its_snapshot():
    published = _index([("p1", b"P", [1, 2], 10), ("p2", b"Q", [30, 40], 10)])
    rows = [
        ("a", b"A", [1, 9], 500),  # shares band 0 with p1: near duplicate of it, although longer
        ("b", b"B", [8, 9], 20),  # shares a band with a only: same cluster, so it names p1 too
        ("c", b"Q", [50, 60], 20),  # exact key of p2
        ("d", b"D", [70, 80], 20),  # new
    ]
    plan = plan_dedup(rows, CFG, published=published)
    assert plan.drops == {"a": (NEAR_DUPLICATE, "p1"), "b": (NEAR_DUPLICATE, "p1"), "c": (EXACT_DUPLICATE, "p2")}
    assert plan.published_in == {"p1": 77, "p2": 77}
    assert "d" not in plan.clusters and "p1" not in plan.drops  # published documents are never dropped


def test_a_record_whose_id_is_published_links_to_it_even_if_rewritten():
    plan = plan_dedup([("p1", b"NEW", [90, 91], 900)], CFG, published=_index([("p1", b"OLD", [1, 2], 10)]))
    assert plan.drops == {"p1": (NEAR_DUPLICATE, "p1")}


def test_index_lookup_equals_brute_force_on_random_keys():
    rng = random.Random(4)
    pub = [
        (f"p{i:04d}", bytes([rng.randrange(200)]) * 16, [rng.randrange(300) for _ in range(2)], 5) for i in range(400)
    ]
    index = _index(pub)
    batch_ids = [f"b{i:03d}" for i in range(60)]
    exact = [bytes([rng.randrange(200)]) * 16 for _ in batch_ids]
    bands = np.asarray([[rng.randrange(300) for _ in range(2)] for _ in batch_ids], dtype=np.int64)
    m = index.match(batch_ids, exact, np.arange(len(batch_ids)), bands)
    got = set(zip(m.batch.tolist(), m.published.tolist(), m.exact.tolist(), strict=True))
    want = set()
    for b in range(len(batch_ids)):
        for p, (_, pe, pb, _) in enumerate(pub):
            if pe == exact[b]:
                want.add((b, p, True))
            for j in range(2):
                if pb[j] == bands[b, j]:
                    want.add((b, p, False))
    assert got == want and want


def test_a_near_copy_of_real_text_matches_through_the_index():
    cfg = DedupConfig()
    text = (
        "서울시는 내년부터 모든 공공도서관의 운영 시간을 밤 열 시까지 늘리기로 했다. 시 관계자는 직장인과 "
        "학생들의 요청이 꾸준히 있었다고 설명했다. 늘어난 시간에는 자원봉사자와 야간 전담 사서가 배치되며, "
        "열람실과 자료실은 물론 어린이 도서관도 함께 문을 연다. 시는 이용 실적을 분석해 주말 운영 확대도 "
        "검토할 계획이다. 한편 일부 구립 도서관은 시설 보수 공사 때문에 다음 달까지 임시 휴관한다."
    )
    edited = text.replace("내년부터", "2027년부터", 1) + " 구독하기"
    k_pub, k_new = dedup_keys(text, cfg), dedup_keys(edited, cfg)
    index = PublishedIndex(["old"], [k_pub.exact], [list(k_pub.bands)], [len(text)], [5], cfg.bands, [k_pub.signature])
    plan = plan_dedup([("new", k_new.exact, list(k_new.bands), len(edited), k_new.signature)], cfg, published=index)
    assert plan.drops == {"new": (NEAR_DUPLICATE, "old")} and plan.published_in == {"old": 5}


def test_an_index_of_another_layout_is_refused_in_one_line():
    import pyarrow as pa

    from dataflow.config import ConfigError
    from schemas import DEDUP_INDEX

    cfg = DedupConfig()
    k = dedup_keys("서울시는 내년부터 모든 공공도서관의 운영 시간을 밤 열 시까지 늘리기로 했다.", cfg)
    row = dict(id="old", exact=k.exact, bands=k.bands, n_chars=40, run_id="r1", signature=k.signature)
    same = pa.Table.from_pylist([row | {"layout": cfg.layout}], DEDUP_INDEX)
    assert len(PublishedIndex.from_arrow(same, [1], cfg.bands, cfg)) == 1
    for layout, named in (("char/5/14x8/seed1", "char/5/14x8/seed1"), (None, "unrecorded")):
        table = pa.Table.from_pylist([row | {"layout": layout}], DEDUP_INDEX)
        with pytest.raises(ConfigError, match=f"layout {named}.*config's is char/5/50x3/seed1") as err:
            PublishedIndex.from_arrow(table, [1], cfg.bands, cfg)
        assert "\n" not in str(err.value) and "r1" in str(err.value)
    # the right layout but no signature (written with verification off) cannot verify band links
    unsigned = pa.Table.from_pylist([row | {"layout": cfg.layout, "signature": None}], DEDUP_INDEX)
    with pytest.raises(ConfigError, match="signature"):
        PublishedIndex.from_arrow(unsigned, [1], cfg.bands, cfg)
    # near dedup off: band keys are not looked at, so their layout does not matter
    off = DedupConfig(near=False)
    assert len(PublishedIndex.from_arrow(table, [1], off.bands, off)) == 1


def _random_rows(seed: int, n: int):
    rng = random.Random(seed)
    return [
        (
            f"{i:05x}",
            bytes([rng.randrange(50)]),
            [rng.randrange(40) for _ in range(3)] if i % 7 else [],
            rng.randrange(4),
        )
        for i in range(n)
    ]


def _expected(rows, cfg):
    local = plan_dedup(rows, cfg)
    return {i: (*(local.drops.get(i) or (None, None)), cluster) for i, cluster in local.clusters.items()}


@pytest.mark.slow
def test_spark_applies_the_same_keep_rule():
    pytest.importorskip("pyspark")
    from dataflow.config import load_config
    from dataflow.dedup.spark_cc import plan_dedup as spark_plan
    from dataflow.engines.spark import spark_session

    spark = spark_session(load_config(None, {"engine.workers": 2}))
    cfg = DedupConfig(bands=3, verify=0)
    rows = _random_rows(8, 150)
    df = spark.createDataFrame(rows, "id string, dedup_exact binary, dedup_bands array<bigint>, n_chars bigint")
    got = {r.id: (r.reason, r.duplicate_of, r.cluster) for r in spark_plan(df, cfg).collect()}
    expected = _expected(rows, cfg)
    # lengths decide: some cluster keeps a member that is not its smallest id
    assert any(
        cluster != min(k for k, (_, _, c) in expected.items() if c == cluster) for *_, cluster in expected.values()
    )
    assert got == expected


@pytest.mark.slow
def test_beam_applies_the_same_keep_rule():
    beam = pytest.importorskip("apache_beam")
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from dataflow.dedup.beam_cc import PlanDedup

    cfg = DedupConfig(bands=3, verify=0)
    rows = _random_rows(9, 120)
    expected = sorted(_expected(rows, cfg).items())
    with TestPipeline() as p:
        out = p | beam.Create(rows) | PlanDedup(cfg, rounds=2)
        assert_that(out, equal_to(expected))
