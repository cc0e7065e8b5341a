"""Spark dedup on literal keys and edges: large-star/small-star components equal union-find's, and
the DataFrame plan equals the local plan (smallest id kept, exact twins follow their winner)."""

from __future__ import annotations

import random

import pytest

pytest.importorskip("pyspark")

from dataflow.config import DedupConfig, load_config  # noqa: E402
from dataflow.dedup import connected_components, plan_dedup  # noqa: E402

pytestmark = pytest.mark.slow  # one local Spark session for the module (~15 s to start)


@pytest.fixture(scope="module")
def spark():
    from dataflow.engines.spark import spark_session

    return spark_session(load_config(None, {"engine.workers": 2}))


def _components(spark, edges) -> dict[str, str]:
    from dataflow.dedup.spark_cc import connected_components as spark_components

    df = spark.createDataFrame(edges, "src string, dst string")
    return {r.id: r.component for r in spark_components(df).collect()}


def test_components_of_chain_star_and_pairs(spark):
    chain = [(f"c{i:02d}", f"c{i + 1:02d}") for i in range(20)]  # long path: many propagation rounds
    star = [("s5", "s1"), ("s5", "s2"), ("s5", "s9")]  # centre is not the minimum
    pair = [("p2", "p1"), ("p1", "p2")]  # both directions and a self loop are tolerated
    got = _components(spark, chain + star + pair + [("p1", "p1")])
    assert got == {**{f"c{i:02d}": "c00" for i in range(21)}, "s1": "s1", "s2": "s1", "s5": "s1", "s9": "s1"} | {
        "p1": "p1",
        "p2": "p1",
    }


def test_components_equal_union_find_on_a_random_graph(spark):
    rng = random.Random(11)
    edges = [(f"{rng.randrange(300):04d}", f"{rng.randrange(300):04d}") for _ in range(260)]
    edges = [e for e in edges if e[0] != e[1]]
    assert _components(spark, edges) == connected_components(edges)


def _spark_plan(spark, keys, cfg) -> dict[str, tuple]:
    from dataflow.dedup.spark_cc import plan_dedup as spark_plan

    df = spark.createDataFrame(keys, "id string, dedup_exact binary, dedup_bands array<bigint>")
    return {r.id: (r.reason, r.duplicate_of, r.cluster) for r in spark_plan(df, cfg).collect()}


def test_hand_made_plan(spark):
    # a, b: same text (so the same bands); c shares band 0 with a; d shares band 1 with c;
    # e has a's band-1 key in band 0: another bucket, no link; f is alone
    keys = [
        ("b", b"X", [1, 2]),
        ("a", b"X", [1, 2]),
        ("c", b"Y", [1, 3]),
        ("d", b"Z", [4, 3]),
        ("e", b"W", [2, 9]),
        ("f", b"V", [7, 8]),
    ]
    assert _spark_plan(spark, keys, DedupConfig(bands=2, verify=0)) == {
        "a": (None, None, "a"),
        "b": ("exact_duplicate", "a", "a"),
        "c": ("near_duplicate", "a", "a"),
        "d": ("near_duplicate", "a", "a"),
    }


@pytest.mark.parametrize("exact,near", [(True, True), (True, False), (False, True)])
def test_plan_equals_local_plan_on_random_keys(spark, exact, near):
    rng = random.Random(5)
    cfg = DedupConfig(bands=3, exact=exact, near=near, verify=0)
    keys = [
        (f"{i:05x}", bytes([rng.randrange(90)]), [rng.randrange(60) for _ in range(3)] if i % 7 else [])
        for i in range(150)
    ]
    local = plan_dedup(keys, cfg)
    expected = {i: (*(local.drops.get(i) or (None, None)), cluster) for i, cluster in local.clusters.items()}
    assert expected and _spark_plan(spark, keys, cfg) == expected


def test_wrong_number_of_band_keys_fails_loudly(spark):
    with pytest.raises(Exception, match="wrong number of band keys"):
        _spark_plan(spark, [("a", b"x", [1, 2]), ("b", b"y", [1])], DedupConfig(bands=2, verify=0))
