"""Corpus-scope dedup on the Spark and Beam engines (issue 13): a nightly batch planned against a
published index, next to the same batch alone and next to the local engine's plan in the same run.

    flock /tmp/bench.lock .venv/bin/python bench/bench_nightly_engines.py [--index 100000 --batch 10000]

Keys are synthetic (random exact keys and band keys; the plan's cost depends only on how keys
collide, and MinHash of real text is measured in bench_nightly.py): the batch is 80 % new documents,
10 % exact copies and 10 % near copies (3 of 14 band keys changed) of published ones. Every plan is
checked equal to the local engine's before it is timed. Times: wall seconds, the median of 3 (Spark;
after one warm-up) or of 1 (Beam: the DirectRunner is the reference runner, not a fast one).
"""

from __future__ import annotations

import argparse
import random

from timing import median_of  # bench/ is on sys.path when run as a script

from dataflow.config import DedupConfig, load_config
from dataflow.dedup import plan_dedup
from dataflow.dedup.index import PublishedIndex

CFG = DedupConfig(bands=14, rows=8, verify=0)  # synthetic band keys, no signatures: the recorded 14 x 8 layout


def synthetic(n_index: int, n_batch: int, seed: int = 13):
    rng = random.Random(seed)

    def bands() -> list[int]:
        return [rng.getrandbits(62) for _ in range(CFG.bands)]

    pub = [(f"p{i:08x}", rng.randbytes(16), bands(), rng.randrange(200, 400)) for i in range(n_index)]
    batch = []
    for i in range(n_batch):
        doc_id, n = f"b{i:08x}", rng.randrange(200, 400)
        r = i % 10
        if r == 0:  # an exact copy of a published document
            _, exact, b, _ = rng.choice(pub)
        elif r == 1:  # a near copy: a new text sharing 11 of 14 band keys
            _, _, b, _ = rng.choice(pub)
            exact, b = rng.randbytes(16), list(b)
            for j in rng.sample(range(CFG.bands), 3):
                b[j] = rng.getrandbits(62)
        else:
            exact, b = rng.randbytes(16), bands()
        batch.append((doc_id, exact, b, n))
    ids, ex, bs, n = (list(c) for c in zip(*pub, strict=True))
    return batch, PublishedIndex(ids, ex, bs, n, [1] * n_index, CFG.bands)


def expected(batch, index):
    plan = plan_dedup(batch, CFG, index)
    return {i: (*plan.drops.get(i, (None, None)), c) for i, c in plan.clusters.items()}


def bench_spark(batch, index, repeat: int) -> dict[str, float]:
    from dataflow.dedup.spark_cc import plan_dedup as spark_plan
    from dataflow.engines.spark import spark_session

    spark = spark_session(load_config(None, {"engine.workers": 2}))
    df = spark.createDataFrame(batch, "id string, dedup_exact binary, dedup_bands array<bigint>, n_chars bigint")
    df = df.localCheckpoint(eager=True)  # the batch's keys as the engine has them: already materialized

    def run(published):
        return {r.id: (r.reason, r.duplicate_of, r.cluster) for r in spark_plan(df, CFG, 50, published).collect()}

    run(index)  # warm-up: JVM, Python workers
    want = expected(batch, index)
    t_with, got = median_of(lambda: run(index), repeat)
    assert got == want, "Spark plan differs from local"
    t_alone, _ = median_of(lambda: run(None), repeat)
    return {"alone": t_alone, "with": t_with}


def bench_beam(batch, index) -> dict[str, float]:
    import apache_beam as beam

    from dataflow.dedup.beam_cc import PlanDedup

    want = expected(batch, index)

    def run(published):
        from apache_beam.testing.util import assert_that

        def check(entries):  # inside the pipeline: the DirectRunner pickles what a Map would append to
            got = {k: v[:3] for k, v in entries}
            assert got == want, f"Beam plan differs from local in {sum(got.get(k) != v for k, v in want.items())} ids"

        with beam.Pipeline() as p:
            plan = p | beam.Create(batch) | PlanDedup(CFG, 4, published)
            if published is not None:
                assert_that(plan, check)

    t_with, _ = median_of(lambda: run(index), 1)
    t_alone, _ = median_of(lambda: run(None), 1)
    return {"alone": t_alone, "with": t_with}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--beam-index", type=int, default=20_000, help="Beam's index size (DirectRunner: slow)")
    ap.add_argument("--beam-batch", type=int, default=2_000)
    args = ap.parse_args()

    batch, index = synthetic(args.index, args.batch)
    t_local_alone, _ = median_of(lambda: plan_dedup(batch, CFG), 3)
    t_local, _ = median_of(lambda: plan_dedup(batch, CFG, index), 3)
    spark = bench_spark(batch, index, 3)
    print("\n| engine | batch, index | batch alone (s) | against the index (s) | x alone | x local against the index |")
    print("|---|---|---|---|---|---|")
    size = f"{args.batch:,}, {args.index:,}"
    print(
        f"| local (`plan_dedup`) | {size} | {t_local_alone:.2f} | {t_local:.2f} | "
        f"{t_local / t_local_alone:.2f} | 1.00 |"
    )
    print(
        f"| Spark local[2] (`spark_cc.plan_dedup`) | {size} | {spark['alone']:.2f} | {spark['with']:.2f} | "
        f"{spark['with'] / spark['alone']:.2f} | {spark['with'] / t_local:.0f} |"
    )
    batch, index = synthetic(args.beam_index, args.beam_batch)
    t_local_b, _ = median_of(lambda: plan_dedup(batch, CFG, index), 3)
    beam_t = bench_beam(batch, index)
    size = f"{args.beam_batch:,}, {args.beam_index:,}"
    print(
        f"| Beam DirectRunner (`PlanDedup`) | {size} | {beam_t['alone']:.2f} | {beam_t['with']:.2f} | "
        f"{beam_t['with'] / beam_t['alone']:.2f} | {beam_t['with'] / t_local_b:.0f} (local: {t_local_b:.2f} s) |"
    )


if __name__ == "__main__":
    main()
