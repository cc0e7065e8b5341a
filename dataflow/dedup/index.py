"""The persistent dedup index in memory: published documents' keys, looked up by a new batch.

A nightly run (``dedup.scope = corpus``) dedups its batch against every document already
published, not only against itself. The catalog keeps the keys of every published document in the
``dedup_index`` table (``schemas.corpus.DEDUP_INDEX``: id, exact key, band keys, n_chars, run);
``PublishedIndex`` holds them as numpy arrays and answers one question for a whole batch at once:
which published documents share an exact key, a band key or the id with each new document.

Memory: only keys, never texts. Per published document 16 B of exact key, its id, and per band a
sorted int64 key plus an int32 row number (12 B): 14 bands x 12 B + 16 B + ~70 B of id and length
~ 250 B, so 100k published documents take ~25 MB and 10M ~2.5 GB; beyond that the index would be
partitioned by band (each band is looked up on its own already).

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
    ) -> None:
        self.ids = np.asarray(ids, dtype=object)
        self.n_chars = np.asarray(n_chars, dtype=np.int64)
        self.snapshots = np.asarray(snapshots, dtype=np.int64)
        self.num_bands = num_bands
        exact_arr = np.asarray(exact, dtype="S16")
        self._exact_order = np.argsort(exact_arr, kind="stable")
        self._exact_sorted = exact_arr[self._exact_order]
        id_arr = np.asarray(ids, dtype=str)
        self._id_order = np.argsort(id_arr, kind="stable")
        self._id_sorted = id_arr[self._id_order]
        rows = [i for i, b in enumerate(bands) if len(b) == num_bands]
        matrix = np.asarray([bands[i] for i in rows], dtype=np.int64).reshape(len(rows), num_bands)
        row_of = np.asarray(rows, dtype=np.int32)
        self._band_sorted: list[np.ndarray] = []
        self._band_rows: list[np.ndarray] = []
        for j in range(num_bands):
            order = np.argsort(matrix[:, j], kind="stable")
            self._band_sorted.append(np.ascontiguousarray(matrix[order, j]))
            self._band_rows.append(row_of[order])

    @classmethod
    def from_arrow(cls, table: pa.Table, snapshots: list[int], num_bands: int) -> PublishedIndex:
        """From ``dedup_index`` rows (``snapshots``: the documents snapshot holding each row)."""
        col = table.column
        return cls(
            col("id").to_pylist(),
            col("exact").to_pylist(),
            col("bands").to_pylist(),
            col("n_chars").to_pylist(),
            snapshots,
            num_bands,
        )

    def __len__(self) -> int:
        return len(self.ids)

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

    def match(self, ids: list[str], exact: list[bytes], band_rows: np.ndarray, bands: np.ndarray) -> Matches:
        """Links of batch documents to published ones.

        Args:
            ids, exact: id and exact key of every batch document (position = batch row).
            band_rows: batch positions of the documents that have band keys; ``bands`` their keys
                (len(band_rows) x num_bands int64).
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
            for j in range(self.num_bands):
                q, r = self._lookup(self._band_sorted[j], self._band_rows[j], bands[:, j])
                parts_b.append(np.asarray(band_rows, dtype=np.int64)[q]), parts_p.append(r)
                parts_e.append(np.zeros(len(q), dtype=bool))
        return Matches(np.concatenate(parts_b), np.concatenate(parts_p), np.concatenate(parts_e))


def index_batches(document_files: Iterable[str], cfg: DedupConfig, run_id: str) -> Iterator[list[dict]]:
    """``dedup_index`` rows (one batch per 1,000 documents) of the kept documents in ``document_files``
    (the run's documents Parquet parts, any engine): keys recomputed from the committed text, so the
    index holds exactly what the documents table holds (~9k docs/s per core, BENCHMARKS.md)."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    from dataflow.dedup.minhash import dedup_keys

    for uri in document_files:
        fs, path = pafs.FileSystem.from_uri(uri)
        with fs.open_input_file(path) as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=1000, columns=["id", "text", "n_chars"]):
                rows = []
                for doc_id, text, n_chars in zip(*(batch.column(c).to_pylist() for c in range(3)), strict=True):
                    keys = dedup_keys(text, cfg)
                    rows.append(
                        dict(id=doc_id, exact=keys.exact, bands=list(keys.bands), n_chars=n_chars, run_id=run_id)
                    )
                yield rows
