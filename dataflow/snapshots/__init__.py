"""Versioned corpus snapshots as Apache Iceberg tables (pyiceberg): commit, read, list, tag.

Public API: ``read_snapshot`` (training reads by tag or id), ``list_snapshots``,
``commit_tables`` (write Arrow tables and commit them as one run, for small jobs and fixtures),
``commit_run`` (register Parquet files written by an engine), ``tag_snapshot``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from dataflow.config import SnapshotConfig
from dataflow.snapshots.catalog import open_catalog, open_table
from dataflow.snapshots.commit import RunCommit, commit_run, tag_snapshot
from dataflow.snapshots.files import run_data_dir, write_parts
from dataflow.snapshots.read import Snapshot, SnapshotNotFound, list_snapshots, read_snapshot
from schemas import TABLES


def commit_tables(
    tables: dict[str, list[dict] | pa.Table],
    run_id: str,
    *,
    data_root: str | Path = "data",
    config: SnapshotConfig | None = None,
    properties: dict[str, str] | None = None,
) -> RunCommit:
    """Write in-memory rows (table name -> rows or Arrow table) and commit them as run ``run_id``.

    Tables left out get an empty part, so each of the four tables records the run.
    """
    cfg = config or SnapshotConfig()
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown table(s) {sorted(unknown)}; corpus tables are {sorted(TABLES)}")
    catalog = open_catalog(cfg, data_root)
    files = {}
    for name in TABLES:
        directory = run_data_dir(open_table(catalog, cfg.namespace, name).location(), run_id)
        files[name] = write_parts(name, directory, [tables.get(name, [])])
    return commit_run(catalog, cfg.namespace, run_id, files, properties or {}, cfg.mode, cfg.tag)


def tag(
    ref: str | int | None,
    name: str,
    *,
    data_root: str | Path = "data",
    config: SnapshotConfig | None = None,
    force: bool = False,
) -> int:
    """Tag the documents snapshot ``ref`` (tag, id, ``run:<id>``, None = current) as ``name``."""
    snap = read_snapshot(ref, data_root=data_root, config=config)
    tag_snapshot(snap.table, snap.snapshot_id, name, force=force)
    return snap.snapshot_id


__all__ = [
    "RunCommit",
    "Snapshot",
    "SnapshotNotFound",
    "commit_run",
    "commit_tables",
    "list_snapshots",
    "open_catalog",
    "open_table",
    "read_snapshot",
    "tag",
    "tag_snapshot",
]
