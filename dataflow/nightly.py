"""What makes a run a nightly job (issue 13): content-addressed inputs, dedup against everything
published, and a commit that never publishes a document twice when two runs overlap.

The run driver (``dataflow.run``) calls, in order:

1. ``content_hashes``: sha256 of every discovered file (the run id and the incremental selection
   are by content, never by mtime: ``touch`` or a re-copy changes nothing);
2. ``plan_nightly``: reads the catalog once: the runs already published, the content they read
   (those files are skipped, with an inputs row ``unchanged``) and, for ``dedup.scope = corpus``,
   the dedup index of their documents (``dedup.index.PublishedIndex``) the engine checks new
   documents against;
3. ``index_parts``: the run's own ``dedup_index`` rows, from the documents it is about to commit;
4. ``check_no_late_overlap``, under the data root's commit lock: if another run published
   meanwhile and one of its documents is a duplicate of one of ours, ``LateOverlap`` is raised
   before anything is committed; ``run_pipeline`` then runs the same run id again (completed
   shards are reused, so only dedup is redone) against the new base. Two runs committing at once
   therefore both commit, nothing lost and nothing published twice (Iceberg's optimistic commit
   handles the table-level race, ``snapshots.commit``; this handles the content-level one).
"""

from __future__ import annotations

import contextvars
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from pyiceberg.table import Table

from dataflow.config import PipelineConfig
from dataflow.dedup.index import PublishedIndex, banded_keys, index_batches, index_rows
from dataflow.dedup.verify import signature_rows
from dataflow.readers.discover import InputFile
from dataflow.readers.records import file_sha256
from dataflow.snapshots.files import write_parts
from dataflow.snapshots.incremental import (
    committed_runs,
    new_runs,
    published_content,
    published_index,
    select_inputs,
)

log = logging.getLogger(__name__)

LATE_OVERLAP_ATTEMPTS = 3  # reruns against a newer base before giving up (each only redoes dedup)


class LateOverlap(RuntimeError):
    """Another run published duplicates of this run's documents while it ran: rerun on the new base."""


def content_hashes(files: list[InputFile]) -> dict[str, str]:
    """uri -> sha256 of the file's bytes (a night's inputs cost one extra read)."""
    return {f.uri: file_sha256(f.path) for f in files}


@dataclass
class NightlyPlan:
    files: list[InputFile]  # what the engine reads: new or changed content
    unchanged: list[dict]  # inputs rows of the files skipped (status 'unchanged')
    runs: set[str] = field(default_factory=set)  # runs published when the plan was made
    index: PublishedIndex | None = None  # their dedup index (dedup.scope = corpus)


def plan_nightly(cfg: PipelineConfig, tables: dict[str, Table], files: list[InputFile], hashes: dict[str, str]):
    """Which files to read and which published documents to dedup against (module docstring, step 2)."""
    runs = committed_runs(tables["documents"])
    # snapshot.mode = overwrite replaces the documents with this run's: it must read everything and
    # dedup within itself (what it would dedup against is about to be deleted)
    rebuild = cfg.snapshot.mode == "overwrite"
    full = rebuild or not cfg.read.incremental
    selection = select_inputs(files, hashes, published_content(tables["inputs"], runs), full)
    if selection.unchanged:
        log.info(
            "%d of %d input file(s) unchanged since a published run: skipped", len(selection.unchanged), len(files)
        )
    index = None
    if cfg.dedup.scope == "corpus" and not rebuild:
        rows, snapshots = published_index(tables["dedup_index"], tables["documents"], runs)
        index = PublishedIndex.from_arrow(rows, snapshots, cfg.dedup.bands, cfg.dedup)  # checks the layout
        log.info("dedup against %d published document(s) of %d run(s)", len(index), len(runs))
    return NightlyPlan(selection.files, selection.unchanged, runs, index)


def index_parts(cfg: PipelineConfig, document_files: list[str], directory: str, run_id: str) -> list[str]:
    """Write the run's ``dedup_index`` rows (keys of the documents it commits) and return the parts."""
    return write_parts("dedup_index", directory, index_batches(document_files, cfg.dedup, run_id))


