"""Commit a run's Parquet files to the corpus tables, once, idempotently.

pyiceberg commits one table at a time, so a run commits its four tables in a fixed order with
the documents table LAST: the documents snapshot is the commit point that makes a run visible
to training, and the other tables' rows are only ever looked up by a committed run id. Every
table commit carries ``dataflow.run_id`` in its snapshot summary and is skipped when the table
already holds a snapshot of that run, so:

* rerunning a run id that committed commits nothing new (no duplicate rows);
* a run killed between two table commits is completed by rerunning it;
* a run killed before its documents commit leaves the last documents snapshot untouched
  (uncommitted Parquet files are not referenced by any snapshot, and a rerun overwrites them).

Concurrent writers are handled by Iceberg's optimistic concurrency. pyiceberg 0.12.0 does retry a
``CommitFailedException`` itself (``Transaction.commit_transaction``: ``commit.retry.num-retries``,
default 4, exponential back-off from 100 ms, snapshot producers rebuilt on the refreshed table),
but it cannot know that a retry must first re-check whether the run already landed through
another process. So ``_commit_one`` keeps its own bounded loop around it (``RETRIES``): refresh,
re-check the run id, commit again; ``tests/dataflow/test_nightly_snapshots.py`` commits from two
processes at once and checks that nothing is lost or duplicated.

The ``dedup_index`` table (keys of the published documents, issue 13) commits just before the
documents, so index rows of a run killed in between belong to no published run and are ignored
(``incremental.committed_runs``) until the rerun commits its documents.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.table import Table

from dataflow.config import SNAPSHOT_MODES
from dataflow.snapshots.catalog import open_table

log = logging.getLogger(__name__)

RUN_ID = "dataflow.run_id"
COMMIT_ORDER = ("inputs", "stage_stats", "rejects", "dedup_index", "documents")  # documents last: the commit point
RETRIES = 5


@dataclass
class RunCommit:
    run_id: str
    snapshot_ids: dict[str, int]  # table -> snapshot id holding this run
    already_committed: bool  # True when nothing new was committed (a rerun)


def run_snapshot(table: Table, run_id: str) -> int | None:
    """Id of the latest snapshot of ``table`` that ``run_id`` committed, if any (an overwrite
    commits a delete and an append snapshot in one transaction; the append is the run's)."""
    found = None
    for snap in table.metadata.snapshots:
        if snap.summary is not None and snap.summary.get(RUN_ID) == run_id:
            found = snap.snapshot_id
    return found


def _commit_one(table: Table, files: list[str], properties: dict[str, str], overwrite: bool) -> int:
    for attempt in range(RETRIES):
        existing = run_snapshot(table, properties[RUN_ID])
        if existing is not None:
            return existing
        try:
            with table.transaction() as tx:
                if overwrite and table.current_snapshot() is not None:
                    tx.delete(AlwaysTrue(), snapshot_properties=properties)
                tx.add_files(files, snapshot_properties=properties)
            break
        except CommitFailedException:
            if attempt == RETRIES - 1:
                raise
            log.warning("commit to %s conflicted with another writer; retrying", table.name())
            time.sleep(0.2 * (attempt + 1))  # back off before re-reading the table
            table = table.refresh()
    table = table.refresh()
    snap_id = run_snapshot(table, properties[RUN_ID])
    assert snap_id is not None, "commit succeeded but no snapshot carries the run id"
    return snap_id


def commit_run(
    catalog: SqlCatalog,
    namespace: str,
    run_id: str,
    files: dict[str, list[str]],
    properties: dict[str, str],
    mode: str = "append",
    tag: str = "",
) -> RunCommit:
    """Register a run's Parquet files (table -> file URIs) as one snapshot per table.

    ``properties`` go into every snapshot summary (run id, config hash, code version, input
    manifest hash, headline figures). ``mode="overwrite"`` replaces the documents table's rows
    with this run's; the other tables always append. ``tag`` names the documents snapshot.
    """
    if mode not in SNAPSHOT_MODES:
        raise ValueError(f"snapshot mode must be one of {', '.join(SNAPSHOT_MODES)}, not {mode!r}")
    props = {k: str(v) for k, v in properties.items()} | {RUN_ID: run_id}
    ids: dict[str, int] = {}
    already = True
    for name in COMMIT_ORDER:
        table = open_table(catalog, namespace, name)
        before = run_snapshot(table, run_id)
        already &= before is not None
        overwrite = mode == "overwrite" and name == "documents"
        ids[name] = before if before is not None else _commit_one(table, files.get(name, []), props, overwrite)
    if tag:
        tag_snapshot(open_table(catalog, namespace, "documents"), ids["documents"], tag)
    return RunCommit(run_id, ids, already)


def tag_snapshot(table: Table, snapshot_id: int, tag: str, force: bool = False) -> None:
    """Name ``snapshot_id`` with ``tag``. Tags name releases that training pins, so an existing
    tag is never moved silently: that needs ``force``."""
    ref = table.metadata.refs.get(tag)
    if ref is not None and ref.snapshot_id == snapshot_id:
        return
    if ref is not None and not force:
        raise ValueError(f"tag {tag!r} already names snapshot {ref.snapshot_id}; tags are release names (use force)")
    with table.manage_snapshots() as ms:
        if ref is not None:
            ms.remove_tag(tag)
        ms.create_tag(snapshot_id, tag)
