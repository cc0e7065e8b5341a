"""Global exact and near dedup on Spark DataFrames: the distributed twin of ``dedup.local.plan_dedup``.

``plan_dedup`` collects nothing on the driver: keys, buckets, edges and components stay DataFrames.
(``driver_plan`` is the small-run path: up to ``engine.spark.driver_plan_max_docs`` documents' keys are
collected and planned by ``local.plan_dedup``, the same plan without the jobs below.)

1. exact: group by the 16-byte exact key; the smallest id of a group of two or more wins;
2. near, among exact survivors: ``posexplode`` the band keys to (id, band, key) rows, group by
   (band, key), and link every member of a bucket of two or more to the bucket's smallest id
   (the star of ``components.bucket_edges``: k - 1 edges, not k(k-1)/2);
3. connected components of those edges with large-star / small-star (Kiveris, Lattanzi, Mirrokni,
   Rastogi & Vassilvitskii, "Connected Components in MapReduce and Beyond", SoCC 2014), which
   converges in O(log² n) rounds whatever the graph's diameter (min-label propagation needs
   as many rounds as the diameter: long LSH chains make that large). Every round is two
   shuffles; the loop stops when the edges form stars around their minimum (checked exactly,
   see ``_is_star_forest``), so each node's star centre is its component's smallest id;
4. keep rule (``components.keep_id``): the smallest id of a cluster is kept and names it; an
   exact duplicate whose twin was merged into a near cluster points at that cluster's kept id,
   exactly as the union-find of ``plan_dedup`` does.

5. with the published index (``dedup.scope = corpus``, ``index_frames``): batch documents linked to
   published ones by exact key, (band, key) or id add edges (published keep key, batch node) to the
   components; a published keep key is the smallest of its component, so it is kept and names it.

Verification (``dedup.verify`` > 0): step 2 yields every pair of a bucket of up to
``components.BUCKET_PAIRS_CAP`` members (the star beyond), and those pairs and the (band, key) links
to published documents join both ends' ``dedup_signature`` and pass ``verify.verified_batches`` in
``mapInArrow`` (the same check ``local.plan_dedup`` makes) before they become edges.

Ids are compared as Spark strings (UTF-8 byte order), which for our ASCII hex ids is Python's
``min`` order, so Spark, Beam and local keep the same document.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pyarrow as pa

from dataflow.dedup.local import EXACT_DUPLICATE, NEAR_DUPLICATE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from dataflow.config import DedupConfig
    from dataflow.dedup.index import PublishedIndex

log = logging.getLogger(__name__)
# one row per document in a cluster of two or more; published_in: the snapshot of a published kept copy
PLAN_SCHEMA = pa.schema(
    [("id", pa.string()), ("reason", pa.string()), ("duplicate_of", pa.string()), ("cluster", pa.string()),
     ("published_in", pa.int64())]
)  # fmt: skip
PLAN_COLUMNS = tuple(PLAN_SCHEMA.names)


def driver_plan(
    keys: DataFrame, cfg: DedupConfig, max_docs: int, published: PublishedIndex | None = None
) -> DataFrame | None:
    """``local.plan_dedup`` on the driver, as a plan DataFrame (``PLAN_COLUMNS``), when ``keys`` (the columns
    of ``engines.result.DEDUP_KEY_COLUMNS``) holds at most ``max_docs`` rows; None when it holds more (or
    ``max_docs`` is 0), and ``plan_dedup`` below runs on the cluster.

    Why: the distributed plan is a few dozen small Spark jobs (exact groups, band buckets, verification
    joins, 3-6 large/small-star rounds of two shuffles each) whose scheduling costs the same whatever the
    size: 11-14 s of phase 2 on 1,249 documents, against 2.7-3.3 s with this plan (BENCHMARKS.md, "Spark, the
    dedup plan on the driver"); the local union-find plans 100k documents in 0.7 s (bench_spark_dedup.py). The
    keys come over as Arrow (by arithmetic ~1.1 kB a document: 50 band keys x 8 B, a 150 x 4 B signature, the id
    and exact key) and are read one record batch at a time (``local.table_rows``), so the driver holds the
    Arrow table plus one batch of Python rows."""
    if max_docs <= 0:
        return None
    table = keys.limit(max_docs + 1).toArrow()
    if table.num_rows > max_docs:
        return None
    from dataflow.dedup.local import plan_dedup as local_plan
    from dataflow.dedup.local import table_rows

    plan = local_plan(table_rows(table), cfg, published)
    rows = [dict(zip(PLAN_COLUMNS, row, strict=True)) for row in plan.rows()]
    return keys.sparkSession.createDataFrame(pa.Table.from_pylist(rows, schema=PLAN_SCHEMA))


class NotConverged(RuntimeError):
    """Large-star/small-star did not reach a star forest in the allowed rounds (a bug or a huge graph)."""


def bucket_edges(keys: DataFrame) -> DataFrame:
    """Star edges (src = bucket minimum, dst = other member) of every band bucket with two or more ids.

    ``keys`` has ``id`` and ``dedup_bands`` (list of int64); rows with no band keys take no part.
    Bucket = (band position, key), as the local engine groups band by band.
    """
    from pyspark.sql import functions as F

    exploded = keys.select("id", F.posexplode("dedup_bands").alias("band", "key"))
    buckets = (
        exploded.groupBy("band", "key")
        .agg(F.min("id").alias("src"), F.count("*").alias("size"))
        .where(F.col("size") > 1)  # most buckets are singletons: drop them before the join
        .drop("size")
    )
    return (
        exploded.join(buckets, ["band", "key"])
        .where(F.col("id") != F.col("src"))
        .select("src", F.col("id").alias("dst"))
        .distinct()
    )


def bucket_pairs(keys: DataFrame) -> DataFrame:
    """Candidate edges (src < dst) of every band bucket with two or more ids, for verification: all pairs
    of a bucket of up to ``BUCKET_PAIRS_CAP`` members, the star from its minimum beyond
    (``components.bucket_pairs``). ``keys`` has ``id`` and ``dedup_bands``."""
    from pyspark.sql import functions as F

    from dataflow.dedup.components import BUCKET_PAIRS_CAP

    exploded = keys.select("id", F.posexplode("dedup_bands").alias("band", "key"))
    buckets = (
        exploded.groupBy("band", "key")
        .agg(F.min("id").alias("head"), F.count("*").alias("size"))
        .where(F.col("size") > 1)
    )
    members = exploded.join(buckets, ["band", "key"])
    small = members.where(F.col("size") <= BUCKET_PAIRS_CAP).select("band", "key", "id")
    pairs = (
        small.alias("a")
        .join(small.alias("b"), ["band", "key"])
        .where(F.col("a.id") < F.col("b.id"))
        .select(F.col("a.id").alias("src"), F.col("b.id").alias("dst"))
    )
    stars = members.where((F.col("size") > BUCKET_PAIRS_CAP) & (F.col("id") != F.col("head")))
    return pairs.unionByName(stars.select(F.col("head").alias("src"), F.col("id").alias("dst"))).distinct()


def verified(edges: DataFrame, src_sigs: DataFrame, dst_sigs: DataFrame, threshold: float) -> DataFrame:
    """The edges (src, dst) whose signatures agree on >= ``threshold`` (``verify.verified_batches``):
    ``src_sigs`` / ``dst_sigs`` map (src / dst) to ``sig``."""
    from dataflow.dedup.verify import verified_batches

    with_sigs = edges.join(src_sigs.withColumnRenamed("sig", "src_sig"), "src").join(
        dst_sigs.withColumnRenamed("sig", "dst_sig"), "dst"
    )
    return with_sigs.select("src", "dst", "src_sig", "dst_sig").mapInArrow(
        verified_batches(threshold), "src string, dst string"
    )


def _materialize(df: DataFrame) -> DataFrame:
    """Cut the lineage of an iterated DataFrame (each round would otherwise re-plan every earlier one)."""
    if df.sparkSession.sparkContext.getCheckpointDir():
        return df.checkpoint(eager=True)  # reliable (HDFS/S3) checkpoints survive losing an executor
    return df.localCheckpoint(eager=True)


def _oriented(edges: DataFrame) -> DataFrame:
    """Edges as (src, dst) with src > dst, no self loops, no duplicates."""
    from pyspark.sql import functions as F

    return (
        edges.where(F.col("src") != F.col("dst"))
        .select(F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst"))
        .distinct()
    )


def large_star(edges: DataFrame) -> DataFrame:
    """For each node u with m = min(u and its neighbours): link every neighbour v > u to m."""
    from pyspark.sql import functions as F

    both = edges.union(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    mins = both.groupBy("src").agg(F.least(F.col("src"), F.min("dst")).alias("m"))
    out = both.join(mins, "src").where(F.col("dst") > F.col("src")).select(F.col("dst").alias("src"), "m")
    return _oriented(out.withColumnRenamed("m", "dst"))


def small_star(edges: DataFrame) -> DataFrame:
    """For each node u with m = min(u and its smaller neighbours): link u and those neighbours to m."""
    from pyspark.sql import functions as F

    down = _oriented(edges)  # src > dst: each row is a smaller neighbour of src
    mins = down.groupBy("src").agg(F.min("dst").alias("m"))
    neighbours = down.join(mins, "src").select(F.col("dst").alias("src"), F.col("m").alias("dst"))
    return _oriented(neighbours.union(mins.select("src", F.col("m").alias("dst"))))


def _is_star_forest(down: DataFrame) -> bool:
    """True when oriented edges (src > dst) are stars around their minimum: every src has exactly one
    dst and no dst is itself a src. Then each component is one star whose centre is its minimum.
    One Spark job: the nodes breaking either condition, asked for one row."""
    from pyspark.sql import functions as F

    out_degree = down.groupBy("src").count()
    centres = down.select(F.col("dst").alias("src")).distinct()
    broken = (
        out_degree.where(F.col("count") > 1)
        .select("src")
        .union(out_degree.join(centres, "src", "left_semi").select("src"))
    )
    return broken.isEmpty()


def connected_components(edges: DataFrame, max_rounds: int = 50) -> DataFrame:
    """(id, component) for every node of ``edges`` (columns src, dst); component = smallest id in it.

    ``max_rounds`` bounds the large-star + small-star rounds; O(log² n) suffice (Kiveris et al. 2014,
    ~3-6 in practice), so 50 only ever trips on a bug.
    """
    from pyspark.sql import functions as F

    down = _materialize(_oriented(edges))
    rounds = 0
    while not _is_star_forest(down):
        if rounds >= max_rounds:
            raise NotConverged(f"connected components not converged after {max_rounds} large/small-star rounds")
        down = _materialize(small_star(large_star(down)))
        rounds += 1
    log.info("connected components: %d large/small-star rounds", rounds)
    leaves = down.select(F.col("src").alias("id"), F.col("dst").alias("component"))
    centres = down.select(F.col("dst").alias("id"), F.col("dst").alias("component")).distinct()
    return leaves.union(centres)


def keep_key_column(keys: DataFrame):
    """``components.keep_key`` as a Column over ``id`` and ``n_chars`` (0 when the frame has none)."""
    from pyspark.sql import functions as F

    from dataflow.dedup.components import LENGTH_CAP, LENGTH_DIGITS

    n_chars = F.col("n_chars") if "n_chars" in keys.columns else F.lit(0)
    length = F.least(F.greatest(n_chars.cast("long"), F.lit(0)), F.lit(LENGTH_CAP))
    return F.concat(F.lit("1"), F.lpad((F.lit(LENGTH_CAP) - length).cast("string"), LENGTH_DIGITS, "0"), F.col("id"))


def plan_dedup(
    keys: DataFrame, cfg: DedupConfig, max_rounds: int = 50, published: PublishedIndex | None = None
) -> DataFrame:
    """Exact then near dedup over ``keys`` (id, dedup_exact, dedup_bands[, n_chars]) -> rows of ``PLAN_COLUMNS``.

    Only documents in a cluster of two or more get a row: ``cluster`` is the kept id, ``reason``
    is exact_duplicate / near_duplicate for dropped ones (null for the kept one) and
    ``duplicate_of`` equals ``cluster`` for dropped ones, the same plan ``local.plan_dedup`` makes.
    The grouping runs over keep keys (``components.keep_key``) in place of ids, so every ``F.min``
    below applies the keep rule (longest text, then smallest id); ids are stripped back at the end.

    ``published`` (``dedup.scope = corpus``): the index of published documents, joined as DataFrames
    (``index_frames``); ``published_in`` then holds the snapshot of a cluster kept by a published
    document (null otherwise), ``local.plan_dedup``'s ``published_in``.
    """
    from pyspark.sql import functions as F

    from dataflow.dedup.components import KEY_PREFIX

    signature = (
        [F.col("dedup_signature")] if "dedup_signature" in keys.columns else [F.lit(b"").alias("dedup_signature")]
    )
    keyed = keys.select(keep_key_column(keys).alias("id"), "dedup_exact", "dedup_bands", *signature)
    index = index_frames(keys.sparkSession, published) if published is not None and len(published) else None
    plan = _plan_keys(keyed, cfg, max_rounds, index)

    def strip(c: str):
        return F.expr(f"substring({c}, {KEY_PREFIX + 1})").alias(c)

    return plan.select(strip("id"), "reason", strip("duplicate_of"), strip("cluster"), "published_in")


def index_frames(spark, published: PublishedIndex) -> tuple[DataFrame, DataFrame]:
    """The published index as two DataFrames: nodes (pub, pub_id, dedup_exact, snapshot; ``pub`` = the
    keep key with the published flag, so every ``F.min`` prefers it) and bands (band, key, pub).

    Why joins and not a broadcast of ``PublishedIndex``: a broadcast copies the whole index (~690 B per
    published document, ~1.3 kB with signatures, so ~13 GB at 10M: ``dedup.index``'s arithmetic) into every
    executor, while the joins shuffle only the batch's
    keys against the index's and scale with the cluster; Spark still broadcasts either side by itself
    when it is under ``spark.sql.autoBroadcastJoinThreshold`` (a small index costs no shuffle)."""
    nodes = published.node_table()  # pub_signature: b"" unless the index was loaded to verify
    bands = published.band_table()
    bands = pa.table({"band": bands["band"], "key": bands["key"], "pub": nodes["pub"].take(bands["row"])})
    return spark.createDataFrame(nodes), spark.createDataFrame(bands)


def _published_links(keys: DataFrame, exact: DataFrame, banded: DataFrame | None, cfg: DedupConfig, index):
    """Edges (src = published keep key, dst = batch keep key) and the batch ids linked by an equal exact key.

    The links of ``local.plan_dedup``: an equal exact key (when exact dedup is on), an equal band key
    (band, key) and an equal id. A link of an exact duplicate goes to its group's winner instead, the
    node the near components hold (the two are one cluster anyway; ``banded`` holds winners only, and
    equal exact keys mean equal canonical text, so equal band keys)."""
    from pyspark.sql import functions as F

    from dataflow.dedup.components import KEY_PREFIX

    nodes, bands = index
    links = keys.select(F.expr(f"substring(id, {KEY_PREFIX + 1})").alias("pub_id"), "id").join(
        nodes.select("pub_id", "pub"), "pub_id"
    )
    links = links.select("pub", "id")
    exact_linked = None
    if cfg.exact:
        by_exact = keys.select("id", "dedup_exact").join(nodes.select("dedup_exact", "pub"), "dedup_exact")
        exact_linked = by_exact.select("id", F.lit(True).alias("exact_linked")).distinct()
        links = links.unionByName(by_exact.select("pub", "id"))
    if banded is not None:
        exploded = banded.select("id", F.posexplode("dedup_bands").alias("band", "key"))
        by_band = exploded.join(bands, ["band", "key"]).select("pub", "id")
        if cfg.verify > 0:  # a shared band key links only signatures that agree (local: PublishedIndex.match)
            pairs = by_band.distinct().select(F.col("pub").alias("src"), F.col("id").alias("dst"))
            pub_sigs = nodes.select(F.col("pub").alias("src"), F.col("pub_signature").alias("sig"))
            batch_sigs = banded.select(F.col("id").alias("dst"), F.col("dedup_signature").alias("sig"))
            by_band = verified(pairs, pub_sigs, batch_sigs, cfg.verify).select(
                F.col("src").alias("pub"), F.col("dst").alias("id")
            )
        links = links.unionByName(by_band)
    winner = exact.select("id", "winner")
    edges = links.join(winner, "id", "left").select(F.col("pub").alias("src"), F.coalesce("winner", "id").alias("dst"))
    return edges, exact_linked


def _plan_keys(keys: DataFrame, cfg: DedupConfig, max_rounds: int, index=None) -> DataFrame:
    from pyspark.sql import functions as F

    spark = keys.sparkSession
    if cfg.exact:
        groups = (
            keys.groupBy("dedup_exact")
            .agg(F.min("id").alias("winner"), F.count("*").alias("size"))
            .where(F.col("size") > 1)
            .drop("size")
        )
        exact = keys.join(groups, "dedup_exact").select("id", "winner")  # winners map to themselves
        survivors = keys.join(exact.where(F.col("id") != F.col("winner")), "id", "left_anti")
    else:
        exact = spark.createDataFrame([], "id string, winner string")
        survivors = keys

    edges, banded, exact_linked = [], None, None
    if cfg.near:
        width = 4 * cfg.num_perm  # signature bytes
        banded = survivors.where(F.size("dedup_bands") > 0).select(
            "id",
            F.when(F.size("dedup_bands") == cfg.bands, F.col("dedup_bands"))
            .otherwise(F.raise_error(F.concat(F.lit("a document has the wrong number of band keys: "), "id")))
            .alias("dedup_bands"),
            (
                F.when(F.length("dedup_signature") == width, F.col("dedup_signature")).otherwise(
                    F.raise_error(F.concat(F.lit(f"dedup.verify needs a {width}-byte signature: "), "id"))
                )
                if cfg.verify > 0
                else F.col("dedup_signature")
            ).alias("dedup_signature"),
        )
        if cfg.verify > 0:
            sigs = banded.select("id", F.col("dedup_signature").alias("sig"))
            candidates = bucket_pairs(banded)
            edges.append(
                verified(
                    candidates, sigs.withColumnRenamed("id", "src"), sigs.withColumnRenamed("id", "dst"), cfg.verify
                )
            )
        else:
            edges.append(bucket_edges(banded))
    if index is not None:
        links, exact_linked = _published_links(keys, exact, banded, cfg, index)
        edges.append(links)
    if edges:
        all_edges = edges[0] if len(edges) == 1 else edges[0].unionByName(edges[1])
        components = connected_components(all_edges, max_rounds)
        # published documents are nodes of the components, never rows of this run's plan
        components = components.where(~F.col("id").startswith("0"))
    else:
        components = spark.createDataFrame([], "id string, component string")

    # exact group members follow their winner's near component, if it has one
    comp_of_winner = components.select(F.col("id").alias("winner"), F.col("component"))
    from_exact = exact.join(comp_of_winner, "winner", "left").select(
        "id", "winner", F.coalesce("component", "winner").alias("cluster")
    )
    from_near = components.join(exact, "id", "left_anti").select(
        "id", F.lit(None).cast("string").alias("winner"), F.col("component").alias("cluster")
    )
    rows = from_exact.unionByName(from_near)
    linked = F.lit(False)
    if exact_linked is not None:  # an equal exact key to a published document: an exact duplicate of it
        rows = rows.join(exact_linked, "id", "left")
        linked = F.coalesce("exact_linked", F.lit(False))
    near_reason = NEAR_DUPLICATE if cfg.near else EXACT_DUPLICATE  # an id link counts where a stage is on
    reason = (
        F.when(F.col("winner").isNotNull() & (F.col("id") != F.col("winner")), F.lit(EXACT_DUPLICATE))
        .when((F.col("id") != F.col("cluster")) & linked, F.lit(EXACT_DUPLICATE))
        .when(F.col("id") != F.col("cluster"), F.lit(near_reason))
        .otherwise(F.lit(None).cast("string"))
    )
    if index is not None:  # a cluster kept by a published document: the snapshot holding it
        snapshots = index[0].select(F.col("pub").alias("cluster"), F.col("snapshot").alias("published_in"))
        rows = rows.join(snapshots, "cluster", "left")
    else:
        rows = rows.withColumn("published_in", F.lit(None).cast("long"))
    return rows.withColumn("reason", reason).select(
        "id",
        "reason",
        F.when(F.col("reason").isNotNull(), F.col("cluster")).alias("duplicate_of"),
        "cluster",
        "published_in",
    )
