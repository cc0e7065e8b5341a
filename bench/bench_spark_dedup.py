"""Near-dedup of ~100k Korean documents with planted near-duplicate clusters on Spark local[2].

Run: ``.venv/bin/python bench/bench_spark_dedup.py`` (``--docs 20000`` for a quick look). Prints
Markdown tables: time per step, and pairwise precision/recall of the clusters against the planted
ones; also checks that the Spark plan equals the single-machine ``plan_dedup`` on the same keys.

Corpus (synthetic, from ../shared/testdata/korean_text, read-only): a pool of Korean sentences
(KorQuAD v1 dev contexts split at sentence ends, NSMC reviews, KorNLI premises); each base
document is 6-12 random pool sentences (so two bases share a sentence now and then, as web pages
share stock phrases, but never most of their text). Each base gets 0-6 planted copies with the
edits of bench/bench_dedup.py a reader would call "the same document": 3-10 % word edits,
spacing noise, sentence reorder, added web boilerplate, a combination, and verbatim copies.

* P/R pairs: over all pairs of documents, predicted = same dedup cluster, truth = same planted group;
* drop precision: dropped documents whose kept document is from their own planted group;
* drop recall: planted copies dropped (a group of k documents should drop k - 1).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
from bench_dedup import make_copy  # bench/ is on sys.path when run as a script

from dataflow.config import DedupConfig, load_config
from dataflow.dedup import dedup_keys, plan_dedup

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "korean_text"
COPY_KINDS = ["exact", "edit3", "edit5", "edit10", "spacing", "reorder", "boiler", "combo"]
SENTENCE_END = re.compile(r"(?<=[.!?다])\s+")


def sentence_pool() -> list[str]:
    with gzip.open(TESTDATA / "korquad_v1/KorQuAD_v1.0_dev.json.gz") as f:
        data = json.load(f)
    pool = [s for a in data["data"] for p in a["paragraphs"] for s in SENTENCE_END.split(p["context"])]
    rows = (TESTDATA / "nsmc_style_sample.tsv").read_text("utf-8").splitlines()[1:]
    pool += [r.split("\t")[1] for r in rows if r.count("\t") == 2]
    for line in (TESTDATA / "kornli_korsts/KorNLI/xnli.dev.ko.tsv").read_text("utf-8").splitlines()[1:]:
        pool += line.split("\t")[:2]
    return sorted({s.strip() for s in pool if len(s.strip()) >= 15})


def build(n_docs: int, seed: int = 0) -> tuple[list[str], list[str], list[int]]:
    """(ids, texts, planted group of each document)."""
    rng = random.Random(seed)
    pool = sentence_pool()
    vocab = [w for s in pool[:5000] for w in s.split()]
    ids, texts, groups = [], [], []
    g = 0
    while len(texts) < n_docs:
        base = " ".join(rng.sample(pool, rng.randint(6, 12)))
        copies = [
            rng.choice(COPY_KINDS) for _ in range(min(rng.choice([0, 0, 1, 2, 3, 4, 6]), n_docs - len(texts) - 1))
        ]
        for i, kind in enumerate(["base", *copies]):
            text = base if kind in ("base", "exact") else make_copy(base, kind, "ko", vocab, rng)
            texts.append(text)
            ids.append(hashlib.sha1(f"{g}/{i}".encode()).hexdigest()[:16])  # random keep order within a group
            groups.append(g)
        g += 1
    return ids, texts, groups


def pair_count(counter: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def score(ids, groups, clusters: dict[str, str], drops: dict[str, tuple[str, str]]) -> dict[str, float]:
    group_of = dict(zip(ids, groups, strict=True))
    pred = [clusters.get(i, i) for i in ids]
    both = pair_count(Counter(zip(pred, groups, strict=True)))
    predicted, true = pair_count(Counter(pred)), pair_count(Counter(groups))
    right = sum(1 for i, (_, kept) in drops.items() if group_of[kept] == group_of[i])
    planted = len(ids) - len(set(groups))
    return {
        "precision (pairs)": both / predicted if predicted else 1.0,
        "recall (pairs)": both / true if true else 1.0,
        "drop precision": right / len(drops) if drops else 1.0,
        "drop recall": right / planted if planted else 1.0,
        "dropped": len(drops),
        "planted copies": planted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    # the recorded layout (14 x 8, unverified): these rows carry no signatures (the default 50 x 3 needs them)
    cfg = load_config(None, {"engine.workers": args.workers, "dedup.bands": 14, "dedup.rows": 8, "dedup.verify": 0})
    dcfg: DedupConfig = cfg.dedup

    t0 = time.perf_counter()
    ids, texts, groups = build(args.docs)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    keys = [dedup_keys(t, dcfg) for t in texts]
    t_keys = time.perf_counter() - t0
    rows = [(i, k.exact, k.bands) for i, k in zip(ids, keys, strict=True)]
    t0 = time.perf_counter()
    local = plan_dedup(rows, dcfg)
    t_local = time.perf_counter() - t0

    from dataflow.dedup.spark_cc import plan_dedup as spark_plan
    from dataflow.engines.spark import spark_session

    t0 = time.perf_counter()
    spark = spark_session(cfg)
    spark.sparkContext.setLogLevel("ERROR")
    t_session = time.perf_counter() - t0
    table = pa.table(
        {"id": ids, "dedup_exact": [r[1] for r in rows], "dedup_bands": [r[2] for r in rows]},
        schema=pa.schema([("id", pa.string()), ("dedup_exact", pa.binary()), ("dedup_bands", pa.list_(pa.int64()))]),
    )
    scratch = Path("data/bench/spark_dedup")
    scratch.mkdir(parents=True, exist_ok=True)
    import pyarrow.parquet as pq

    pq.write_table(table, scratch / "keys.parquet")  # what phase 1 leaves on disk, read as Spark would
    t0 = time.perf_counter()
    keys_df = spark.read.parquet(str((scratch / "keys.parquet").resolve())).repartition(args.workers * 2)
    plan_rows = spark_plan(keys_df, dcfg, cfg.engine.spark.cc_max_rounds).collect()
    t_spark = time.perf_counter() - t0
    clusters = {r.id: r.cluster for r in plan_rows}
    drops = {r.id: (r.reason, r.duplicate_of) for r in plan_rows if r.reason}
    same = clusters == local.clusters and drops == local.drops

    sizes = Counter(Counter(groups).values())
    print(f"\n{len(ids):,} documents, {len(set(groups)):,} planted groups (size: count {dict(sorted(sizes.items()))}),")
    print(f"{dcfg.bands} bands x {dcfg.rows} rows, {dcfg.ngram}-{dcfg.unit} shingles; Spark local[{args.workers}]\n")
    print("| step | seconds | docs/s |\n|---|---|---|")
    for name, t in [
        ("build corpus", t_build),
        ("dedup keys (driver, 1 core)", t_keys),
        ("plan_dedup, local (1 core)", t_local),
        ("Spark session start", t_session),
        ("plan_dedup, Spark (read keys, exact, bands, components, collect plan)", t_spark),
    ]:
        print(f"| {name} | {t:.1f} | {len(ids) / t:,.0f} |")
    print("\n| clusters from | precision (pairs) | recall (pairs) | drop precision | drop recall | dropped |")
    print("|---|---|---|---|---|---|")
    for name, (c, d) in [("Spark", (clusters, drops)), ("local", (local.clusters, local.drops))]:
        s = score(ids, groups, c, d)
        print(
            f"| {name} | {s['precision (pairs)']:.4f} | {s['recall (pairs)']:.4f} | {s['drop precision']:.4f} "
            f"| {s['drop recall']:.4f} | {s['dropped']:,} of {s['planted copies']:,} planted |"
        )
    print(f"\nSpark plan identical to the local plan: {same}")


if __name__ == "__main__":
    main()