def check_no_late_overlap(cfg: PipelineConfig, tables: dict[str, Table], plan: NightlyPlan, index_files: list[str]):
    """Raise ``LateOverlap`` when a run published since ``plan`` holds a duplicate of one of ours.

    Call it holding the commit lock, so no run can publish between the check and the commit.
    """
    if plan.index is None:  # run scope, or an overwrite
        return
    late = new_runs(plan.runs, tables["documents"])
    if not late:
        return
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    rows, snapshots = published_index(tables["dedup_index"].refresh(), tables["documents"].refresh(), late)
    if not rows.num_rows:
        return
    theirs = PublishedIndex.from_arrow(rows, snapshots, cfg.dedup.bands, cfg.dedup)
    ours = pa.concat_tables(
        pq.read_table(path, columns=["id", "exact", "bands", "signature"], filesystem=fs, partitioning=None)
        for fs, path in (pafs.FileSystem.from_uri(u) for u in index_files)
    )
    ids, exact = (ours.column(c).to_pylist() for c in ("id", "exact"))
    bands = ours.column("bands").combine_chunks()
    lengths = pc.list_value_length(bands).fill_null(0).to_numpy(zero_copy_only=False)
    banded, matrix = banded_keys(bands, lengths, cfg.dedup.bands)
    sigs = None  # band links are verified as in the plan (dedup.verify)
    if cfg.dedup.verify > 0:
        signatures = ours.column("signature").to_pylist()
        sigs = signature_rows([signatures[i] for i in banded], cfg.dedup.num_perm)
    hits = theirs.match(ids, exact, banded, matrix, sigs, cfg.dedup.verify)
    if len(hits.batch):
        first = ids[int(hits.batch[0])]
        raise LateOverlap(
            f"run(s) {', '.join(sorted(late))} published {len(set(hits.batch.tolist()))} duplicate(s) of this run's "
            f"documents while it ran (e.g. {first}); rerunning on the new base"
        )


def drift_properties(tables: dict[str, Table], stats_rows: list[dict], run_id: str) -> dict[str, str]:
    """Snapshot summary properties: ``dataflow.drift`` (this run's alerts against the trailing published
    runs, a JSON list) and ``dataflow.drift_baseline_runs`` (how many runs the baseline had)."""
    from dataflow.reports.drift import alerts, alerts_json, profile, trailing_profiles

    trailing = trailing_profiles(tables["documents"], tables["stage_stats"], run_id)
    found = alerts(profile(stats_rows), trailing)
    for a in found:
        log.warning("drift: %s", a.message)
    return {"dataflow.drift": alerts_json(found), "dataflow.drift_baseline_runs": str(len(trailing))}


# -- operations around the nightly run: logs, comparison, retention ------------------------------------

CURRENT_RUN: contextvars.ContextVar[str] = contextvars.ContextVar("dataflow_run_id", default="")


class JsonLines(logging.Formatter):
    """One JSON object per log record, with the run id of the run in progress (``--log-json``)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "run_id": CURRENT_RUN.get(),
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def log_json() -> None:
    """Route the root logger's output through ``JsonLines`` (a scheduler's log collector parses it)."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLines())


def _tables(cfg: PipelineConfig) -> dict[str, Table]:
    from dataflow.snapshots.catalog import open_catalog, open_table
    from schemas import TABLES

    catalog = open_catalog(cfg.snapshot, cfg.data_root)
    return {name: open_table(catalog, cfg.snapshot.namespace, name) for name in TABLES}


def compare_runs(cfg: PipelineConfig, run_a: str, run_b: str) -> str:
    """``dataflow report --compare A B``: the drift metrics of two published runs side by side."""
    from dataflow.reports.drift import compare, render_compare, run_profiles

    tables = _tables(cfg)
    profiles = run_profiles(tables["stage_stats"], [run_a, run_b])
    for run in (run_a, run_b):
        if run not in profiles:
            raise LookupError(f"no stage_stats rows for run {run!r} (see `dataflow snapshots list`)")
    return render_compare(run_a, run_b, compare(profiles[run_a], profiles[run_b]))


EXPIRE_AFTER_DAYS = 30.0  # a month of nightly snapshots stays readable by id; releases (tags) forever


