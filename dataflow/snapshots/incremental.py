"""Nightly runs by content: which inputs and which documents earlier runs already published.

Three questions the run driver asks the catalog before a run (issue 13):

* ``committed_runs``: the runs whose documents are published. A run commits its tables in a fixed
  order with the documents last (``commit.COMMIT_ORDER``), so a run killed before its documents
  commit has inputs and index rows but is not published: its rows count for nothing here, and
  rerunning it (same run id) completes it. The set is the run ids of the documents table's
  snapshots plus the run ids its current rows carry (the latter survive snapshot expiry).
* ``published_content``: the sha256 of every input file a published run read completely
  (``inputs.status == 'read'``). A file whose content is in it is skipped (``touch`` or a re-copy
  changes mtime and path, not content) and gets an inputs row with status ``unchanged``.
* ``published_index``: the ``dedup_index`` rows of published runs, with the documents snapshot
  holding each, for ``dedup.scope = corpus`` (``dataflow.dedup.index.PublishedIndex``).

Nothing here imports pipeline code (the lookups are Arrow scans of the catalog's tables).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.table import Table

from dataflow.snapshots.commit import RUN_ID, run_snapshot
from dataflow.snapshots.retention import COMPACTED
from schemas.corpus import INPUT_READ, INPUT_UNCHANGED, INPUTS

if TYPE_CHECKING:
    from dataflow.readers.discover import InputFile


def committed_runs(documents: Table) -> set[str]:
    """Run ids whose documents are published (module docstring). Runs before the last overwrite
    (``snapshot.mode = overwrite`` deletes every earlier row) are not: their documents are gone."""
    snaps = sorted(documents.metadata.snapshots, key=lambda s: s.sequence_number or 0)
    start = 0
    for i, snap in enumerate(snaps):
        summary = snap.summary
        replaced = summary is not None and summary.operation.value in ("delete", "overwrite")
        if replaced and COMPACTED not in summary.additional_properties:  # a compaction keeps every row
            start = i
    runs = {s.summary.get(RUN_ID) for s in snaps[start:] if s.summary is not None}
    if documents.current_snapshot() is not None:
        rows = documents.scan(selected_fields=("run_id",)).to_arrow().column("run_id")
        runs |= set(pc.unique(rows).to_pylist())
    return {r for r in runs if r}


def published_content(inputs: Table, runs: set[str]) -> set[str]:
    """sha256 of the input files that published runs read completely."""
    if inputs.current_snapshot() is None or not runs:
        return set()
    rows = inputs.scan(row_filter=f"status == '{INPUT_READ}'", selected_fields=("run_id", "content_hash")).to_arrow()
    return {
        h
        for run, h in zip(*(rows.column(c).to_pylist() for c in ("run_id", "content_hash")), strict=True)
        if h and run in runs
    }


@dataclass
class Selection:
    """What a run reads: new or changed files, and the rows of the files it skips as unchanged."""

    files: list[InputFile]
    unchanged: list[dict]  # inputs-table rows (without run_id), status ``unchanged``


def select_inputs(files: list[InputFile], hashes: dict[str, str], published: set[str], full: bool) -> Selection:
    """Keep the files whose content no published run read (all of them when ``full``).

    Two files with the same content in one batch are both read (the documents they yield are
    exact duplicates and dedup names one); content is only "published" once a run committed it.
    """
    if full:
        return Selection(list(files), [])
    selected, unchanged = [], []
    for f in files:
        if hashes[f.uri] in published:
            unchanged.append(unchanged_row(f, hashes[f.uri]))
        else:
            selected.append(f)
    return Selection(selected, unchanged)


def unchanged_row(f: InputFile, content_hash: str) -> dict:
    row = dict(
        uri=f.uri,
        size_bytes=f.size,
        content_hash=content_hash,
        format="",
        status=INPUT_UNCHANGED,
        error=None,
        records=0,
    )
    return {name: row.get(name) for name in INPUTS.names if name != "run_id"}


def published_index(index: Table, documents: Table, runs: set[str]) -> tuple[pa.Table, list[int]]:
    """``dedup_index`` rows of published runs, and the documents snapshot holding each row.

    A run whose own snapshot was expired is held by the current snapshot (its rows are still in it).
    """
    empty = index.schema().as_arrow().empty_table()
    if index.current_snapshot() is None or not runs:
        return empty, []
    rows = index.scan().to_arrow()
    run_col = rows.column("run_id")
    keep = pc.is_in(run_col, value_set=pa.array(sorted(runs), pa.string()))
    rows = rows.filter(keep)
    current = documents.current_snapshot()
    holder: dict[str, int] = {}
    for run in set(rows.column("run_id").to_pylist()):
        snap = run_snapshot(documents, run)
        holder[run] = snap if snap is not None else current.snapshot_id
    return rows, [holder[r] for r in rows.column("run_id").to_pylist()]


def new_runs(before: Iterable[str], documents: Table) -> set[str]:
    """Runs published since ``before`` was read (another process committed meanwhile)."""
    return committed_runs(documents.refresh()) - set(before)
