"""Issue 13 on every engine: Spark and Beam dedup a batch against the published index exactly as the
local engine does (same drops, ``duplicate_of`` naming the published copy, ``duplicate_snapshot``,
keep rule: published first, then longest, then smallest id).

Two tiers: the dedup plans of random batches against a random index (Spark DataFrames and a Beam
TestPipeline against ``local.plan_dedup``), then two nightly runs per engine in one data root each,
the second with an exact copy, a near copy and a changed file of what the first published.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from dataflow.config import DedupConfig, load_config
from dataflow.dedup import NEAR_DUPLICATE, plan_dedup
from dataflow.dedup.index import PublishedIndex

pytestmark = pytest.mark.slow  # starts Spark (~15 s, one session for the module) and Beam pipelines

CFG = DedupConfig(bands=3, verify=0)  # synthetic band keys, no signatures: grouping only


def _random_case(seed: int):
    """A batch and an index drawn from a small pool of texts, so that every kind of link occurs: equal
    exact keys (inside the batch and to the index), shared band keys of edited copies, ids already
    published, lengths that make the longest copy win over the smallest id. As with real keys, equal
    exact keys come with equal band keys (both are functions of the canonical text)."""
    rng = random.Random(seed)
    pool = [(bytes([i]) * 16, [rng.randrange(10**6) for _ in range(CFG.bands)] if i % 6 else []) for i in range(60)]

    def doc(i: int):
        exact, bands = rng.choice(pool)
        if bands and rng.random() < 0.4:  # an edited copy: a new text sharing all but one band key
            exact, bands = rng.randbytes(16), list(bands)
            bands[rng.randrange(len(bands))] = rng.randrange(10**6)
        return f"{i:05x}", exact, bands, rng.randrange(4)

    pub = [doc(i) for i in range(0, 150, 3)]
    batch = [doc(i) for i in range(1, 150, 2)]  # ids 3, 9, 15, ... are published too: id links
    ids, ex, bs, n = (list(c) for c in zip(*pub, strict=True))
    index = PublishedIndex(ids, ex, bs, n, [100 + i % 3 for i in range(len(pub))], CFG.bands)
    return batch, index


def _same(expected: dict):
    """A Beam matcher: the (id, entry) pairs equal ``expected``, reporting only the differences."""

    def check(actual):
        got = dict(actual)
        assert len(got) == len(actual), "an id has two plan entries"
        diff = {k: (expected.get(k), got.get(k)) for k in expected.keys() | got.keys() if expected.get(k) != got.get(k)}
        assert not diff, f"{len(diff)} entries differ (expected, got): {dict(list(diff.items())[:5])}"

    return check


def _local(batch, index, cfg):
    plan = plan_dedup(batch, cfg, index)
    out = {}
    for doc_id, cluster in plan.clusters.items():
        reason, dup = plan.drops.get(doc_id, (None, None))
        out[doc_id] = (reason, dup, cluster, plan.published_in.get(dup) if dup else None)
    return out


CASES = [
    (1, CFG),
    (2, CFG),
    (3, DedupConfig(bands=3, exact=False, verify=0)),
    (4, DedupConfig(bands=3, near=False, verify=0)),
]


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from dataflow.engines.spark import spark_session

    return spark_session(load_config(None, {"engine.workers": 2}))


def _plan_rows(df) -> dict[str, tuple]:
    return {r.id: (r.reason, r.duplicate_of, r.cluster, r.published_in) for r in df.collect()}


@pytest.mark.parametrize("seed,cfg", CASES[::2])  # one plan with both stages, one without exact: Spark is slow
def test_spark_plan_against_the_index_equals_local(spark, seed, cfg):
    from dataflow.dedup.spark_cc import driver_plan
    from dataflow.dedup.spark_cc import plan_dedup as spark_plan

    batch, index = _random_case(seed)
    expected = _local(batch, index, cfg)
    assert any(s for *_, s in expected.values())  # the case has clusters kept by published documents
    df = spark.createDataFrame(batch, "id string, dedup_exact binary, dedup_bands array<bigint>, n_chars bigint")
    got = _plan_rows(spark_plan(df, cfg, 50, index))
    diff = {k: (expected.get(k), got.get(k)) for k in expected.keys() | got.keys() if expected.get(k) != got.get(k)}
    assert not diff, f"{len(diff)} entries differ (expected, got): {dict(list(diff.items())[:5])}"
    # the engine's small-run path: the same rows from the driver, and only up to its size limit
    assert _plan_rows(driver_plan(df, cfg, len(batch), index)) == got
    assert driver_plan(df, cfg, len(batch) - 1, index) is None and driver_plan(df, cfg, 0, index) is None


@pytest.mark.parametrize("seed,cfg", CASES)
def test_beam_plan_against_the_index_equals_local(seed, cfg):
    beam = pytest.importorskip("apache_beam")
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that

    from dataflow.dedup.beam_cc import PlanDedup

    batch, index = _random_case(seed)
    expected = _local(batch, index, cfg)
    with TestPipeline() as p:
        out = p | beam.Create(batch) | PlanDedup(cfg, rounds=2, published=index)
        assert_that(out, _same(expected))


def _verified_case():
    """Real keys under the default layout (50x3, verified >= 0.42): the originals of the edited copies of
    tests/dataflow/test_dedup_verify.py published, the copies and the near-but-different documents (which
    share band keys with the published template page) in the batch."""
    from tests.dataflow.test_dedup_verify import edited_copies, key_rows, near_but_different

    cfg = DedupConfig()
    docs = near_but_different()
    published = ("ko-a", "page0", "en-a")
    ids, ex, bs, n, sigs = (list(c) for c in zip(*key_rows({k: docs[k] for k in published}, cfg), strict=True))
    batch = key_rows({k: v for k, v in docs.items() if k not in published} | edited_copies(), cfg)
    return batch, PublishedIndex(ids, ex, bs, n, [7, 7, 7], cfg.bands, sigs), cfg


def test_verified_local_plan_against_the_index():
    batch, index, cfg = _verified_case()
    plan = plan_dedup(batch, cfg, index)
    assert plan.drops == {
        c: (NEAR_DUPLICATE, c.removesuffix("-edited")) for c in ("ko-a-edited", "page0-edited", "en-a-edited")
    }
    assert plan.published_in == {"ko-a": 7, "page0": 7, "en-a": 7}


@pytest.mark.parametrize("scope", ["run", "corpus"])
def test_spark_verified_plan_equals_local(spark, scope):
    from dataflow.dedup.spark_cc import driver_plan
    from dataflow.dedup.spark_cc import plan_dedup as spark_plan

    batch, index, cfg = _verified_case()
    index = index if scope == "corpus" else None
    expected = _local(batch, index, cfg)
    schema = "id string, dedup_exact binary, dedup_bands array<bigint>, n_chars bigint, dedup_signature binary"
    df = spark.createDataFrame(batch, schema)
    got = _plan_rows(spark_plan(df, cfg, 50, index))
    assert got == expected
    assert _plan_rows(driver_plan(df, cfg, len(batch), index)) == got  # signatures verified on the driver too


@pytest.mark.parametrize("scope", ["run", "corpus"])
def test_beam_verified_plan_equals_local(scope):
    beam = pytest.importorskip("apache_beam")
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that

    from dataflow.dedup.beam_cc import PlanDedup

    batch, index, cfg = _verified_case()
    index = index if scope == "corpus" else None
    expected = _local(batch, index, cfg)
    if index is None:  # run scope: entries without the published snapshot
        expected = {k: v[:3] for k, v in expected.items()}
    with TestPipeline() as p:
        out = p | beam.Create(batch) | PlanDedup(cfg, rounds=2, published=index)
        assert_that(out, _same(expected))


# -- two nightly runs per engine ----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
LID = ROOT / "models" / "lid.176.ftz"
SYLLABLES = "가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주기니디리미비시이지치"


def _korean(rng: random.Random, words: int = 60) -> str:
    out = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(words)]
    return " ".join(w + ("다." if i % 8 == 7 else "") for i, w in enumerate(out))


def _write(path: Path, texts: list[str], mode: str = "w") -> None:
    with open(path, mode, encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")


def _two_nights(engine: str, root: Path) -> dict:
    """Night 1 publishes six documents; night 2 adds a file with an exact copy and a near copy of two
    of them, a new document twice, and one new document appended to night 1's file. What night 2
    committed, with snapshot ids replaced by the night that holds them (they differ per data root)."""
    from dataflow.run import run_pipeline
    from dataflow.snapshots import read_snapshot

    rng = random.Random(13)
    src, data = root / "in", root / engine  # one input path for every engine: ids derive from it
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    texts = [_korean(rng) for _ in range(6)]
    _write(src / "a.jsonl", texts)
    settings = {
        "read.inputs": [str(src)],
        "data_root": str(data),
        "langid.model_path": str(LID),
        "engine.name": engine,
        "engine.workers": 2 if engine == "spark" else 1,  # Beam: the in-process DirectRunner
        "quality.english": False,  # they would judge random words
        "quality.korean": False,
        # Spark: the distributed plan against the published index, end to end (the driver plan is the local one)
        **({"engine.spark.driver_plan_max_docs": 0} if engine == "spark" else {}),
    }
    first = run_pipeline(load_config(None, settings))
    words = texts[2].split()
    words[10], words[30] = "새로운", "광고문구"
    fresh = _korean(rng)
    _write(src / "b.jsonl", [texts[1], " ".join(words), fresh, fresh, _korean(rng)])
    _write(src / "a.jsonl", [_korean(rng)], mode="a")  # a changed file: its six records are read again
    second = run_pipeline(load_config(None, settings))
    night = {first.commit.snapshot_ids["documents"]: "night 1"}

    def rows(table: str) -> list[dict]:
        snap = read_snapshot(f"run:{second.run_id}", table=table, data_root=data)
        return [r for r in snap.to_arrow().to_pylist() if r["run_id"] == second.run_id]

    return {
        "kept": sorted((r["id"], r["dedup_cluster"], r["text"]) for r in rows("documents")),
        "rejects": sorted(
            (r["id"], r["stage"], r["reason"], r["duplicate_of"], night.get(r["duplicate_snapshot"]))
            for r in rows("rejects")
        ),
        "stats": sorted(tuple(sorted((k, v) for k, v in r.items() if k != "run_id")) for r in rows("stage_stats")),
        "first_ids": {
            t: r["id"]
            for r in read_snapshot(f"run:{first.run_id}", data_root=data).to_arrow().to_pylist()
            for t in [r["text"]]
        },
        "texts": texts,
    }


@pytest.mark.skipif(not LID.is_file(), reason="models/lid.176.ftz missing: run `make setup`")
def test_second_night_on_spark_and_beam_equals_local(tmp_path, spark):
    pytest.importorskip("apache_beam")
    local = _two_nights("local", tmp_path)
    first_ids, texts = local["first_ids"], local["texts"]
    # what the local engine decided, so that equality below means the right thing on every engine
    dups = {(reason, dup_of, night) for _, _, reason, dup_of, night in local["rejects"]}
    assert ("exact_duplicate", first_ids[texts[1]], "night 1") in dups  # the planted exact copy
    assert ("near_duplicate", first_ids[texts[2]], "night 1") in dups  # the planted near copy
    unchanged = [r for r in local["rejects"] if r[0] == r[3]]  # night 1's records, read again in a.jsonl
    assert len(unchanged) == 6 and all(r[2] == "exact_duplicate" and r[4] == "night 1" for r in unchanged)
    in_batch = [r for r in local["rejects"] if r[4] is None]  # the new document's second copy
    assert len(in_batch) == 1 and in_batch[0][2] == "exact_duplicate"
    assert len(local["rejects"]) == 9 and len(local["kept"]) == 3
    for engine in ("spark", "beam"):
        other = _two_nights(engine, tmp_path)
        for part in ("kept", "rejects", "stats"):
            assert other[part] == local[part], f"{engine} differs from local in {part}"
