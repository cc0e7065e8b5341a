"""Global exact and near dedup as Beam transforms: the GroupByKey twin of ``dedup.local.plan_dedup``.

A Beam graph is fixed before it runs, so connected components cannot loop "until converged"
as on Spark. Instead (all steps labelled, nothing collected on the launching machine):

1. exact: GroupByKey on the 16-byte exact key; a group of two or more keeps its smallest id
   (``components.keep_id``); the winners go on to near dedup with their band keys;
2. near: GroupByKey on (band position, band key); each bucket of two or more becomes the star
   of ``components.bucket_edges`` (bucket minimum -> every other member);
3. ``rounds`` rounds of min-label propagation, unrolled into the graph: every node's label is
   the smallest id within ``rounds + 1`` hops. Bucket stars make most clusters converge in one
   or two rounds; an LSH chain longer than that does not;
4. the finishing step, exact whatever happened in 3: for every edge whose two ends still carry
   different labels, the pair (label a, label b) is collected (CombineGlobally: ONE worker) and
   joined with union-find. Labels of one component form a connected graph of such pairs, and the
   component's minimum is its own label, so ``find(label)`` is the component's smallest id. The
   number of pairs is counted in the Beam metric ``dedup/cc_unconverged_pairs``: it is zero
   when step 3 converged, and it is what must fit on one worker otherwise (raise ``rounds``
   when it grows: each extra round is one more shuffle of the edges);
5. keep rule (``components.keep_key``): rows enter as (keep key, ...) instead of (id, ...), so
   every "smallest" above is the keep rule (longest text, then smallest id), and the plan's
   ids are stripped back at the end; an exact duplicate points at its winner's cluster.

With the published index (``dedup.scope = corpus``) ``CorpusPlanDedup`` joins it by exact key,
(band, key) and id with CoGroupByKey, and published documents join the components as nodes that
win them (see the block comment above it).

Verification (``dedup.verify`` > 0): a bucket gives every pair of up to
``components.BUCKET_PAIRS_CAP`` members (``components.bucket_pairs``) instead of its star, and a
bucket with published documents links each of them to every batch member; ``VerifyEdges`` joins
both ends' signatures onto those candidates (two CoGroupByKeys) and keeps the pairs that pass
``verify.agree``, the check ``local.plan_dedup`` makes, before the components.

The output is one ``(id, (reason, duplicate_of, cluster))`` per document in a cluster of two or
more: the plan ``local.plan_dedup`` makes, row by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from dataflow.dedup.components import UnionFind, bucket_edges, bucket_pairs, keep_id, keep_key, key_id
from dataflow.dedup.local import EXACT_DUPLICATE, NEAR_DUPLICATE
from dataflow.dedup.verify import agree

if TYPE_CHECKING:
    from dataflow.config import DedupConfig
    from dataflow.dedup.index import PublishedIndex

PlanEntry = tuple[str | None, str | None, str]  # reason, duplicate_of, cluster


def exact_groups(group: tuple[bytes, Iterable[tuple[str, list[int]]]]) -> Iterator[Any]:
    """One exact-key group -> its winner with band keys (main output) and (winner, member) pairs
    of groups of two or more (tag ``members``), the winner itself included."""
    _, members = group
    members = list(members)
    winner = keep_id(doc_id for doc_id, _ in members)
    yield next((doc_id, bands) for doc_id, bands in members if doc_id == winner)
    if len(members) > 1:
        for doc_id, _ in members:
            yield beam.pvalue.TaggedOutput("members", (winner, doc_id))


def band_buckets(row: tuple[str, tuple[list[int], bytes]], bands: int) -> Iterator[tuple[tuple[int, int], str]]:
    doc_id, (keys, _) = row
    if len(keys) != bands:
        raise ValueError(f"{doc_id!r} has {len(keys)} band keys, config says {bands}")
    for position, key in enumerate(keys):
        yield (position, key), doc_id


def _signature_of(row: tuple[str, tuple[list[int], bytes]], width: int) -> tuple[str, bytes]:
    """(id, signature) of a survivor with band keys; its signature must have ``width`` bytes."""
    doc_id, (_, sig) = row
    if len(sig) != width:
        raise ValueError(f"{doc_id!r} has a signature of {len(sig)} bytes; dedup.verify needs {width}")
    return doc_id, sig


def _to_dst(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, tuple[str, bytes]]]:
    """Edges from one src with its signature -> (dst, (src, src signature))."""
    src, parts = item
    sig = next(iter(parts["sig"]), None)
    if sig is not None:
        for dst in parts["dst"]:
            yield dst, (src, sig)


def _agreeing(item: tuple[str, dict[str, list]], threshold: float) -> Iterator[tuple[str, str]]:
    """(src, dst) of the edges into one dst whose two signatures agree on >= ``threshold``."""
    dst, parts = item
    sig = next(iter(parts["sig"]), None)
    if sig is not None:
        for src, src_sig in parts["edges"]:
            if agree(src_sig, sig, threshold):
                yield src, dst


class VerifyEdges(beam.PTransform):
    """Candidate edges (src, dst) -> those whose signatures agree on >= ``threshold`` (``verify.agree``);
    ``sigs``: (node, signature bytes) for every node an edge can name."""

    def __init__(self, sigs, threshold: float) -> None:
        super().__init__()
        self.sigs, self.threshold = sigs, threshold

    def expand(self, edges):
        by_src = (
            {"dst": edges | "Distinct" >> beam.Distinct(), "sig": self.sigs}
            | "JoinSrcSignature" >> beam.CoGroupByKey()
            | "ToDst" >> beam.FlatMap(_to_dst)
        )
        return (
            {"edges": by_src, "sig": self.sigs}
            | "JoinDstSignature" >> beam.CoGroupByKey()
            | "Agreeing" >> beam.FlatMap(_agreeing, self.threshold)
        )


def _send_labels(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, str]]:
    """A node's label to itself and to each neighbour (one round of min-label propagation)."""
    node, parts = item
    label = min(parts["label"], default=node)
    yield node, label
    for neighbour in parts["adj"]:
        yield neighbour, label


