"""The instruct tables in the shared Iceberg catalog: open (create, evolve), write parts, commit once.

Same mechanics as the corpus (dataflow/snapshots): Parquet parts written with the exact schema
inside each table's location under ``data/run_id=<run>``, then registered with one snapshot per
table carrying ``dataflow.run_id``; a table that already holds the run's snapshot is skipped, so a
rerun never duplicates rows and a run killed between commits is completed by rerunning it.
Order: examples, verdicts, kto, then sft LAST: the sft snapshot is the commit point that makes a
run visible (``run_committed``). ``sft`` and ``kto`` follow ``snapshot.mode`` (default overwrite:
each run's selection is a whole dataset version); ``examples``, ``verdicts`` and ``reviews`` append.
"""

from __future__ import annotations

from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

from dataflow.config import SNAPSHOT_MODES
from dataflow.snapshots.catalog import evolve
from dataflow.snapshots.commit import RUN_ID, _commit_one, run_snapshot, tag_snapshot
from dataflow.snapshots.files import PartWriter, run_data_dir
from schemas.instruct import INSTRUCT_SCHEMA_VERSION, TABLES

COMMIT_ORDER = ("examples", "verdicts", "kto", "sft")  # sft last: the commit point
DATASETS = ("sft", "kto")  # the tables training reads; they take snapshot.mode and snapshot.tag


def open_instruct_table(catalog: SqlCatalog, namespace: str, name: str, create: bool = True) -> Table:
    identifier = f"{namespace}.{name}"
    if not create:
        return catalog.load_table(identifier)
    catalog.create_namespace_if_not_exists(namespace)
    table = catalog.create_table_if_not_exists(
        identifier,
        schema=TABLES[name],
        properties={"dataflow.schema_version": INSTRUCT_SCHEMA_VERSION, "format-version": "2"},
    )
    return evolve(table, TABLES[name])


def writer(catalog: SqlCatalog, namespace: str, name: str, run_id: str) -> PartWriter:
    table = open_instruct_table(catalog, namespace, name)
    return PartWriter(TABLES[name], run_data_dir(table.location(), run_id))


def run_committed(catalog: SqlCatalog, namespace: str, run_id: str) -> bool:
    return run_snapshot(open_instruct_table(catalog, namespace, "sft"), run_id) is not None


def commit_instruct(
    catalog: SqlCatalog,
    namespace: str,
    run_id: str,
    files: dict[str, list[str]],
    properties: dict[str, str],
    mode: str = "overwrite",
    tag: str = "",
    order: tuple[str, ...] = COMMIT_ORDER,
) -> dict[str, int]:
    """Commit each table of ``order`` once for ``run_id``; returns table -> snapshot id."""
    if mode not in SNAPSHOT_MODES:
        raise ValueError(f"snapshot.mode must be 'append' or 'overwrite', not {mode!r}")
    props = {k: str(v) for k, v in properties.items()} | {RUN_ID: run_id}
    ids = {}
    for name in order:
        table = open_instruct_table(catalog, namespace, name)
        existing = run_snapshot(table, run_id)
        overwrite = mode == "overwrite" and name in DATASETS
        ids[name] = existing if existing is not None else _commit_one(table, files.get(name, []), props, overwrite)
    if tag:
        for name in DATASETS:
            if name in ids:
                tag_snapshot(open_instruct_table(catalog, namespace, name), ids[name], tag)
    return ids
