"""How many rows each document fills in a mix: pure functions over per-document arrays.

Every source document falls in one cell of the recipe (language x source kind, ``recipe.cells``) or
is left out with a named reason. A cell c holds T_c tokens and must contribute B_c = share_c x total.
The total is the token budget, or, with budget 0 (down-sampling only), the largest mix the sources
allow at the shares: min over cells of cap x T_c / share_c, with cap 1. A budget above that is an
error naming every short cell and by how much (``MixError``).

Inside a cell, document d gets ``repeats_d = min(cap, floor(s x w_d + 1 - u_d))`` rows, where u_d in
(0, 1) is a hash of (seed, document id), w_d its rehydration weight (1 without rehydration) and s the
cell's sampling rate. That is randomized rounding of s x w_d: in expectation a document fills exactly
s x w_d rows, so down-sampling (s < 1) draws each document with probability s, and up-sampling repeats
every document floor(s) times and a u-chosen part once more. The cell's tokens sum_d n_d x repeats_d
only grow with s, so s is found by bisection to within one document of B_c: on a corpus whose
documents are small against a cell, every share comes out within a hair of its target.

The same seed and ids give the same u, hence the same rows; another seed gives another draw at the
same shares. Arrays, not rows: 34 bytes are kept per source document (never its text); the bisection's
temporaries over one cell bring the peak to about 240 bytes per document (BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from schemas.mixes import REST

# Reasons a source document is not in the mix, each defined once (the mix summary counts them).
NOT_DRAWN = "not_drawn"  # in a cell of the recipe, but the draw gave it 0 rows (down-sampling)
LANGUAGE_NOT_IN_RECIPE = "language_not_in_recipe"
SOURCE_NOT_IN_RECIPE = "source_kind_not_in_recipe"  # its language's named sources take the whole language
DUPLICATE_ACROSS_SOURCES = "duplicate_across_sources"  # same id already drawn from an earlier source snapshot
NO_TOKENS = "no_tokens"  # empty text: nothing to train on
# cell codes for documents outside every cell (cells themselves are 0..n-1)
OUTSIDE = {LANGUAGE_NOT_IN_RECIPE: -1, SOURCE_NOT_IN_RECIPE: -2, DUPLICATE_ACROSS_SOURCES: -3, NO_TOKENS: -4}

BISECT_STEPS = 64  # halvings of the rate interval: far below one document's tokens for any corpus size
_M64 = (1 << 64) - 1


class MixError(ValueError):
    """The sources cannot make the mix the recipe asks for; the message names the short cells."""


def id_hash(ids: Iterable[str]) -> np.ndarray:
    """64-bit hash of each document id (blake2b): the id's stand-in in the per-document arrays."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little") for i in ids), dtype=np.uint64
    )


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijective scramble of uint64 values (vectorised; wraps mod 2^64)."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def draw_keys(hashes: np.ndarray, seed: int) -> np.ndarray:
    """The per-document random key of a seed: uint64, uniform, independent across seeds."""
    salt = mix64(np.array([seed & _M64], dtype=np.uint64))[0]
    return mix64(hashes ^ salt)


def uniform(keys: np.ndarray) -> np.ndarray:
    """Keys as floats strictly inside (0, 1): the top 53 bits, plus half a step."""
    return ((keys >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def rehydration_weights(cluster_sizes: np.ndarray, table: list[tuple[int, float]]) -> np.ndarray:
    """Weight of each document: the weight of the largest table bound <= its cluster size."""
    bounds = np.array([b for b, _ in table], dtype=np.int64)
    weights = np.array([w for _, w in table], dtype=np.float64)
    index = np.searchsorted(bounds, cluster_sizes, side="right") - 1
    return weights[np.clip(index, 0, None)]


def cell_repeats(tokens: np.ndarray, u: np.ndarray, w: np.ndarray, target: int, cap: int) -> np.ndarray:
    """Rows per document of one cell so that sum(tokens x rows) is as close to ``target`` as one document allows."""

    def rows(rate: float) -> np.ndarray:
        return np.minimum(np.floor(rate * w + 1.0 - u), cap).astype(np.int32)

    def total(rate: float) -> int:
        return int(np.dot(tokens, rows(rate)))

    if target <= 0 or len(tokens) == 0:
        return np.zeros(len(tokens), dtype=np.int32)
    lo, hi = 0.0, cap / float(w.min())  # at hi every document sits at the cap
    if total(hi) <= target:
        return rows(hi)
    for _ in range(BISECT_STEPS):
        mid = (lo + hi) / 2
        if total(mid) < target:
            lo = mid
        else:
            hi = mid
    below, above = total(lo), total(hi)
    return rows(lo) if target - below < above - target else rows(hi)


@dataclass(frozen=True)
class CellPlan:
    """One cell's numbers: what the sources hold, what the recipe asks, what the mix got."""

    language: str
    source_kind: str  # a source kind, or REST for the kinds the recipe leaves unnamed
    kinds: tuple[str, ...]  # the source kinds the cell's documents actually have
    target_share: float
    docs: int  # source documents in the cell
    tokens: int
    bytes: int
    chars: int
    target_tokens: int
    mix_tokens: int
    mix_bytes: int
    mix_chars: int
    mix_rows: int
    docs_used: int  # documents with at least one row
    docs_repeated: int  # documents with more than one row
    docs_left_out: int  # documents the draw gave no row (NOT_DRAWN)
    max_repeats: int


def label(language: str, source_kind: str, kinds: Iterable[str], only_cell: bool) -> str:
    """How a cell is named in messages and reports: 'ko', 'ko/paper' or 'ko/other kinds (web, text)'."""
    if source_kind != REST:
        return f"{language}/{source_kind}"
    if only_cell:
        return language
    return f"{language}/other kinds ({', '.join(sorted(kinds)) or 'none'})"


def mix_total(
    cells: list[tuple[str, str, float]], available: list[int], cap: int, budget: int, names: list[str]
) -> int:
    """Tokens of the whole mix: ``budget``, or the most the sources allow; a budget out of reach is a MixError."""
    reach = min((cap * t / s for (_, _, s), t in zip(cells, available, strict=True)), default=0.0)
    if budget == 0:
        if reach <= 0:
            empty = [n for n, t in zip(names, available, strict=True) if t == 0]
            raise MixError(f"the sources have no tokens for {', '.join(empty)}: no mix at the recipe's shares")
        return int(reach)
    short = []
    for (_, _, share), tokens, name in zip(cells, available, names, strict=True):
        need = share * budget
        most = cap * tokens
        if need > most:
            repeats = "once each" if cap == 1 else f"at most {cap} repeats"
            short.append(
                f"{name} needs {need:,.0f} tokens ({share:.2%} of {budget:,}) but holds {tokens:,} "
                f"({repeats}: {most:,}): short by {need - most:,.0f} tokens ({(need - most) / need:.1%})"
            )
    if short:
        hint = "raise max_repeats, " if cap > 1 else "use sampling: upsample, "
        raise MixError(
            f"the sources cannot reach the recipe's shares at a budget of {budget:,} tokens: "
            + "; ".join(short)
            + f" (largest reachable budget: {int(reach):,}; {hint}lower token_budget, or add sources)"
        )
    return budget