def _send_to_neighbours(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, str]]:
    node, parts = item
    label = min(parts["label"], default=node)
    for neighbour in parts["adj"]:
        yield neighbour, label


def _label_pairs(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, str]]:
    """(own label, neighbour's label) for every edge whose ends still disagree."""
    node, parts = item
    own = min(parts["own"])
    for other in set(parts["sent"]):
        if other != own:
            yield (min(own, other), max(own, other))


def _resolve(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """label -> component minimum for labels that still disagree across an edge (union-find)."""
    uf = UnionFind()
    for a, b in pairs:
        uf.union(a, b)
    return [(label, uf.find(label)) for label in uf.parent if uf.find(label) != label]


class LabelComponents(beam.PTransform):
    """(node, component minimum) for every node of an edge PCollection (see module docstring)."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds = rounds

    def expand(self, edges):
        adj = edges | "Undirected" >> beam.FlatMap(lambda e: [(e[0], e[1]), (e[1], e[0])])
        labels = adj | "FirstLabel" >> beam.Map(lambda kv: (kv[0], min(kv))) | "MinFirst" >> beam.CombinePerKey(min)
        for r in range(self.rounds):
            labels = (
                {"label": labels, "adj": adj}
                | f"Join{r}" >> beam.CoGroupByKey()
                | f"Send{r}" >> beam.FlatMap(_send_labels)
                | f"Min{r}" >> beam.CombinePerKey(min)
            )
        unconverged = Metrics.counter("dedup", "cc_unconverged_pairs")

        def count(pair):
            unconverged.inc()
            return pair

        sent = (
            {"label": labels, "adj": adj}
            | "JoinCheck" >> beam.CoGroupByKey()
            | "SendCheck" >> beam.FlatMap(_send_to_neighbours)
        )
        pairs = (
            {"own": labels, "sent": sent}
            | "JoinPairs" >> beam.CoGroupByKey()
            | "DisagreeingEdges" >> beam.FlatMap(_label_pairs)
            | "DistinctPairs" >> beam.Distinct()
            | "CountPairs" >> beam.Map(count)
        )
        fixes = pairs | "GatherPairs" >> beam.combiners.ToList() | "UnionFind" >> beam.FlatMap(_resolve)
        return labels | "ApplyFixes" >> beam.Map(
            lambda kv, fix: (kv[0], fix.get(kv[1], kv[1])), fix=beam.pvalue.AsDict(fixes)
        )


def _plan_entries(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, PlanEntry]]:
    """Plan rows of one exact winner or near-cluster node: key k with its exact members and component."""
    k, parts = item
    root = min(parts["component"], default=k)
    members = parts["members"] or [k]
    for doc_id in members:
        if doc_id != k:
            yield doc_id, (EXACT_DUPLICATE, root, root)
        elif root != k:
            yield doc_id, (NEAR_DUPLICATE, root, root)
        else:
            yield doc_id, (None, None, root)


class PlanDedup(beam.PTransform):
    """(id, exact key, band keys[, n_chars]) rows -> (id, (reason, duplicate_of, cluster)) for every
    clustered id (without n_chars, lengths tie and the smallest id is kept).

    With ``published`` (``dedup.scope = corpus``, a non-empty ``PublishedIndex``) the graph is
    ``CorpusPlanDedup``'s and each entry carries a fourth field, the snapshot of a published kept copy."""

    def __init__(self, cfg: DedupConfig, rounds: int, published: PublishedIndex | None = None) -> None:
        super().__init__()
        self.cfg, self.rounds, self.published = cfg, rounds, published

    def expand(self, rows):
        cfg = self.cfg
        if self.published is not None and len(self.published):
            return rows | "CorpusPlan" >> CorpusPlanDedup(cfg, self.rounds, self.published)
        keys = rows | "KeepKeys" >> beam.Map(_keyed)
        if cfg.exact:
            grouped = (
                keys
                | "ByExactKey" >> beam.Map(lambda k: (k[1], (k[0], (k[2], k[3]))))
                | "ExactGroups" >> beam.GroupByKey()
                | "KeepSmallestId" >> beam.FlatMap(exact_groups).with_outputs("members", main="survivors")
            )
            survivors, members = grouped.survivors, grouped.members
        else:
            survivors = keys | "AllSurvive" >> beam.Map(lambda k: (k[0], (k[2], k[3])))
            members = keys.pipeline | "NoExactGroups" >> beam.Create([])
        if cfg.near:
            banded = survivors | "WithBands" >> beam.Filter(lambda row: len(row[1][0]) > 0)
            buckets = banded | "BandKeys" >> beam.FlatMap(band_buckets, cfg.bands) | "Buckets" >> beam.GroupByKey()
            if cfg.verify > 0:
                sigs = banded | "Signatures" >> beam.Map(_signature_of, 4 * cfg.num_perm)
                edges = (
                    buckets
                    | "BucketPairs" >> beam.FlatMap(lambda kv: bucket_pairs(kv[1]))
                    | "Verify" >> VerifyEdges(sigs, cfg.verify)
                )
            else:
                edges = buckets | "StarEdges" >> beam.FlatMap(lambda kv: bucket_edges(kv[1]))
            components = edges | "Components" >> LabelComponents(self.rounds)
        else:
            components = keys.pipeline | "NoComponents" >> beam.Create([])
        return (
            {"members": members, "component": components}
            | "JoinClusters" >> beam.CoGroupByKey()
            | "PlanRows" >> beam.FlatMap(_plan_entries)
            | "KeysToIds" >> beam.Map(_unkeyed)
        )


def _keyed(row: tuple) -> tuple[str, bytes, list[int], bytes]:
    """(id, exact, bands[, n_chars[, signature]]) -> (keep key, exact, bands, signature): "smallest" becomes
    the keep rule."""
    return keep_key(row[0], row[3] if len(row) > 3 else 0), row[1], row[2], row[4] if len(row) > 4 else b""


def _unkeyed(item: tuple[str, PlanEntry]) -> tuple[str, PlanEntry]:
    key, (reason, duplicate_of, cluster) = item
    return key_id(key), (reason, key_id(duplicate_of) if duplicate_of else None, key_id(cluster))


# -- dedup.scope = corpus: the batch against the published index --------------------------------------
#
# The index enters the graph as PCollections (its nodes and band keys, ``PublishedIndex.node_table`` /
# ``band_table``) joined with the batch by key with CoGroupByKey: by exact key, by (band, key) and by
# id, the three links of ``local.plan_dedup``. A side input would hand the whole index to every worker
# (~690 B per published document, ~1.3 kB with signatures: ``dedup.index``'s arithmetic); the joins
# shuffle it by key, so no worker holds more than its keys.
# A published node carries its keep key (flag 0), so it is the minimum of every component it is in:
# the label propagation and the finishing union-find are the run-scope ones, unchanged.

PUB, NEW = 0, 1  # which side of a join a value comes from (published index, this run's batch)


def corpus_exact_groups(group: tuple[bytes, dict[str, list]], use_exact: bool) -> Iterator[Any]:
    """One exact key's batch members and published documents -> the batch winner with its band keys
    (main), (winner, member) pairs (tag ``members``), (published, winner) edges (tag ``links``) and
    the winner of a group whose key is published (tag ``exact_linked``: every member is an exact
    duplicate of that document). Without exact dedup every batch document survives on its own."""
    _, parts = group
    members, pubs = list(parts["batch"]), list(parts["published"])
    if not members:
        return  # published only: nothing of this run
    if not use_exact:
        yield from members
        return
    winner = keep_id(doc_id for doc_id, _ in members)
    yield next((doc_id, keys) for doc_id, keys in members if doc_id == winner)
    if len(members) > 1:
        for doc_id, _ in members:
            yield beam.pvalue.TaggedOutput("members", (winner, doc_id))
    for pub in pubs:
        yield beam.pvalue.TaggedOutput("links", (pub, winner))
    if pubs:
        yield beam.pvalue.TaggedOutput("exact_linked", (winner, True))


def corpus_bucket_edges(bucket: tuple[Any, Iterable[tuple[int, str]]], verify: bool = False) -> list[tuple[str, str]]:
    """A (band, key) bucket of batch winners and published documents -> the batch members' star plus
    one edge from each published document to the batch minimum: the components of ``local.plan_dedup``
    (which links each published document to every batch member of the bucket). A bucket of published
    documents alone links nothing: two published documents are never joined directly. ``verify``: the
    candidates to verify instead, the batch members' ``bucket_pairs`` and every (published, batch member)."""
    _, values = bucket
    batch = sorted({v for side, v in values if side == NEW})
    if not batch:
        return []
    pubs = sorted({v for side, v in values if side == PUB})
    if verify:
        return bucket_pairs(batch) + [(pub, member) for pub in pubs for member in batch]
    return bucket_edges(batch) + [(pub, batch[0]) for pub in pubs]


def _retarget(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, str]]:
    """Id links of one batch document -> (published, its exact winner, or itself)."""
    node, parts = item
    target = min(parts["winner"], default=node)
    for pub in parts["pubs"]:
        yield pub, target


