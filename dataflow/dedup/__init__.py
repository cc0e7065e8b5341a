"""Exact and MinHash LSH near-duplicate detection: pure key functions, keep rule, local grouping.

* ``exact``: canonical text and its 16-byte hash;
* ``minhash``: ``dedup_keys(text, cfg)`` -> exact key + LSH band keys (the per-document work);
* ``components``: union-find, star edges per bucket, and the keep rule (smallest id) all engines share;
* ``local``: ``plan_dedup(rows, cfg)``, the single-machine grouping into drops and clusters.

Spark and Beam reuse ``dedup_keys``, ``bucket_edges`` and ``keep_id``; only the grouping differs.
"""

from dataflow.dedup.components import bucket_edges, connected_components, keep_id
from dataflow.dedup.exact import canonical, exact_hash
from dataflow.dedup.local import EXACT_DUPLICATE, NEAR_DUPLICATE, DedupPlan, plan_dedup
from dataflow.dedup.minhash import DedupKeys, dedup_keys

__all__ = [
    "EXACT_DUPLICATE",
    "NEAR_DUPLICATE",
    "DedupKeys",
    "DedupPlan",
    "bucket_edges",
    "canonical",
    "connected_components",
    "dedup_keys",
    "exact_hash",
    "keep_id",
    "plan_dedup",
]
