"""Beam dedup grouping on literal keys: components with bounded rounds (and the union-find finish),
and the exact-then-near plan with the smallest-id keep rule."""

from __future__ import annotations

import random

import pytest

beam = pytest.importorskip("apache_beam")
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline  # noqa: E402
from apache_beam.testing.util import assert_that, equal_to  # noqa: E402

from dataflow.config import DedupConfig  # noqa: E402
from dataflow.dedup import connected_components, plan_dedup  # noqa: E402
from dataflow.dedup.beam_cc import LabelComponents, PlanDedup  # noqa: E402

pytestmark = pytest.mark.slow  # Beam TestPipeline: a few seconds each

CHAIN = [(f"n{i:02d}", f"n{i + 1:02d}") for i in range(12)]  # diameter 12: needs 12 rounds of propagation
STAR_AND_PAIR = [("s0", "s3"), ("s0", "s1"), ("s0", "s2"), ("p5", "p4")]


def _components(edges, rounds):
    with BeamPipeline() as p:
        out = p | beam.Create(edges) | LabelComponents(rounds)
        # every node maps to the smallest node of its component, the chain's included
        assert_that(out, equal_to(sorted(connected_components(edges).items())))


@pytest.mark.parametrize("rounds", [0, 2, 14])
def test_components_are_exact_with_any_number_of_rounds(rounds):
    # 0 or 2 rounds leave the chain split; the union-find finish must join it anyway
    _components(CHAIN + STAR_AND_PAIR, rounds)


def test_components_of_a_random_graph():
    rng = random.Random(7)
    edges = [(f"{rng.randrange(60):03d}", f"{rng.randrange(60):03d}") for _ in range(50)]
    _components([e for e in edges if e[0] != e[1]], 1)


def test_hand_made_plan_keeps_the_smallest_id():
    cfg = DedupConfig(bands=2, verify=0)  # synthetic band keys, no signatures: grouping only
    # a and b: same text (exact key X, same bands); c shares band 0 with a; d shares band 1 with c;
    # e shares band 1's *value* with a but in band 0, which is a different bucket; f is alone
    keys = [
        ("b", b"X", [1, 2]),
        ("a", b"X", [1, 2]),
        ("c", b"Y", [1, 3]),
        ("d", b"Z", [4, 3]),
        ("e", b"W", [2, 9]),
        ("f", b"V", [7, 8]),
    ]
    expected = [
        ("a", (None, None, "a")),
        ("b", ("exact_duplicate", "a", "a")),
        ("c", ("near_duplicate", "a", "a")),
        ("d", ("near_duplicate", "a", "a")),
    ]
    with BeamPipeline() as p:
        out = p | beam.Create(keys) | PlanDedup(cfg, rounds=1)
        assert_that(out, equal_to(expected))


def test_plan_matches_the_local_plan_on_random_keys():
    rng = random.Random(3)
    cfg = DedupConfig(bands=3, verify=0)
    keys = []
    for i in range(80):
        exact = bytes([rng.randrange(60)])  # ~25 exact collisions among 80
        keys.append((f"{i:04x}", exact, [rng.randrange(40) for _ in range(3)] if i % 9 else []))
    local = plan_dedup(keys, cfg)
    expected = [
        (doc_id, (*(local.drops.get(doc_id) or (None, None)), cluster)) for doc_id, cluster in local.clusters.items()
    ]
    # local gives exact twins the same band keys implicitly (same text); here they may differ, and
    # both implementations must still ignore an exact duplicate's own bands
    with BeamPipeline() as p:
        out = p | beam.Create(keys) | PlanDedup(cfg, rounds=2)
        assert_that(out, equal_to(expected))
