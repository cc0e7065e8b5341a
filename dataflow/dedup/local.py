"""Single-machine dedup grouping: from (id, exact key, band keys) rows to a plan of drops and clusters.

The local engine calls ``plan_dedup`` once, after every document of a run has its keys
(``minhash.dedup_keys``). Rows carry ids and integers only, never texts: 14 band keys are stored
as an int64 matrix (112 B per document, so 1M documents take about 112 MB plus their ids).

Order of work, the same on every engine:

1. exact dedup: documents with equal exact keys form a group; its smallest id survives, the
   others drop as ``exact_duplicate``;
2. near dedup among the exact survivors: documents sharing any band key are candidate pairs
   (grouped band by band with one sort per band); their connected components are clusters,
   and the smallest id of a cluster is kept, the others drop as ``near_duplicate``.

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

from dataflow.dedup.components import UnionFind

if TYPE_CHECKING:
    from dataflow.config import DedupConfig

EXACT_DUPLICATE = "exact_duplicate"
NEAR_DUPLICATE = "near_duplicate"


@dataclass
class DedupPlan:
    """What dedup decided for a run: dropped ids with (reason, kept id), and cluster ids."""

    drops: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (reason, duplicate_of)
    clusters: dict[str, str] = field(default_factory=dict)  # id -> cluster id (its kept member's id)

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


def plan_dedup(rows: Iterable[tuple[str, bytes, list[int]]], cfg: DedupConfig) -> DedupPlan:
    """Exact then near dedup over all surviving documents of a run (see module docstring)."""
    ids: list[str] = []
    exacts: list[bytes] = []
    flat = array("q")  # band keys of documents that have them, row after row: 8 B per key
    banded: list[int] = []  # input position of each band row
    for doc_id, exact, bands in rows:
        if cfg.near and bands:
            if len(bands) != cfg.bands:
                raise ValueError(f"{doc_id!r} has {len(bands)} band keys, config says {cfg.bands}")
            flat.extend(bands)
            banded.append(len(ids))
        ids.append(doc_id)
        exacts.append(exact)

    order = sorted(range(len(ids)), key=ids.__getitem__)  # rank = position in id order: smaller rank is kept
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    sorted_ids = [ids[i] for i in order]
    for a, b in zip(sorted_ids, sorted_ids[1:], strict=False):
        if a == b:
            raise ValueError(f"document id {a!r} appears twice in the dedup rows")

    uf = UnionFind()  # over ranks; each root is its component's smallest rank
    exact_dup = np.zeros(len(ids), dtype=bool)  # by rank
    if cfg.exact:
        winner: dict[bytes, int] = {}
        for r, i in enumerate(order):
            w = winner.setdefault(exacts[i], r)
            if w != r:
                exact_dup[r] = True
                uf.union(w, r)

    if banded:
        band_rank = rank[banded]
        matrix = np.frombuffer(flat, dtype=np.int64).reshape(len(banded), cfg.bands)
        keep = ~exact_dup[band_rank]  # exact duplicates follow their twin; short texts have no band keys
        by_rank = np.argsort(band_rank[keep])
        for a, b in _near_edges(band_rank[keep][by_rank], matrix[keep][by_rank]):
            uf.union(a, b)

    plan = DedupPlan()
    for r in sorted(uf.parent):
        kept = sorted_ids[uf.find(r)]
        plan.clusters[sorted_ids[r]] = kept
        if kept != sorted_ids[r]:
            plan.drops[sorted_ids[r]] = (EXACT_DUPLICATE if exact_dup[r] else NEAR_DUPLICATE, kept)
    return plan
