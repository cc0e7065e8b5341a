"""Parquet files of a run, written with the exact table schema where the table keeps its data."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from schemas import TABLES


def run_data_dir(table_location: str, run_id: str) -> str:
    """Where a run's files for one table go: inside the table's own location, so the warehouse is
    self-contained and a rerun of the same run id overwrites its own (uncommitted) files."""
    return f"{table_location.rstrip('/')}/data/run_id={run_id}"


def to_table(schema: pa.Schema, rows: list[dict] | pa.Table) -> pa.Table:
    """Rows (dicts) or an Arrow table cast to ``schema``."""
    if isinstance(rows, pa.Table):
        return rows.select(schema.names).cast(schema)
    return pa.Table.from_pylist(rows, schema=schema)


BUFFER_ROWS = 1000  # rows ``PartWriter.append`` holds before writing a batch: a few MB of text, flat memory


class PartWriter:
    """Streams record batches of one table into numbered Parquet parts under ``directory``.

    ``write`` takes a batch; ``append`` takes one row and writes every ``BUFFER_ROWS`` rows. A part is
    closed every ``rows_per_file`` rows so files stay a sensible size and memory flat.
    """

    def __init__(self, schema: pa.Schema, directory: str, prefix: str = "part", rows_per_file: int = 100_000) -> None:
        self.schema = schema
        self.fs, self.dir = pafs.FileSystem.from_uri(directory)
        self.fs.create_dir(self.dir, recursive=True)
        self.uri_root = directory.rstrip("/")
        self.prefix, self.rows_per_file = prefix, rows_per_file
        self.paths: list[str] = []
        self._writer: pq.ParquetWriter | None = None
        self._rows = 0
        self._buffer: list[dict] = []

    def append(self, row: dict) -> None:
        """Buffer one row; the buffer is written as a batch every ``BUFFER_ROWS`` rows and at ``close``."""
        self._buffer.append(row)
        if len(self._buffer) >= BUFFER_ROWS:
            rows, self._buffer = self._buffer, []  # emptied first: a part rolled over inside write() closes
            self.write(rows)  # and flushes the buffer, which must not hold these rows again

    def write(self, rows: list[dict] | pa.Table) -> None:
        table = to_table(self.schema, rows)
        if table.num_rows == 0:
            return
        if self._writer is None:
            file_name = f"{self.prefix}-{len(self.paths):05d}.parquet"
            self.paths.append(f"{self.uri_root}/{file_name}")
            self._writer = pq.ParquetWriter(f"{self.dir}/{file_name}", self.schema, filesystem=self.fs)
        self._writer.write_table(table)
        self._rows += table.num_rows
        if self._rows >= self.rows_per_file:
            self.close()

    def close(self) -> list[str]:
        """Finish the open part; a table with no rows still gets one empty part, so every run
        commits one snapshot per table and reruns can recognise it."""
        if self._buffer:
            rows, self._buffer = self._buffer, []
            self.write(rows)
        if not self.paths:
            self.write_empty()
        if self._writer is not None:
            self._writer.close()
            self._writer, self._rows = None, 0
        return self.paths

    def write_empty(self) -> None:
        file_name = f"{self.prefix}-{len(self.paths):05d}.parquet"
        self.paths.append(f"{self.uri_root}/{file_name}")
        pq.write_table(self.schema.empty_table(), f"{self.dir}/{file_name}", filesystem=self.fs)


def write_parts(name: str, directory: str, batches: Iterable[list[dict] | pa.Table], prefix: str = "part") -> list[str]:
    writer = PartWriter(TABLES[name], directory, prefix)
    for batch in batches:
        writer.write(batch)
    return writer.close()


def list_parts(directory: str, prefix: str = "", recursive: bool = False) -> list[str]:
    """Sorted URIs of the Parquet parts under ``directory`` whose names start with ``prefix``.

    URIs are built from the directory URI, not ``Path.as_uri()``: that percent-encodes the "=" of
    ``run_id=...``, which pyiceberg does not decode. Hidden and marker files (``_SUCCESS``, ``.crc``)
    that engines leave beside their parts are skipped; a missing directory has no parts.
    """
    fs, root = pafs.FileSystem.from_uri(directory)
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=recursive, allow_not_found=True))
    names = sorted(
        i.path[len(root) :].lstrip("/")
        for i in infos
        if i.is_file
        and i.base_name.endswith(".parquet")
        and i.base_name.startswith(prefix)
        and not i.base_name.startswith(("_", "."))
    )
    return [f"{directory.rstrip('/')}/{name}" for name in names]
