"""Open the Iceberg catalog and the corpus tables.

The embedded default is a SQLite catalog file next to a local warehouse directory under the
run's data root. Any SQLAlchemy URL works the same way (``postgresql+psycopg2://...`` for a
shared catalog): the code path is pyiceberg's ``SqlCatalog`` in both cases.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

from dataflow.config import SnapshotConfig
from schemas import CORPUS_SCHEMA_VERSION, TABLES


def catalog_locations(cfg: SnapshotConfig, data_root: str | Path) -> tuple[str, str]:
    """(catalog SQLAlchemy URL, warehouse URI), filling the data-root defaults."""
    root = Path(data_root).resolve()
    uri = cfg.catalog_uri or f"sqlite:///{root / 'catalog.db'}"
    warehouse = cfg.warehouse or (root / "warehouse").as_uri()
    return uri, warehouse


def open_catalog(cfg: SnapshotConfig, data_root: str | Path) -> SqlCatalog:
    uri, warehouse = catalog_locations(cfg, data_root)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if warehouse.startswith("file://"):
        Path(warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    return SqlCatalog(cfg.catalog_name, uri=uri, warehouse=warehouse)


def open_table(catalog: SqlCatalog, namespace: str, name: str, create: bool = True) -> Table:
    """Load ``namespace.name``; create it from ``schemas.TABLES[name]`` first when missing.

    A table created by an older schema version gets the columns added since (schemas/CHANGELOG.md:
    additions only, nullable), so older snapshots stay readable and new files commit.
    """
    identifier = f"{namespace}.{name}"
    if not create:
        return catalog.load_table(identifier)
    catalog.create_namespace_if_not_exists(namespace)
    table = catalog.create_table_if_not_exists(
        identifier,
        schema=TABLES[name],
        properties={"dataflow.schema_version": CORPUS_SCHEMA_VERSION, "format-version": "2"},
    )
    return evolve(table, TABLES[name])


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
