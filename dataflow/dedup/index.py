"""The persistent dedup index in memory: published documents' keys, looked up by a new batch.

A nightly run (``dedup.scope = corpus``) dedups its batch against every document already
published, not only against itself. The catalog keeps the keys of every published document in the
``dedup_index`` table (``schemas.corpus.DEDUP_INDEX``: id, exact key, band keys, n_chars, run,
signature and the layout that made them);
``PublishedIndex`` holds them as numpy arrays and answers one question for a whole batch at once:
which published documents share an exact key, a band key or the id with each new document.

Memory: only keys, never texts. Per published document 16 B of exact key, its id, and per band a
sorted int64 key plus an int32 row number (12 B): 50 bands x 12 B + 16 B + ~70 B of id and length
~ 690 B, plus its signature when verifying (600 B at 150 permutations), so 100k published documents
take ~130 MB and 10M ~13 GB; beyond that the index would be partitioned by band (each band is looked
up on its own already).

Layout: band keys and signatures only match keys of the same unit, n-gram, bands x rows and seed
(``DedupConfig.layout``). Every row records its layout; ``from_arrow`` given the run's config refuses
an index with band keys of another layout (or of none recorded: an index written before the column)
with a one-line ``ConfigError`` naming both layouts and the fix, instead of silently finding nothing.
Band links are verified like in-batch candidates (``dedup.verify``): a batch document and a published
one sharing a band key link only when their signatures agree enough.

Lookup: per band one ``np.searchsorted`` of the batch's keys in that band's sorted published keys
(O(batch x bands x log index)), nothing proportional to the index is rebuilt per batch, and
no connected components are rerun over old data (NeMo Curator's incremental mode re-runs LSH
over old plus new; datatrove's index returns a placeholder for the old document). The matched
published documents then join the batch's own union-find as nodes that win every cluster they
are in (``components.keep_key``: published first), see ``local.plan_dedup``.

A new record whose id is already published (a changed file re-read: the same record at the same
place) is linked to its published version even when the text differs beyond the LSH threshold:
document ids are unique in the corpus, and the published version stays (``--full`` with
``snapshot.mode = overwrite`` rebuilds from scratch).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from dataflow.config import ConfigError
from dataflow.dedup.verify import signature_rows, verified_pairs

if TYPE_CHECKING:
    from dataflow.config import DedupConfig


@dataclass
class Matches:
    """Links between batch rows and published rows: parallel arrays, one entry per link."""

    batch: np.ndarray  # int64 positions in the batch
    published: np.ndarray  # int64 rows of the index
    exact: np.ndarray  # bool: the link is an equal exact key (else a band key or the id)


class PublishedIndex:
    """The keys of every published document, sorted for batch lookups (module docstring)."""

    def __init__(
        self,
        ids: list[str],
        exact: list[bytes],
        bands: list[list[int]],
        n_chars: list[int],
        snapshots: list[int],
        num_bands: int,
        signatures: list[bytes] | None = None,
    ) -> None:
        """``signatures``: each row's ``verify.signature_bytes`` (needed to verify band links)."""
        rows = [i for i, b in enumerate(bands) if len(b) == num_bands]
        matrix = np.asarray([bands[i] for i in rows], dtype=np.int64).reshape(len(rows), num_bands)
        sigs = None
        if signatures is not None:
            blobs = [signatures[i] for i in rows]
            sigs = signature_rows(blobs, len(blobs[0]) // 4) if blobs else None
        self._build(
            np.asarray(ids, dtype=str),
            np.asarray(exact, dtype="S16"),
            matrix,
            np.asarray(rows),
            n_chars,
            snapshots,
            sigs,
            signatures,
        )

    def _build(
        self, ids, exact: np.ndarray, matrix: np.ndarray, rows: np.ndarray, n_chars, snapshots, sigs=None, blobs=None
    ) -> None:
        """Sorted lookups from arrays: ``matrix`` holds the band keys of index rows ``rows`` (the others have
        none), ``sigs`` their signatures (uint32, same order) or None; ``blobs``: every row's signature bytes."""
        self.ids = ids
        self.sigs = sigs
        self._sig_row = np.full(len(ids), -1, dtype=np.int64)  # index row -> its row of ``sigs``
        self._sig_row[rows.astype(np.int64)] = np.arange(len(rows))
        self._blobs = blobs
        self.n_chars = np.asarray(n_chars, dtype=np.int64)
        self.snapshots = np.asarray(snapshots, dtype=np.int64)
        self.num_bands = matrix.shape[1]
        self._exact_order = np.argsort(exact)
        self._exact_sorted = exact[self._exact_order]
        self._id_order = np.argsort(ids)  # ids: a fixed-width numpy str array
        self._id_sorted = ids[self._id_order]
        row_of = rows.astype(np.int32)
        self._band_sorted: list[np.ndarray] = []
        self._band_rows: list[np.ndarray] = []
        for j in range(self.num_bands):
            order = np.argsort(matrix[:, j])  # introsort: ties need no order, so no stable sort
            self._band_sorted.append(np.ascontiguousarray(matrix[order, j]))
            self._band_rows.append(row_of[order])

    @classmethod
    def from_arrow(
        cls, table: pa.Table, snapshots: list[int], num_bands: int, cfg: DedupConfig | None = None
    ) -> PublishedIndex:
        """From ``dedup_index`` rows (``snapshots``: the documents snapshot holding each row), columnar:
        no Python object per band key (100k published documents load in well under a second).

        ``cfg`` (the run's dedup config): check that every banded row has its layout (``ConfigError``
        otherwise, module docstring) and, with ``cfg.verify``, load the signatures to verify band links."""
        import pyarrow.compute as pc

        bands = table.column("bands").combine_chunks() if table.num_rows else pa.array([], pa.list_(pa.int64()))
        lengths = pc.list_value_length(bands).fill_null(0).to_numpy(zero_copy_only=False)
        if cfg is not None and cfg.near:
            _check_layout(table, lengths > 0, cfg)
        banded, matrix = banded_keys(bands, lengths, num_bands)
        sigs, blobs = None, None
        if cfg is not None and cfg.near and cfg.verify > 0 and table.num_rows:
            blobs = table.column("signature").combine_chunks().fill_null(b"").to_pylist()
            width = 4 * cfg.num_perm
            short = [int(i) for i in banded if len(blobs[i]) != width]
            if short:
                raise ConfigError(
                    f"dedup_index: {len(short)} published document(s) (e.g. {table.column('id')[short[0]]}) have no "
                    f"{cfg.num_perm}-permutation signature to verify band links with (dedup.verify = {cfg.verify}); "
                    "set dedup.verify: 0 with the layout they were built with, or rebuild the index (--full into a "
                    "fresh data_root)"
                )
            sigs = signature_rows([blobs[i] for i in banded], cfg.num_perm)
        index = cls.__new__(cls)
        exact = table.column("exact").combine_chunks().cast(pa.binary(16)) if table.num_rows else None
        index._build(
            np.asarray(table.column("id").to_numpy(zero_copy_only=False), dtype=str),
            np.frombuffer(exact.buffers()[1], "S16", len(exact)) if exact is not None else np.empty(0, "S16"),
            matrix,
            banded,
            table.column("n_chars").to_numpy(zero_copy_only=False),
            snapshots,
            sigs,
            blobs,
        )
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def node_table(self) -> pa.Table:
        """One row per published document, for engines that join the index (Spark, Beam): ``pub`` (its
        keep key, published flag set: ``components.keep_key``), ``pub_id``, ``dedup_exact`` (16 B, the
        batch documents' type) and ``snapshot`` (the documents snapshot holding it)."""
        from dataflow.dedup.components import keep_key

        exact = np.empty_like(self._exact_sorted)
        exact[self._exact_order] = self._exact_sorted
        # from the raw buffer: numpy's "S16" items drop trailing NUL bytes, the key's own bytes
        fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(exact), [None, pa.py_buffer(exact.tobytes())])
        ids = self.ids.tolist()
        return pa.table(
            {
                "pub": [keep_key(i, n, True) for i, n in zip(ids, self.n_chars.tolist(), strict=True)],
                "pub_id": pa.array(ids, pa.string()),
                "dedup_exact": fixed.cast(pa.binary()),
                "snapshot": pa.array(self.snapshots, pa.int64()),
                # signature bytes (b"" where none was loaded): engines verify band links with them
                "pub_signature": pa.array(self._blobs if self._blobs is not None else [b""] * len(ids), pa.binary()),
            }
        )

    def band_table(self) -> pa.Table:
        """(band position, band key, row of ``node_table``) for every band key of the index: the
        long form a (band, key) join takes (one row per band per published document: 50 at the default bands)."""
        n = np.asarray([len(k) for k in self._band_sorted], dtype=np.int64)
        return pa.table(
            {
                "band": pa.array(np.repeat(np.arange(self.num_bands, dtype=np.int32), n)),
                "key": pa.array(np.concatenate(self._band_sorted) if self.num_bands else np.empty(0, np.int64)),
                "row": pa.array(
                    np.concatenate(self._band_rows).astype(np.int64) if self.num_bands else np.empty(0, np.int64)
                ),
            }
        )

    @staticmethod
    def _lookup(sorted_keys: np.ndarray, order: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query position, index row) for every index entry equal to a query (all of them on ties)."""
        left = np.searchsorted(sorted_keys, queries, side="left")
        right = np.searchsorted(sorted_keys, queries, side="right")
        counts = right - left
        hit = np.nonzero(counts)[0]
        if not len(hit):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        query = np.repeat(hit, counts[hit])
        # positions left[q], left[q] + 1, ... right[q] - 1 for every hit query q
        starts = np.repeat(left[hit], counts[hit])
        offsets = np.arange(len(query)) - np.repeat(np.cumsum(counts[hit]) - counts[hit], counts[hit])
        return query.astype(np.int64), order[starts + offsets].astype(np.int64)

    def match(
        self,
        ids: list[str],
        exact: list[bytes],
        band_rows: np.ndarray,
        bands: np.ndarray,
        sigs: np.ndarray | None = None,
        threshold: float = 0.0,
    ) -> Matches:
        """Links of batch documents to published ones.

        Args:
            ids, exact: id and exact key of every batch document (position = batch row).
            band_rows: batch positions of the documents that have band keys; ``bands`` their keys
                (len(band_rows) x num_bands int64).
            sigs, threshold: the signatures of those documents (uint32, one row per band row) and
                ``dedup.verify``: a band link is kept only when the two signatures agree on >= threshold
                (needs an index loaded with signatures); None: band links are not verified.
        """
        if len(self) == 0:
            empty = np.empty(0, dtype=np.int64)
            return Matches(empty, empty, np.empty(0, dtype=bool))
        parts_b, parts_p, parts_e = [], [], []
        q, r = self._lookup(self._exact_sorted, self._exact_order, np.asarray(exact, dtype="S16"))
        parts_b.append(q), parts_p.append(r), parts_e.append(np.ones(len(q), dtype=bool))
        q, r = self._lookup(self._id_sorted, self._id_order, np.asarray(ids, dtype=str))
        parts_b.append(q), parts_p.append(r), parts_e.append(np.zeros(len(q), dtype=bool))
        if len(band_rows):
            if bands.shape[1] != self.num_bands:
                raise ValueError(f"batch has {bands.shape[1]} band keys per document, the index {self.num_bands}")
            found_q, found_r = [], []
            for j in range(self.num_bands):
                q, r = self._lookup(self._band_sorted[j], self._band_rows[j], bands[:, j])
                found_q.append(q), found_r.append(r)
            q, r = np.concatenate(found_q), np.concatenate(found_r)
            if sigs is not None:
                if self.sigs is None:
                    raise ValueError("band links cannot be verified: the index was loaded without signatures")
                pair = np.unique(q * len(self) + r)  # a pair sharing many bands is checked once
                q, r = pair // len(self), pair % len(self)
                keep = verified_pairs(sigs, q, self.sigs, self._sig_row[r], threshold)
                q, r = q[keep], r[keep]
            parts_b.append(np.asarray(band_rows, dtype=np.int64)[q]), parts_p.append(r)
            parts_e.append(np.zeros(len(q), dtype=bool))
        return Matches(np.concatenate(parts_b), np.concatenate(parts_p), np.concatenate(parts_e))


def banded_keys(bands: pa.Array, lengths: np.ndarray, num_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows with ``num_bands`` band keys, their keys as int64[len(rows), num_bands]) of a ``bands`` list
    column (``lengths``: each row's number of keys), columnar: no Python object per band key."""
    import pyarrow.compute as pc

    flat = pc.list_flatten(bands).to_numpy(zero_copy_only=False).astype(np.int64)
    full = lengths == num_bands
    # every row banded (the usual case): a view of the flattened keys, no copy
    matrix = (flat if full.all() else flat[np.repeat(full, lengths)]).reshape(int(full.sum()), num_bands)
    return np.nonzero(full)[0], matrix


