"""Read a committed snapshot: the public entry point training and notebooks use.

>>> from dataflow.snapshots import read_snapshot
>>> snap = read_snapshot("release-2026-11", data_root="data")        # by tag
>>> snap = read_snapshot(4771960195716402314, data_root="data")      # by snapshot id
>>> snap.summary["dataflow.run_id"], snap.to_arrow(columns=["id", "text"]).num_rows
>>> for batch in snap.batches(columns=["text"]): ...                  # streaming, flat memory

A snapshot is immutable: newer commits never change what an older snapshot id or tag returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from dataflow.config import SnapshotConfig
from dataflow.snapshots.catalog import open_catalog, open_table
from dataflow.snapshots.commit import RUN_ID, run_snapshot


class SnapshotNotFound(LookupError):
    """No snapshot matches the given tag, id or run."""


@dataclass
class Snapshot:
    """One immutable version of a corpus table."""

    table: Table
    snapshot_id: int
    summary: dict[str, str]
    tags: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str | None:
        return self.summary.get(RUN_ID)

    def _scan(self, columns: list[str] | None, row_filter: str | None):
        kwargs = {"snapshot_id": self.snapshot_id}
        if columns:
            kwargs["selected_fields"] = tuple(columns)
        if row_filter:
            kwargs["row_filter"] = row_filter
        return self.table.scan(**kwargs)

    def to_arrow(self, columns: list[str] | None = None, row_filter: str | None = None) -> pa.Table:
        """All rows (or the selected columns / a filter such as ``"language == 'ko'"``) as one table."""
        return self._scan(columns, row_filter).to_arrow()

    def batches(self, columns: list[str] | None = None, row_filter: str | None = None) -> Iterator[pa.RecordBatch]:
        """Stream the rows as record batches, file by file, in a stable order."""
        yield from self._scan(columns, row_filter).to_arrow_batch_reader()

    def files(self) -> list[str]:
        """URIs of the Parquet files holding this snapshot's rows (for Spark, DuckDB, ...)."""
        return sorted(task.file.file_path for task in self._scan(None, None).plan_files())


def _existing_table(cfg: SnapshotConfig, data_root: str | Path, table: str) -> Table:
    try:
        return open_table(open_catalog(cfg, data_root, create=False), cfg.namespace, table, create=False)
    except NoSuchTableError:
        raise SnapshotNotFound(
            f"no table {cfg.namespace}.{table} in the catalog under {data_root}: run the pipeline there first"
        ) from None


def _name(table: Table) -> str:
    return ".".join(table.name())


def resolve(table: Table, ref: str | int | None) -> int:
    """Snapshot id for ``ref``: None = current; an int or digits = snapshot id; ``run:<id>`` = the
    snapshot a run committed; any other string = a tag or branch name."""
    if ref is None:
        snap = table.current_snapshot()
        if snap is None:
            raise SnapshotNotFound(f"table {_name(table)} has no snapshot yet: run the pipeline first")
        return snap.snapshot_id
    if isinstance(ref, int) or str(ref).isdigit():
        snap_id = int(ref)
        if table.snapshot_by_id(snap_id) is None:
            raise SnapshotNotFound(f"no snapshot {snap_id} in {_name(table)}")
        return snap_id
    if str(ref).startswith("run:"):
        snap_id = run_snapshot(table, str(ref)[4:])
        if snap_id is None:
            raise SnapshotNotFound(f"no run {str(ref)[4:]!r} committed to {_name(table)}")
        return snap_id
    snap = table.snapshot_by_name(str(ref))
    if snap is None:
        known = ", ".join(sorted(table.metadata.refs)) or "none"
        raise SnapshotNotFound(f"no tag or branch {ref!r} in {_name(table)} (known: {known})")
    return snap.snapshot_id


def read_snapshot(
    ref: str | int | None = None,
    *,
    table: str = "documents",
    data_root: str | Path = "data",
    config: SnapshotConfig | None = None,
) -> Snapshot:
    """Open one snapshot of a corpus table by tag, snapshot id, ``run:<run id>`` or None (current).

    Args:
        ref: tag name, snapshot id, ``"run:<run id>"``, or None for the table's current snapshot.
        table: ``documents`` (default), ``rejects``, ``stage_stats`` or ``inputs``.
        data_root: where the default SQLite catalog and warehouse live (the pipeline's ``data_root``).
        config: catalog settings (URL, warehouse, namespace) when not the embedded default.
    """
    cfg = config or SnapshotConfig()
    tbl = _existing_table(cfg, data_root, table)
    snap_id = resolve(tbl, ref)
    snap = tbl.snapshot_by_id(snap_id)
    tags = sorted(name for name, r in tbl.metadata.refs.items() if r.snapshot_id == snap_id and name != "main")
    summary = dict(snap.summary.additional_properties) if snap.summary else {}
    if snap.summary:
        summary["operation"] = str(snap.summary.operation.value)
    return Snapshot(tbl, snap_id, summary, tags)


def list_snapshots(table: str = "documents", *, data_root: str | Path = "data", config: SnapshotConfig | None = None):
    """Every snapshot of a table, oldest first, as dicts (id, timestamp, run id, tags, summary)."""
    cfg = config or SnapshotConfig()
    tbl = _existing_table(cfg, data_root, table)
    tags: dict[int, list[str]] = {}
    for name, r in tbl.metadata.refs.items():
        if name != "main":
            tags.setdefault(r.snapshot_id, []).append(name)
    out = []
    for snap in tbl.metadata.snapshots:
        props = dict(snap.summary.additional_properties) if snap.summary else {}
        out.append(
            dict(
                snapshot_id=snap.snapshot_id,
                timestamp_ms=snap.timestamp_ms,
                run_id=props.get(RUN_ID),
                tags=sorted(tags.get(snap.snapshot_id, [])),
                summary=props,
            )
        )
    return out
