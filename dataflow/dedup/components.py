"""Connected components over candidate edges, and THE keep rule every engine applies.

Keep rule: within a cluster of duplicates the document kept (and whose id names the cluster) is

1. the copy already published by an earlier run (``dedup.scope = corpus``): training already has
   it, and dropping it would change a released snapshot;
2. else the most complete copy: the longest text (``n_chars``): a copy with a truncated paragraph
   or a cut-off table is the worse one to keep;
3. else the smallest id (a tie-break that depends on nothing else).

The rule is one string, ``keep_key``: a flag digit (0 = published), the fixed-width complement of
``n_chars`` and the id, so "keep the smallest key" applies all three in order. Every engine only
ever takes a minimum: Python's ``min`` over ``str`` (code point order), which is the same as byte
order of the UTF-8 encodings, i.e. Spark's ``F.min`` on a string column and SQL ``MIN`` under
binary collation. The local, Spark and Beam engines therefore group keep keys instead of ids and
strip the key back to the id (``key_id``) at the end, and keep the same document whatever order
they see the rows in (same inputs and config give the same kept ids on every engine). Without
lengths (``keep_id`` over plain ids), the rule is the smallest id.

Grouping by band key yields buckets of ids; ``bucket_edges`` turns a bucket into a star of
edges from its minimum (k - 1 edges instead of k(k-1)/2, same components). Components are
then found with union-find (Tarjan 1975) whose union always makes the smaller root the parent,
so every root is its component's minimum: the kept document. Distributed engines compute the
same components with min-label propagation (Spark large-star/small-star, Kiveris et al., SoCC 2014,
"Connected Components in MapReduce and Beyond"); both give, for each node, the minimum id of
its component.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

LENGTH_DIGITS = 12  # n_chars up to 10^12 - 1: far beyond read.max_record_bytes
LENGTH_CAP = 10**LENGTH_DIGITS - 1
KEY_PREFIX = 1 + LENGTH_DIGITS  # characters of a keep key before the id


def keep_key(doc_id: str, n_chars: int, published: bool = False) -> str:
    """The sort key of the keep rule (module docstring): published first, then longest, then smallest id."""
    length = min(max(int(n_chars), 0), LENGTH_CAP)
    return f"{0 if published else 1}{LENGTH_CAP - length:0{LENGTH_DIGITS}d}{doc_id}"


def key_id(key: str) -> str:
    """The document id inside a ``keep_key``."""
    return key[KEY_PREFIX:]


def keep_id(ids: Iterable[str]) -> str:
    """The member a cluster keeps, which is also the cluster id: the smallest keep key (or, over
    plain ids, the smallest id)."""
    return min(ids)


def bucket_edges(ids: Iterable[Any]) -> list[tuple[Any, Any]]:
    """Star edges (min, other) linking every member of one bucket (ids sharing a key) to its minimum."""
    members = sorted(set(ids))
    return [(members[0], other) for other in members[1:]]


# members up to which a bucket's candidates are all its pairs when they are verified (dedup.verify):
# 64 x 63 / 2 = 2,016 checks at most per bucket; a larger bucket gives its star (bench/bench_dedup.py)
BUCKET_PAIRS_CAP = 64


def bucket_pairs(ids: Iterable[Any]) -> list[tuple[Any, Any]]:
    """Candidate edges (a, b), a < b, of one bucket when they are verified: every pair (a copy that fails
    against the minimum may verify against another member), or the star beyond ``BUCKET_PAIRS_CAP``."""
    members = sorted(set(ids))
    if len(members) > BUCKET_PAIRS_CAP:
        return [(members[0], other) for other in members[1:]]
    return [(a, b) for i, a in enumerate(members) for b in members[i + 1 :]]


class UnionFind:
    """Disjoint sets over comparable ids; each set's root is its smallest member."""

    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, x: Any) -> Any:
        parent = self.parent
        root = parent.setdefault(x, x)
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression: point the whole path straight at the root
            parent[x], x = root, parent[x]
        return root

    def union(self, a: Any, b: Any) -> Any:
        """Join the sets of a and b; the smaller root becomes the root of both. Returns it."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return ra


def connected_components(edges: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
    """Map every node that appears in ``edges`` to its component's smallest node (the kept one)."""
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    return {node: uf.find(node) for node in uf.parent}
