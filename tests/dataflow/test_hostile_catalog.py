"""A catalog that is empty, truncated, garbage or missing next to a warehouse with tables is refused with
both paths named, the warehouse untouched; read-only callers create nothing; recover rebuilds it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dataflow.config import SnapshotConfig
from dataflow.snapshots import commit_tables, read_snapshot
from dataflow.snapshots.catalog import CatalogError, open_catalog, recover_catalog
from dataflow.snapshots.read import list_snapshots
from schemas import TABLES


def _tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    commit_tables({}, "run-a", data_root=root, config=SnapshotConfig(tag="release-1"))
    commit_tables({}, "run-b", data_root=root)
    return root


def _damage(db: Path, how: str) -> None:
    data = db.read_bytes()
    if how == "empty":
        db.write_bytes(b"")
    elif how == "truncated":
        db.write_bytes(data[: len(data) // 3])
    elif how == "garbage":
        db.write_bytes(b"not a database\n" * 100)
    elif how == "missing":
        db.unlink()


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage", "missing"])
def test_a_broken_catalog_next_to_a_warehouse_is_refused(committed: Path, how: str):
    db, warehouse = committed / "catalog.db", committed / "warehouse"
    before = _tree_hash(warehouse)
    _damage(db, how)
    for open_ in (lambda: open_catalog(SnapshotConfig(), committed), lambda: read_snapshot(data_root=committed)):
        with pytest.raises(CatalogError) as err:
            open_()
        message = str(err.value)
        assert str(db) in message and str(warehouse) in message and "snapshots recover" in message
        assert "\n" not in message
    assert _tree_hash(warehouse) == before  # nothing written
    assert db.exists() == (how != "missing")  # not replaced by a fresh catalog either


def test_recover_rebuilds_history_and_tags(committed: Path):
    ids_before = [s["snapshot_id"] for s in list_snapshots(data_root=committed)]
    _damage(committed / "catalog.db", "empty")
    tables = recover_catalog(SnapshotConfig(), committed)
    assert set(tables) == {f"corpus.{t}" for t in TABLES}
    assert [s["snapshot_id"] for s in list_snapshots(data_root=committed)] == ids_before
    assert read_snapshot("release-1", data_root=committed).run_id == "run-a"
    assert (committed / "catalog.db.broken-1").exists()  # the damaged file is kept


def test_read_only_commands_create_nothing(tmp_path: Path):
    root = tmp_path / "nowhere"
    with pytest.raises(CatalogError, match="no catalog"):
        read_snapshot(data_root=root)
    with pytest.raises(CatalogError):
        list_snapshots(data_root=root)
    assert not root.exists()


def test_a_data_root_that_is_a_file_is_refused(tmp_path: Path):
    root = tmp_path / "file"
    root.write_text("x")
    with pytest.raises(CatalogError, match="is a file, not a directory"):
        open_catalog(SnapshotConfig(), root)
    assert root.read_text() == "x"


def test_a_fresh_data_root_and_an_empty_catalog_without_tables_are_fine(tmp_path: Path):
    root = tmp_path / "new"
    open_catalog(SnapshotConfig(), root)  # creates it
    (tmp_path / "zero").mkdir()
    (tmp_path / "zero" / "catalog.db").write_bytes(b"")
    open_catalog(SnapshotConfig(), tmp_path / "zero")  # nothing to lose: a new catalog


def test_a_deleted_warehouse_is_named(committed: Path):
    import shutil

    shutil.rmtree(committed / "warehouse")
    with pytest.raises(CatalogError, match="missing from the warehouse"):
        read_snapshot(data_root=committed)
