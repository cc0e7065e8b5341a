"""Open the Iceberg catalog and the corpus tables, and refuse a catalog that would silently lose history.

The embedded default is a SQLite catalog file next to a local warehouse directory under the
run's data root. Any SQLAlchemy URL works the same way (``postgresql+psycopg2://...`` for a
shared catalog): the code path is pyiceberg's ``SqlCatalog`` in both cases.

The catalog is the only record of which metadata file is each table's current version; the
warehouse keeps every version's metadata file. So a catalog that is missing, empty (0 bytes),
truncated or not SQLite next to a warehouse that holds table metadata is an error naming both
paths (``CatalogError``), never a fresh start that hides earlier snapshots and tags.
``recover_catalog`` rebuilds the catalog from the newest metadata file of each table, when the
operator asks for it (``dataflow snapshots recover``). Read-only callers open with
``create=False``: nothing is created, not even the data root.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

from dataflow.config import SnapshotConfig
from schemas import CORPUS_SCHEMA_VERSION, TABLES

SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database file
_METADATA_RE = re.compile(r"^(\d+)-.*\.metadata\.json$")  # pyiceberg: <version>-<uuid>.metadata.json


class CatalogError(RuntimeError):
    """The catalog cannot be used as it is (missing, corrupt, or out of step with the warehouse)."""


def catalog_locations(cfg: SnapshotConfig, data_root: str | Path) -> tuple[str, str]:
    """(catalog SQLAlchemy URL, warehouse URI), filling the data-root defaults."""
    root = Path(data_root).resolve()
    uri = cfg.catalog_uri or f"sqlite:///{root / 'catalog.db'}"
    warehouse = cfg.warehouse or (root / "warehouse").as_uri()
    return uri, warehouse


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def _warehouse_path(warehouse: str) -> Path | None:
    return Path(unquote(urlparse(warehouse).path)) if warehouse.startswith("file://") else None


def warehouse_tables(warehouse: str) -> dict[tuple[str, str], Path]:
    """(namespace, table) -> newest metadata file, for every table a local warehouse holds metadata of.

    pyiceberg 0.12's SqlCatalog lays a table out as ``<warehouse>/<namespace>/<table>/metadata/``
    (older releases as ``<namespace>.db/...``)."""
    root = _warehouse_path(warehouse)
    found: dict[tuple[str, str], Path] = {}
    if root is None or not root.is_dir():
        return found
    for meta_dir in sorted(root.glob("*/*/metadata")):
        versions = [(int(m.group(1)), p) for p in meta_dir.iterdir() if (m := _METADATA_RE.match(p.name))]
        if versions:
            namespace, table = meta_dir.parent.parent.name.removesuffix(".db"), meta_dir.parent.name
            found[(namespace, table)] = max(versions)[1]
    return found


def _sqlite_problem(path: Path) -> str | None:
    """Why a SQLite catalog file cannot be trusted, or None when it is a healthy database."""
    with open(path, "rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if not header:
        return "is empty (0 bytes)"
    if header != SQLITE_HEADER:
        return "is not a SQLite database"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA quick_check").fetchone()
            if not result or result[0] != "ok":
                return f"is corrupt (SQLite quick_check: {result[0] if result else 'no answer'})"
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "iceberg_tables" not in names:
                return "holds no Iceberg catalog tables"
            count = con.execute("SELECT COUNT(*) FROM iceberg_tables").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        return f"is corrupt ({err})"
    return "lists no tables" if count == 0 else None


def _missing_metadata(db: Path) -> list[str]:
    """Local metadata files a healthy SQLite catalog points at that do not exist."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT metadata_location FROM iceberg_tables").fetchall()
    finally:
        con.close()
    local = [unquote(urlparse(r[0]).path) for r in rows if r[0] and str(r[0]).startswith(("file:", "/"))]
    return [p for p in local if not Path(p).is_file()]


def check_catalog(cfg: SnapshotConfig, data_root: str | Path) -> None:
    """Refuse a catalog that would hide or lose the warehouse's history; a new data root passes.

    Raises:
        CatalogError: a catalog file that is empty, truncated or not SQLite; or one that is missing
            or lists no tables while the warehouse holds table metadata. The message names both
            paths and the fix.
    """
    uri, warehouse = catalog_locations(cfg, data_root)
    db = _sqlite_path(uri)
    if db is None:
        return  # a server catalog (PostgreSQL, ...) guards its own integrity
    tables = warehouse_tables(warehouse)
    if db.exists() and not db.is_file():
        raise CatalogError(f"catalog {db} is not a file: point snapshot.catalog_uri or data_root elsewhere")
    problem = _sqlite_problem(db) if db.exists() else "is missing"
    if problem is None:
        gone = _missing_metadata(db)
        if gone:
            raise CatalogError(
                f"catalog {db} names {len(gone)} metadata file(s) missing from the warehouse (first: {gone[0]}): "
                "restore the warehouse directory from a backup (nothing was changed)"
            )
    if problem is None or (problem in ("is missing", "is empty (0 bytes)", "lists no tables") and not tables):
        return  # healthy, or a fresh data root with nothing to lose
    where = f"warehouse {_warehouse_path(warehouse)} holds {len(tables)} table(s)" if tables else "the warehouse"
    raise CatalogError(
        f"catalog {db} {problem} while {where}: restore catalog.db from a backup, or rebuild it from the "
        f"warehouse's metadata files with `dataflow snapshots recover` (nothing was changed)"
    )


