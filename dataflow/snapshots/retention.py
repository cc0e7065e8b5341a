"""Retention and releases: expire old snapshots (never tagged ones), remove orphan files, name releases.

``dataflow snapshots expire | remove-orphans | compact | release`` call these. Iceberg keeps every snapshot
until it is expired, and pyiceberg 0.12 expires metadata only (the data files stay): so
retention is two steps, as in Iceberg's own maintenance procedures:

1. ``expire``: drop snapshots older than a window from every corpus table's metadata. Never
   expired: the current snapshot, any branch or tag head (pyiceberg protects those itself), and in
   every table the snapshots of a run whose documents snapshot carries a tag, so a release keeps
   its stats, rejects, inputs and index rows readable by ``run:<id>`` (``dataflow report`` on a
   release). Expired documents snapshots lose their run id summary, so the incremental lookups
   (``incremental.committed_runs``) also read the run ids of the current rows.
2. ``remove_orphans``: delete files under a table's location that no remaining snapshot, manifest
   or metadata-log entry references, and that are older than a grace period (default 3 days,
   Iceberg's own ``remove_orphan_files`` default): a running job's files are written before its
   commit and must not be mistaken for orphans.

``compact`` rewrites a table's many small per-run files into few (same rows, a new snapshot).
``release`` tags the current documents snapshot ``release-YYYY-MM-DD`` (``commit.tag_snapshot``:
a tag is never moved silently), the name training pins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.fs as pafs
from pyiceberg.table import Table

from dataflow.snapshots.commit import RUN_ID, tag_snapshot

log = logging.getLogger(__name__)

ORPHAN_GRACE = timedelta(days=3)  # Iceberg's remove_orphan_files default: longer than any run takes
RELEASE_PREFIX = "release-"


@dataclass
class Expired:
    table: str
    expired: list[int]  # snapshot ids removed from the metadata
    kept: int  # snapshots left


def protected_runs(documents: Table) -> set[str]:
    """Run ids of the documents snapshots that carry a tag (releases)."""
    runs = set()
    for name, ref in documents.metadata.refs.items():
        if name == "main":
            continue
        snap = documents.snapshot_by_id(ref.snapshot_id)
        if snap is not None and snap.summary is not None and snap.summary.get(RUN_ID):
            runs.add(snap.summary.get(RUN_ID))
    return runs


def expirable(table: Table, older_than: datetime, keep_runs: set[str]) -> list[int]:
    """Snapshots of ``table`` older than ``older_than`` that are not current, not a ref head, and not
    of a run in ``keep_runs``."""
    cutoff = int(older_than.timestamp() * 1000)
    current = table.current_snapshot()
    heads = {ref.snapshot_id for ref in table.metadata.refs.values()}
    out = []
    for snap in table.metadata.snapshots:
        run = snap.summary.get(RUN_ID) if snap.summary is not None else None
        if snap.timestamp_ms >= cutoff or snap.snapshot_id in heads or run in keep_runs:
            continue
        if current is not None and snap.snapshot_id == current.snapshot_id:
            continue
        out.append(snap.snapshot_id)
    return out


def expire(tables: dict[str, Table], older_than: datetime, dry_run: bool = False) -> list[Expired]:
    """Expire snapshots older than ``older_than`` in every table (module docstring: what is never expired)."""
    keep = protected_runs(tables["documents"])
    out = []
    for name, table in tables.items():
        ids = expirable(table, older_than, keep)
        if ids and not dry_run:
            table.maintenance.expire_snapshots().by_ids(ids).commit()
            table = table.refresh()
        out.append(Expired(name, ids, len(table.metadata.snapshots) - (len(ids) if dry_run else 0)))
        log.info("%s: %d snapshot(s) expired%s", name, len(ids), " (dry run)" if dry_run else "")
    return out


def referenced_files(table: Table) -> set[str]:
    """Every file a remaining snapshot needs: data files, manifests, manifest lists, metadata files."""
    refs = {table.metadata_location}
    refs |= {entry.metadata_file for entry in table.metadata.metadata_log}
    for snap in table.metadata.snapshots:
        refs.add(snap.manifest_list)
        for manifest in snap.manifests(table.io):
            refs.add(manifest.manifest_path)
    if table.metadata.snapshots:
        refs |= set(table.inspect.all_files().column("file_path").to_pylist())
    return {_path(r) for r in refs}


def _path(uri: str) -> str:
    return pafs.FileSystem.from_uri(uri)[1] if "://" in uri else uri


def remove_orphans(table: Table, older_than: datetime | None = None, dry_run: bool = False) -> list[str]:
    """Delete unreferenced files under the table's location older than ``older_than`` (default: now
    minus ``ORPHAN_GRACE``); returns their paths."""
    older_than = older_than or datetime.now(UTC) - ORPHAN_GRACE
    keep = referenced_files(table)
    fs, root = pafs.FileSystem.from_uri(table.location())
    orphans = []
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True)):
        if not info.is_file or info.path in keep:
            continue
        if info.mtime is not None and info.mtime.replace(tzinfo=info.mtime.tzinfo or UTC) >= older_than:
            continue  # may belong to a run that has not committed yet
        orphans.append(info.path)
    if not dry_run:
        for path in orphans:
            fs.delete_file(path)
    log.info("%s: %d orphan file(s)%s", ".".join(table.name()), len(orphans), " (dry run)" if dry_run else " removed")
    return orphans


def release_name(day: date) -> str:
    return f"{RELEASE_PREFIX}{day.isoformat()}"


def release(documents: Table, day: date | None = None, snapshot_id: int | None = None) -> tuple[str, int]:
    """Tag ``snapshot_id`` (default: the current documents snapshot) ``release-YYYY-MM-DD``."""
    snap = documents.snapshot_by_id(snapshot_id) if snapshot_id is not None else documents.current_snapshot()
    if snap is None:
        raise ValueError("no documents snapshot to release: run the pipeline first")
    name = release_name(day or datetime.now(UTC).date())
    tag_snapshot(documents, snap.snapshot_id, name)
    return name, snap.snapshot_id


def window(days: float) -> datetime:
    """The cutoff ``days`` before now (UTC)."""
    if days < 0:
        raise ValueError(f"retention window must be 0 days or more, got {days}")
    return datetime.now(UTC) - timedelta(days=days)


COMPACTED = "dataflow.compacted"  # summary flag of a compaction snapshot: same rows, fewer files
COMPACT_MIN_FILES = 16  # a table with fewer data files is left alone: one part per table per run is cheap


def compact(table: Table, min_files: int = COMPACT_MIN_FILES, dry_run: bool = False) -> tuple[int, int]:
    """Rewrite the current snapshot's data files into as few parts as ``files.PartWriter`` makes
    (100k rows each), streaming; returns (files before, files after).

    The new snapshot holds exactly the rows of the current one and carries its summary (run id,
    headline figures) plus ``dataflow.compacted``, so ``run:<id>`` of the last run and every older
    snapshot id still read what they read before. It replaces every file of the table, so it must
    not race a run's commit: the caller holds the data root's commit lock (``dataflow snapshots
    compact`` does), and the old files stay until ``expire`` and ``remove_orphans`` drop them.
    """
    from pyiceberg.expressions import AlwaysTrue

    from dataflow.snapshots.files import PartWriter, to_table
    from schemas import TABLES

    snap = table.current_snapshot()
    if snap is None:
        return 0, 0
    before = [t.file.file_path for t in table.scan(snapshot_id=snap.snapshot_id).plan_files()]
    if len(before) < min_files or dry_run:
        return len(before), len(before)
    schema = TABLES[table.name()[-1]]
    writer = PartWriter(schema, f"{table.location().rstrip('/')}/data/compacted-{snap.snapshot_id}", "part")
    for batch in table.scan(snapshot_id=snap.snapshot_id).to_arrow_batch_reader():
        writer.write(to_table(schema, pa.Table.from_batches([batch])))
    after = writer.close()
    own = snap.summary.additional_properties if snap.summary else {}
    props = {k: str(v) for k, v in own.items() if k.startswith("dataflow.")}  # not Iceberg's own counters
    props[COMPACTED] = str(snap.snapshot_id)
    with table.transaction() as tx:
        tx.delete(AlwaysTrue(), snapshot_properties=props)
        tx.add_files(after, snapshot_properties=props)
    log.info("%s: %d data files -> %d", ".".join(table.name()), len(before), len(after))
    return len(before), len(after)
