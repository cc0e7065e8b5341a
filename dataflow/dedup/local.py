"""Single-machine dedup grouping: from (id, exact key, band keys) rows to a plan of drops and clusters.

The local engine calls ``plan_dedup`` once, after every document of a run has its keys
(``minhash.dedup_keys``). Rows carry ids and integers only, never texts: 14 band keys are stored
as an int64 matrix (112 B per document, so 1M documents take about 112 MB plus their ids).

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

LSH candidates are accepted without checking their estimated Jaccard: that would need the whole
signature per document (448 B as uint32[112], 4x the band keys) on the grouping machine.
bench/bench_dedup.py, default settings, 17k Korean and English documents: no candidate pair
between distinct documents; 1.3-1.4 % of candidate pairs have a true Jaccard under 0.5, all
heavier edits of one planted base. Extrapolating the S-curve over the measured background
Jaccard of same-domain text gives ~10 (Korean) to ~80 (English) false pairs per 1M documents;
that count grows linearly per document with corpus size, so at 100M+ documents a verification
step (signatures kept beside the band keys, or the persistent index) is worth its memory.

``duplicate_of`` is always the id of the document the cluster keeps (the schema's "kept document
it duplicates"), also for an exact duplicate whose exact twin was itself dropped as a near
duplicate. ``clusters`` names the cluster (= kept id) of every document in a cluster of two or
more, the kept one included; documents without duplicates are absent.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dataflow.dedup.components import UnionFind, keep_key, key_id

if TYPE_CHECKING:
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


def plan_dedup(
    rows: Iterable[tuple[str, bytes, list[int]] | tuple[str, bytes, list[int], int]],
    cfg: DedupConfig,
    published: PublishedIndex | None = None,
) -> DedupPlan:
    """Exact then near dedup over all surviving documents of a run (see module docstring).

    ``rows`` are (id, exact key, band keys[, n_chars]); without n_chars every length ties and the
    smallest id is kept. ``published`` (``dedup.scope = corpus``): the index of already published
    documents; a batch document linked to one of them is dropped as its duplicate.
    """
    ids: list[str] = []
    exacts: list[bytes] = []
    lengths: list[int] = []
    flat = array("q")  # band keys of documents that have them, row after row: 8 B per key
    banded: list[int] = []  # input position of each band row
    for row in rows:
        doc_id, exact, bands = row[0], row[1], row[2]
        if cfg.near and bands:
            if len(bands) != cfg.bands:
                raise ValueError(f"{doc_id!r} has {len(bands)} band keys, config says {cfg.bands}")
            flat.extend(bands)
            banded.append(len(ids))
        ids.append(doc_id)
        exacts.append(exact)
        lengths.append(row[3] if len(row) > 3 else 0)
    matrix = np.frombuffer(flat, dtype=np.int64).reshape(len(banded), cfg.bands)
    links = published.match(ids, exacts, np.asarray(banded, dtype=np.int64), matrix) if published and ids else None
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
        for a, b in _near_edges(band_rank[keep][by_rank], matrix[keep][by_rank]):
            uf.union(a, b)

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