def open_catalog(cfg: SnapshotConfig, data_root: str | Path, create: bool = True) -> SqlCatalog:
    """The catalog under ``data_root`` (or at ``cfg.catalog_uri``), checked first (``check_catalog``).

    ``create=False`` (read-only commands) creates nothing: a missing catalog is a ``CatalogError``.
    """
    root = Path(data_root)
    if root.exists() and not root.is_dir():
        raise CatalogError(f"data_root {root} is a file, not a directory: set data_root to a directory")
    check_catalog(cfg, data_root)
    uri, warehouse = catalog_locations(cfg, data_root)
    db, wh = _sqlite_path(uri), _warehouse_path(warehouse)
    if not create:
        if db is not None and not db.is_file():
            raise CatalogError(f"no catalog at {db}: run the pipeline with this data_root first")
        return SqlCatalog(cfg.catalog_name, uri=uri, warehouse=warehouse, init_catalog_tables="false")
    for directory in (db.parent if db else None, wh):
        if directory is not None:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise CatalogError(f"cannot create {directory}: {err.strerror}; check data_root") from None
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(CREATE_ATTEMPTS):
        try:
            return SqlCatalog(cfg.catalog_name, uri=uri, warehouse=warehouse)
        except (IntegrityError, OperationalError) as err:
            # two processes creating a fresh catalog at once: pyiceberg checks for its tables, then
            # creates them; the slower one gets "table ... already exists" and finds them next time
            if "already exists" not in str(err) or attempt == CREATE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def recover_catalog(cfg: SnapshotConfig, data_root: str | Path) -> dict[str, str]:
    """Rebuild a SQLite catalog from the warehouse: register each table's newest metadata file.

    The broken catalog file is kept beside the new one as ``catalog.db.broken-<n>``. A metadata
    file newer than the last commit can exist when a commit lost a race (it was written, then
    refused); the newest file is what the last successful or attempted commit wrote, so check
    ``dataflow snapshots list`` afterwards. Returns ``namespace.table -> metadata file``.
    """
    uri, warehouse = catalog_locations(cfg, data_root)
    db = _sqlite_path(uri)
    if db is None:
        raise CatalogError(f"recover rebuilds a SQLite catalog; {uri} is a server catalog: restore it there")
    tables = warehouse_tables(warehouse)
    if not tables:
        raise CatalogError(f"warehouse {_warehouse_path(warehouse)} holds no table metadata: nothing to recover")
    if db.exists():
        n = 1
        while db.with_name(f"{db.name}.broken-{n}").exists():
            n += 1
        db.rename(db.with_name(f"{db.name}.broken-{n}"))
    catalog = SqlCatalog(cfg.catalog_name, uri=uri, warehouse=warehouse)
    done = {}
    for (namespace, table), metadata in sorted(tables.items()):
        catalog.create_namespace_if_not_exists(namespace)
        catalog.register_table(f"{namespace}.{table}", metadata.as_uri())
        done[f"{namespace}.{table}"] = str(metadata)
    return done


def open_table(catalog: SqlCatalog, namespace: str, name: str, create: bool = True) -> Table:
    """Load ``namespace.name``; create it from ``schemas.TABLES[name]`` first when missing.

    A table created by an older schema version gets the columns added since (schemas/CHANGELOG.md:
    additions only, nullable), so older snapshots stay readable and new files commit.
    """
    identifier = f"{namespace}.{name}"
    if not create:
        return catalog.load_table(identifier)
    from pyiceberg.exceptions import NamespaceAlreadyExistsError, TableAlreadyExistsError
    from sqlalchemy.exc import IntegrityError

    for attempt in range(CREATE_ATTEMPTS):
        try:
            catalog.create_namespace_if_not_exists(namespace)
            table = catalog.create_table_if_not_exists(
                identifier,
                schema=TABLES[name],
                properties={"dataflow.schema_version": CORPUS_SCHEMA_VERSION, "format-version": "2"},
            )
            break
        except (IntegrityError, NamespaceAlreadyExistsError, TableAlreadyExistsError):
            # two processes opening a fresh catalog at once: the other one created it between our
            # "exists?" and "create"; the next attempt finds it
            if attempt == CREATE_ATTEMPTS - 1:
                raise
    return evolve(table, TABLES[name])


CREATE_ATTEMPTS = 3  # one race per namespace and per table at most; 3 covers both with room


def evolve(table: Table, schema: pa.Schema) -> Table:
    """Add the columns of ``schema`` that ``table`` lacks, and record the schema version."""
    have = {f.name for f in table.schema().fields}
    if all(f.name in have for f in schema):
        return table
    with table.transaction() as tx:
        with tx.update_schema() as update:
            update.union_by_name(schema)
        tx.set_properties({"dataflow.schema_version": schema.metadata[b"schema_version"].decode()})
    return table