def index_batches(document_files: Iterable[str], cfg: DedupConfig, run_id: str) -> Iterator[list[dict]]:
    """``dedup_index`` rows (one batch per 1,000 documents) of the kept documents in ``document_files``
    (the run's documents Parquet parts, any engine): keys recomputed from the committed text, so the
    index holds exactly what the documents table holds (``dedup_keys_batch``, as ``pipeline.split_rows``)."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    for uri in document_files:
        fs, path = pafs.FileSystem.from_uri(uri)
        with fs.open_input_file(path) as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=1000, columns=["id", "text", "n_chars"]):
                ids, texts, lengths = (batch.column(c).to_pylist() for c in range(3))
                yield index_rows(ids, texts, lengths, [run_id] * len(ids), cfg)


def index_rows(
    ids: list[str], texts: list[str], lengths: list[int], run_ids: list[str], cfg: DedupConfig
) -> list[dict]:
    """The ``dedup_index`` rows of published documents: their keys under ``cfg``'s layout, from their text."""
    from dataflow.dedup.minhash import dedup_keys_batch

    return [
        dict(
            id=doc_id,
            exact=keys.exact,
            bands=list(keys.bands),
            n_chars=n_chars,
            run_id=run,
            signature=keys.signature or None,
            layout=cfg.layout if keys.bands else None,
        )
        for doc_id, keys, n_chars, run in zip(ids, dedup_keys_batch(texts, cfg), lengths, run_ids, strict=True)
    ]


def _check_layout(table: pa.Table, banded: np.ndarray, cfg: DedupConfig) -> None:
    """``ConfigError`` when a published row with band keys was built with another layout than ``cfg``'s."""
    if not banded.any():
        return
    if "layout" in table.column_names:
        layouts = np.asarray(table.column("layout").to_pylist(), dtype=object)[banded]
    else:
        layouts = np.full(int(banded.sum()), None, dtype=object)
    wrong = layouts != cfg.layout
    if wrong.any():
        theirs = sorted(
            {str(x) if x is not None else "unrecorded (an index from before dedup.verify)" for x in layouts[wrong]}
        )
        runs = sorted(set(np.asarray(table.column("run_id").to_pylist(), dtype=object)[banded][wrong].tolist()))
        raise ConfigError(
            f"dedup_index: {int(wrong.sum())} published document(s) of run(s) {', '.join(runs[:3])}"
            f"{' ...' if len(runs) > 3 else ''} have band keys of layout {', '.join(theirs)}, the config's is "
            f"{cfg.layout} (dedup.unit/ngram/bands/rows/seed): their keys would never match; set dedup back to that "
            "layout, or rebuild the index from the published documents: `dataflow snapshots reindex` with this config"
        )