def _corpus_entries(item: tuple[str, dict[str, list]], near_reason: str) -> Iterator[tuple[str, PlanEntry]]:
    """Plan rows of one exact winner or component node (``_plan_entries``), where a published document
    may be the root; an equal exact key to a published document makes the drop an exact duplicate."""
    k, parts = item
    if k.startswith(str(PUB)):
        return  # a published document: never dropped or counted by this run
    root = min(parts["component"], default=k)
    linked = bool(parts["exact_linked"])
    for doc_id in parts["members"] or [k]:
        if doc_id != k:
            yield doc_id, (EXACT_DUPLICATE, root, root)
        elif root != k:
            yield doc_id, (EXACT_DUPLICATE if linked else near_reason, root, root)
        else:
            yield doc_id, (None, None, root)


def _with_snapshot(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, tuple]]:
    """Rows of one cluster -> (id, (reason, duplicate_of, cluster, snapshot of a published cluster))."""
    _, parts = item
    snapshot = next(iter(parts["snapshot"]), None)
    for doc_id, (reason, duplicate_of, cluster) in parts["rows"]:
        yield doc_id, (reason, duplicate_of, cluster, snapshot)


class CorpusPlanDedup(beam.PTransform):
    """``PlanDedup`` of a batch against a published index (see the block comment above): entries
    (id, (reason, duplicate_of, cluster, published_in)), published_in the snapshot of a published
    kept copy or None."""

    def __init__(self, cfg: DedupConfig, rounds: int, published: PublishedIndex) -> None:
        super().__init__()
        self.cfg, self.rounds = cfg, rounds
        nodes = published.node_table()  # (pub, pub_id, exact, snapshot, signature)
        self.nodes = list(zip(*(nodes.column(c).to_pylist() for c in nodes.column_names), strict=True))
        bands = published.band_table()
        pubs = nodes.column("pub").take(bands.column("row"))
        self.bands = list(
            zip(bands.column("band").to_pylist(), bands.column("key").to_pylist(), pubs.to_pylist(), strict=True)
        )

    def expand(self, rows):
        cfg = self.cfg
        p = rows.pipeline
        keys = rows | "KeepKeys" >> beam.Map(_keyed)
        nodes = p | "IndexNodes" >> beam.Create(self.nodes)  # (pub, pub_id, exact, snapshot)
        grouped = (
            {
                "batch": keys | "ByExactKey" >> beam.Map(lambda k: (k[1], (k[0], (k[2], k[3])))),
                "published": nodes | "IndexByExactKey" >> beam.Map(lambda n: (n[2], n[0])),
            }
            | "ExactGroups" >> beam.CoGroupByKey()
            | "KeepSmallestId"
            >> beam.FlatMap(corpus_exact_groups, cfg.exact).with_outputs(
                "members", "links", "exact_linked", main="survivors"
            )
        )
        survivors, members = grouped.survivors, grouped.members
        id_links = (
            {
                "pubs": (
                    {
                        "batch": keys | "ByRawId" >> beam.Map(lambda k: (key_id(k[0]), k[0])),
                        "pub": nodes | "IndexById" >> beam.Map(lambda n: (n[1], n[0])),
                    }
                    | "IdGroups" >> beam.CoGroupByKey()
                    | "IdLinks" >> beam.FlatMap(lambda kv: [(b, pub) for b in kv[1]["batch"] for pub in kv[1]["pub"]])
                ),
                "winner": members | "MemberToWinner" >> beam.Map(lambda wm: (wm[1], wm[0])),
            }
            | "JoinWinners" >> beam.CoGroupByKey()
            | "IdLinksToWinners" >> beam.FlatMap(_retarget)
        )
        edge_sets = [grouped.links, id_links]
        if cfg.near:
            banded = survivors | "WithBands" >> beam.Filter(lambda row: len(row[1][0]) > 0)
            batch_bands = (
                banded
                | "BandKeys" >> beam.FlatMap(band_buckets, cfg.bands)
                | "BatchSide" >> beam.Map(lambda kv: (kv[0], (NEW, kv[1])))
            )
            index_bands = (
                p
                | "IndexBands" >> beam.Create(self.bands)
                | "PublishedSide" >> beam.Map(lambda b: ((b[0], b[1]), (PUB, b[2])))
            )
            verify = cfg.verify > 0
            band_edges = (
                (batch_bands, index_bands)
                | "AllBandKeys" >> beam.Flatten()
                | "Buckets" >> beam.GroupByKey()
                | "StarEdges" >> beam.FlatMap(corpus_bucket_edges, verify)
            )
            if verify:  # published signatures come from the index (loaded to verify: PublishedIndex.from_arrow)
                sigs = (
                    banded | "Signatures" >> beam.Map(_signature_of, 4 * cfg.num_perm),
                    nodes | "IndexSignatures" >> beam.Map(lambda n: (n[0], n[4])),
                ) | "AllSignatures" >> beam.Flatten()
                band_edges = band_edges | "Verify" >> VerifyEdges(sigs, cfg.verify)
            edge_sets.append(band_edges)
        components = edge_sets | "AllEdges" >> beam.Flatten() | "Components" >> LabelComponents(self.rounds)
        near_reason = NEAR_DUPLICATE if cfg.near else EXACT_DUPLICATE  # an id link counts where a stage is on
        entries = (
            {"members": members, "component": components, "exact_linked": grouped.exact_linked}
            | "JoinClusters" >> beam.CoGroupByKey()
            | "PlanRows" >> beam.FlatMap(_corpus_entries, near_reason)
        )
        return (
            {
                "rows": entries | "ByCluster" >> beam.Map(lambda kv: (kv[1][2], kv)),
                "snapshot": nodes | "SnapshotOfPublished" >> beam.Map(lambda n: (n[0], n[3])),
            }
            | "JoinSnapshots" >> beam.CoGroupByKey()
            | "WithSnapshot" >> beam.FlatMap(_with_snapshot)
            | "KeysToIds" >> beam.Map(_unkeyed_corpus)
        )


def _unkeyed_corpus(item: tuple[str, tuple]) -> tuple[str, tuple]:
    key, (reason, duplicate_of, cluster, snapshot) = item
    return key_id(key), (reason, key_id(duplicate_of) if duplicate_of else None, key_id(cluster), snapshot)