def maintain(
    cfg: PipelineConfig, action: str, days: float | None, dry_run: bool, day: str | None, ref: str | None
) -> list[str]:
    """``dataflow snapshots expire | remove-orphans | compact | reindex | release``: one line per table or tag."""
    from dataflow.snapshots import retention
    from dataflow.snapshots.read import resolve

    tables = _tables(cfg)
    if action == "expire":
        cutoff = retention.window(EXPIRE_AFTER_DAYS if days is None else days)
        done = retention.expire(tables, cutoff, dry_run)
        verb = "would expire" if dry_run else "expired"
        return [f"{e.table}: {verb} {len(e.expired)} snapshot(s) older than {cutoff:%Y-%m-%d %H:%M} UTC" for e in done]
    if action == "remove-orphans":
        cutoff = retention.window(retention.ORPHAN_GRACE.days if days is None else days)
        verb = "would remove" if dry_run else "removed"
        return [
            f"{name}: {verb} {len(retention.remove_orphans(t, cutoff, dry_run))} orphan file(s)"
            for name, t in tables.items()
        ]
    if action == "compact":
        from dataflow.locks import hold

        out = []
        with hold(Path(cfg.data_root).resolve() / "commit.lock", f"a commit to {cfg.data_root}", wait=600.0):
            for name, t in tables.items():  # no run commits meanwhile: a compaction replaces every file
                before, after = retention.compact(t, dry_run=dry_run)
                out.append(f"{name}: {before} data file(s) -> {after}{' (dry run)' if dry_run else ''}")
        return out
    if action == "reindex":
        return reindex(cfg, tables, dry_run)
    if action == "release":
        docs = tables["documents"]
        snap = resolve(docs, ref) if ref else None
        name, snap_id = retention.release(docs, date.fromisoformat(day) if day else None, snap)
        return [f"tagged documents snapshot {snap_id} as {name!r}"]
    raise ValueError(f"unknown snapshots action {action!r}")


REINDEXED = "dataflow.reindexed"  # dedup_index snapshot summary: the layout a reindex rebuilt it with


def reindex(cfg: PipelineConfig, tables: dict[str, Table], dry_run: bool = False) -> list[str]:
    """``dataflow snapshots reindex``: the dedup index rebuilt from the published documents with the
    config's dedup layout (``dedup.unit/ngram/bands/rows/seed``).

    A run refuses an index of another layout (its band keys would never match), and a nightly job's
    old inputs may be long gone, so ``--full`` is no way back. The index's keys are computed from the
    committed text anyway (``index_batches``), so keys recomputed from the current documents snapshot
    are exactly what runs under the new layout would have written. One ``dedup_index`` snapshot
    replaces every row (delete + add in one transaction) under the data root's commit lock, carrying
    the previous snapshot's summary (so ``run:<id>`` still resolves) plus ``dataflow.reindexed``; the
    old files stay until ``expire`` and ``remove-orphans``.
    """
    import pyarrow as pa
    from pyiceberg.expressions import AlwaysTrue

    from dataflow.locks import hold
    from dataflow.snapshots.files import PartWriter
    from schemas import TABLES

    index, documents = tables["dedup_index"], tables["documents"]
    docs_snap, before = documents.current_snapshot(), index.current_snapshot()
    if docs_snap is None:
        return ["dedup_index: no published documents; nothing to reindex"]
    layouts: dict[str, int] = {}
    if before is not None:
        for value in index.scan(selected_fields=("layout",)).to_arrow().column("layout").to_pylist():
            layouts[value or "unrecorded"] = layouts.get(value or "unrecorded", 0) + 1
    was = ", ".join(f"{n:,} row(s) of {layout}" for layout, n in sorted(layouts.items())) or "no rows"
    layout = cfg.dedup.layout
    if dry_run:
        return [f"dedup_index: would rebuild ({was}) from documents snapshot {docs_snap.snapshot_id} as {layout}"]
    with hold(Path(cfg.data_root).resolve() / "commit.lock", f"a commit to {cfg.data_root}", wait=600.0):
        index, documents = index.refresh(), documents.refresh()  # no run commits meanwhile
        docs_snap = documents.current_snapshot()
        directory = (
            f"{index.location().rstrip('/')}/data/reindex-{docs_snap.snapshot_id}-{cfg.dedup.bands}x{cfg.dedup.rows}"
        )
        writer, rows = PartWriter(TABLES["dedup_index"], directory, "part"), 0
        scan = documents.scan(snapshot_id=docs_snap.snapshot_id, selected_fields=("id", "text", "n_chars", "run_id"))
        for batch in scan.to_arrow_batch_reader():
            for start in range(0, batch.num_rows, 1000):  # keys 1,000 texts at a time, as index_batches
                part = pa.Table.from_batches([batch]).slice(start, 1000)
                cols = [part.column(c).to_pylist() for c in ("id", "text", "n_chars", "run_id")]
                writer.write(index_rows(*cols, cfg.dedup))
                rows += part.num_rows
                log.info("reindex: %d document(s) keyed", rows)
        files = writer.close()
        own = before.summary.additional_properties if before is not None and before.summary else {}
        props = {k: str(v) for k, v in own.items() if k.startswith("dataflow.")} | {REINDEXED: layout}
        with index.transaction() as tx:
            if before is not None:
                tx.delete(AlwaysTrue(), snapshot_properties=props)
            tx.add_files(files, snapshot_properties=props)
    return [f"dedup_index: {was} -> {rows:,} row(s) of {layout}, from documents snapshot {docs_snap.snapshot_id}"]
