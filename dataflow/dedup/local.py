"""Single-machine dedup grouping: from (id, exact key, band keys) rows to a plan of drops and clusters.

The local engine calls ``plan_dedup`` once, after every document of a run has its keys
(``minhash.dedup_keys``). Rows carry ids, integers and signatures only, never texts: band keys
are stored as an int64 matrix (8 B per band per document) and signatures as a uint32 matrix.

Order of work, the same on every engine:

1. exact dedup: documents with equal exact keys form a group; the keep rule
   (``components.keep_key``: published, then longest, then smallest id) picks the survivor, the
   others drop as ``exact_duplicate``;
2. near dedup among the exact survivors: documents sharing any band key are candidate pairs
   (grouped band by band with one sort per band); their connected components are clusters,
   and the keep rule picks the one kept, the others drop as ``near_duplicate``;
3. with a published index (``dedup.scope = corpus``, ``dedup.index``): batch documents sharing an
   exact key, a band key or their id with published documents are linked to them; a published
   document wins its cluster, so every batch member of it drops, naming it in ``duplicate_of``
   and its snapshot in ``published_in``.

Verification (``dedup.verify`` > 0, the default): every pair of a band bucket (its star beyond
``components.BUCKET_PAIRS_CAP`` members) is a candidate, and only candidates whose signatures agree
on >= ``dedup.verify`` of their positions (``verify.verified_edges``) are unioned; links to published
documents by band key are verified the same way (``PublishedIndex.match``). Rows then carry the
signature (``signature_bytes``, 600 B at 150 permutations) beside the band keys, so the grouping
machine holds 400 B of band keys plus 600 B of signature per document (1M documents: ~1 GB).
With verification off, a bucket's star is enough (same components) and rows need no signature.

``duplicate_of`` is always the id of the document the cluster keeps (the schema's "kept document
it duplicates"), also for an exact duplicate whose exact twin was itself dropped as a near
duplicate. ``clusters`` names the cluster (= kept id) of every document in a cluster of two or
more, the kept one included; documents without duplicates are absent.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dataflow.dedup.components import BUCKET_PAIRS_CAP, UnionFind, keep_key, key_id
from dataflow.dedup.verify import verified_edges

if TYPE_CHECKING:
    import pyarrow as pa

    from dataflow.config import DedupConfig
    from dataflow.dedup.index import PublishedIndex

EXACT_DUPLICATE = "exact_duplicate"
NEAR_DUPLICATE = "near_duplicate"


@dataclass
class DedupPlan:
    """What dedup decided for a run: dropped ids with (reason, kept id), and cluster ids."""

    drops: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (reason, duplicate_of)
    clusters: dict[str, str] = field(default_factory=dict)  # id -> cluster id (its kept member's id)
    # kept id -> documents snapshot holding it, for clusters whose kept member was already published
    published_in: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str | None, str | None, str | None]]) -> DedupPlan:
        """A plan from (id, reason, duplicate_of, cluster) rows, as Spark and Beam hand them back after
        joining the plan onto the documents (None where a document has no entry)."""
        plan = cls()
        for doc_id, reason, duplicate_of, cluster in rows:
            if cluster is not None:
                plan.clusters[doc_id] = cluster
            if reason is not None:
                plan.drops[doc_id] = (reason, duplicate_of)
        return plan

    def rows(self) -> Iterator[tuple[str, str | None, str | None, str, int | None]]:
        """(id, reason, duplicate_of, cluster, published_in) of every document in a cluster of two or more: the
        rows of ``spark_cc.PLAN_COLUMNS`` (``from_rows`` reads them back; published_in: the snapshot holding the
        cluster's kept copy, where a published document keeps it)."""
        for doc_id, cluster in self.clusters.items():
            reason, duplicate_of = self.drops.get(doc_id, (None, None))
            yield doc_id, reason, duplicate_of, cluster, self.published_in.get(cluster)

    def count(self, reason: str) -> int:
        return sum(1 for r, _ in self.drops.values() if r == reason)


def _near_edges(indices: np.ndarray, bands: np.ndarray) -> Iterable[tuple[int, int]]:
    """Star edges (bucket minimum, member) for every band bucket holding two or more documents.

    ``indices`` ascend, and a stable sort keeps that order within equal keys, so the first row of
    each bucket is its smallest index: the same star ``components.bucket_edges`` builds.
    """
    idx = indices
    for j in range(bands.shape[1]):
        order = np.argsort(bands[:, j], kind="stable")
        keys = bands[order, j]
        starts = np.ones(len(keys), dtype=bool)
        starts[1:] = keys[1:] != keys[:-1]
        first = np.maximum.accumulate(np.where(starts, np.arange(len(keys)), 0))  # bucket start of each row
        members = idx[order]
        yield from zip(members[first[~starts]].tolist(), members[~starts].tolist(), strict=True)


def _pair_edges(bands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b), a < b, of row positions sharing a band key: every pair of a bucket of up to
    ``BUCKET_PAIRS_CAP`` members, the star from its first (smallest) position beyond that
    (``components.bucket_pairs``). Vectorised: per band, only rows of buckets of two or more take
    part, and the pairs at distance d within a bucket come from one comparison of shifted arrays."""
    parts_a, parts_b = [], []
    for j in range(bands.shape[1]):
        order = np.argsort(bands[:, j], kind="stable")  # stable: positions ascend within a bucket
        keys = bands[order, j]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[starts, len(keys)])
        bucket = np.repeat(np.arange(len(starts)), sizes)
        size_of = sizes[bucket]
        small = (size_of > 1) & (size_of <= BUCKET_PAIRS_CAP)
        members, group = order[small], bucket[small]
        for d in range(1, int(size_of[small].max(initial=1))):
            same = group[d:] == group[:-d]
            parts_a.append(members[:-d][same]), parts_b.append(members[d:][same])
        big = size_of > BUCKET_PAIRS_CAP
        if big.any():
            first = order[np.repeat(starts, sizes)]  # each row's bucket head
            rest = big & (order != first)
            parts_a.append(first[rest]), parts_b.append(order[rest])
    if not parts_a:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a, b = np.concatenate(parts_a), np.concatenate(parts_b)
    pair = np.unique(np.minimum(a, b) * len(bands) + np.maximum(a, b))  # a pair found in many bands: once
    return pair // len(bands), pair % len(bands)


def table_rows(table: pa.Table) -> Iterator[tuple]:
    """The rows ``plan_dedup`` takes, (id, exact key, band keys[, n_chars[, signature]]), from an Arrow table of
    those columns in that order (``engines.result.DEDUP_KEY_COLUMNS``), one record batch of Python objects at a
    time."""
    for batch in table.to_batches():
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def plan_dedup(
    rows: Iterable[
        tuple[str, bytes, list[int]] | tuple[str, bytes, list[int], int] | tuple[str, bytes, list[int], int, bytes]
    ],
    cfg: DedupConfig,
    published: PublishedIndex | None = None,
) -> DedupPlan:
    """Exact then near dedup over all surviving documents of a run (see module docstring).

    ``rows`` are (id, exact key, band keys[, n_chars[, signature]]); without n_chars every length ties
    and the smallest id is kept; the signature (``verify.signature_bytes``) is needed by every row with
    band keys when ``cfg.verify`` is on. ``published`` (``dedup.scope = corpus``): the index of already
    published documents; a batch document linked to one of them is dropped as its duplicate.
    """
    verify = cfg.near and cfg.verify > 0
    width = 4 * cfg.num_perm  # bytes of one signature
    ids: list[str] = []
    exacts: list[bytes] = []
    lengths: list[int] = []
    flat = array("q")  # band keys of documents that have them, row after row: 8 B per key
    flat_sigs = bytearray()  # their signatures, row after row (verification only)
    banded: list[int] = []  # input position of each band row
    for row in rows:
        doc_id, exact, bands = row[0], row[1], row[2]
        if cfg.near and bands:
            if len(bands) != cfg.bands:
                raise ValueError(f"{doc_id!r} has {len(bands)} band keys, config says {cfg.bands}")
            if verify:
                sig = row[4] if len(row) > 4 else b""
                if len(sig) != width:
                    raise ValueError(
                        f"{doc_id!r} has a signature of {len(sig)} bytes; dedup.verify needs {width} "
                        f"({cfg.num_perm} permutations x 4)"
                    )
                flat_sigs += sig
            flat.extend(bands)
            banded.append(len(ids))
        ids.append(doc_id)
        exacts.append(exact)
        lengths.append(row[3] if len(row) > 3 else 0)
    matrix = np.frombuffer(flat, dtype=np.int64).reshape(len(banded), cfg.bands)
    sigs = np.frombuffer(flat_sigs, dtype="<u4").reshape(len(banded), cfg.num_perm) if verify else None
    links = (
        published.match(ids, exacts, np.asarray(banded, dtype=np.int64), matrix, sigs, cfg.verify)
        if published and ids
        else None
    )
    pub_rows = np.unique(links.published) if links is not None else np.empty(0, dtype=np.int64)

    # nodes: the batch, then the published documents it links to; rank = position in keep-key order
    keys = [keep_key(doc_id, n) for doc_id, n in zip(ids, lengths, strict=True)]
    keys += [keep_key(published.ids[p], int(published.n_chars[p]), True) for p in pub_rows]
    order = sorted(range(len(keys)), key=keys.__getitem__)  # smaller rank is kept
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys))
    sorted_keys = [keys[i] for i in order]
    for a, b in zip(sorted_keys, sorted_keys[1:], strict=False):
        if a == b:
            raise ValueError(f"document id {key_id(a)!r} appears twice in the dedup rows")

    uf = UnionFind()  # over ranks; each root is its component's smallest rank
    exact_dup = np.zeros(len(keys), dtype=bool)  # by rank
    if cfg.exact:
        winner: dict[bytes, int] = {}
        for r, i in enumerate(order):
            if i < len(ids):
                w = winner.setdefault(exacts[i], r)
                if w != r:
                    exact_dup[r] = True
                    uf.union(w, r)

    if banded:
        band_rank = rank[banded]
        keep = ~exact_dup[band_rank]  # exact duplicates follow their twin; short texts have no band keys
        by_rank = np.argsort(band_rank[keep])
        ranks = band_rank[keep][by_rank]
        if sigs is None:
            for a, b in _near_edges(ranks, matrix[keep][by_rank]):
                uf.union(a, b)
        else:
            a, b = _pair_edges(matrix[keep][by_rank])
            ok = verified_edges(a, b, sigs[keep][by_rank], cfg.verify)
            for x, y in zip(ranks[a[ok]].tolist(), ranks[b[ok]].tolist(), strict=True):
                uf.union(x, y)

    node_of_pub = {int(p): len(ids) + k for k, p in enumerate(pub_rows)}
    if links is not None:
        for b, p, is_exact in zip(links.batch.tolist(), links.published.tolist(), links.exact.tolist(), strict=True):
            if is_exact and not cfg.exact:
                continue  # exact dedup is off: equal texts still link through their band keys
            rb = int(rank[b])
            exact_dup[rb] |= is_exact
            uf.union(int(rank[node_of_pub[p]]), rb)

    near_reason = NEAR_DUPLICATE if cfg.near else EXACT_DUPLICATE  # an id link counts where a stage is on
    plan = DedupPlan()
    batch_ranks = set(rank[: len(ids)].tolist())
    for r in sorted(uf.parent):
        if r not in batch_ranks:
            continue  # a published document: not this run's to drop or count
        doc_id, root = key_id(sorted_keys[r]), uf.find(r)
        kept = key_id(sorted_keys[root])
        plan.clusters[doc_id] = kept
        if root != r:
            plan.drops[doc_id] = (EXACT_DUPLICATE if exact_dup[r] else near_reason, kept)
            if root not in batch_ranks:
                plan.published_in[kept] = int(published.snapshots[pub_rows[order[root] - len(ids)]])
    return plan
