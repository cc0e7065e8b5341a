"""The run driver: discover inputs, run an engine, commit the snapshot, return the headline.

    cfg = load_config("configs/default.yaml")
    result = run_pipeline(cfg)
    print(result.run_id, result.commit.snapshot_ids["documents"], result.report.headline)

The driver is the same for every engine: engines only turn input files into Parquet files, a
ledger and manifest rows (``EngineResult``); reading, committing and reporting stay here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dataflow.config import PipelineConfig
from dataflow.engines.result import EngineJob, EngineResult
from dataflow.locks import hold
from dataflow.nightly import (
    CURRENT_RUN,
    LATE_OVERLAP_ATTEMPTS,
    LateOverlap,
    check_no_late_overlap,
    content_hashes,
    drift_properties,
    index_parts,
    plan_nightly,
)
from dataflow.preflight import check_run_config, check_tag
from dataflow.readers.discover import Discovery, InputFile, discover_inputs, path_accounting_errors
from dataflow.snapshots.catalog import open_catalog, open_table
from dataflow.snapshots.commit import RunCommit, commit_run, run_snapshot
from dataflow.snapshots.files import run_data_dir, write_parts
from dataflow.stages.quality_model import model_version
from schemas import CORPUS_SCHEMA_VERSION, TABLES
from schemas.corpus import INPUT_FAILED, INPUT_PARTIAL

log = logging.getLogger(__name__)

COMMIT_WAIT_SECONDS = 600.0  # another run's commit to the same data root takes seconds; wait rather than fail


class AccountingError(RuntimeError):
    """The ledger does not add up: a bug, never committed."""


@dataclass
class RunResult:
    run_id: str
    commit: RunCommit
    report: object  # dataflow.reports.model.Report of this run
    data_root: Path


def derive_run_id(cfg: PipelineConfig, files: list[InputFile], hashes: dict[str, str] | None = None) -> str:
    """A run id that is the same for the same config and the same input content (uri, size, sha256 of
    every file; never mtimes, so ``touch`` changes nothing): rerunning an unchanged job commits nothing new."""
    hashes = hashes if hashes is not None else content_hashes(files)
    h = hashlib.sha256(cfg.hash().encode())
    for f in files:
        h.update(f"{f.uri}\0{f.size}\0{hashes[f.uri]}\n".encode())
    return "run-" + h.hexdigest()[:16]


def code_version() -> str:
    """Package version plus the git commit of the checkout, when there is one."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("dataflow-ko")
    except PackageNotFoundError:
        v = "0+unknown"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        return f"{v}+g{sha}"
    except (OSError, subprocess.SubprocessError):
        return v


def _engine(name: str):
    if name == "local":
        from dataflow.engines.local import run_local

        return run_local
    if name == "spark":
        from dataflow.engines.spark import run_spark

        return run_spark
    if name == "beam":
        from dataflow.engines.beam import run_beam

        return run_beam
    raise ValueError(f"unknown engine {name!r}: choose local, spark or beam")


def run_pipeline(cfg: PipelineConfig) -> RunResult:
    """Run the pipeline described by ``cfg`` and commit its snapshot (once per run id).

    A config or usage error (``ConfigError``) is raised before any input is read; a second process
    running the same run id gets ``LockHeld`` naming the first (pid, host, start).
    """
    check_run_config(cfg)  # dedup.scope too (config.validate)
    for attempt in range(LATE_OVERLAP_ATTEMPTS):
        try:
            with ExitStack() as locks:
                return _run_pipeline(cfg, locks)
        except LateOverlap as err:  # nothing was committed: the same run id resumes on the new base
            if attempt == LATE_OVERLAP_ATTEMPTS - 1:
                raise
            log.warning("%s", err)
    raise AssertionError("unreachable")


def _run_pipeline(cfg: PipelineConfig, locks: ExitStack) -> RunResult:
    from dataflow.reports.model import build_report

    engine = _engine(cfg.engine.name)
    discovery = discover_inputs(cfg.read.inputs, cfg.read.follow_symlinks)
    files = discovery.files
    hashes = content_hashes(files)
    run_id = cfg.run_id or derive_run_id(cfg, files, hashes)
    CURRENT_RUN.set(run_id)  # --log-json lines carry it
    data_root = Path(cfg.data_root).resolve()
    catalog = open_catalog(cfg.snapshot, data_root)
    locks.enter_context(hold(data_root / "runs" / f"{run_id}.lock", f"run {run_id}"))
    tables = {name: open_table(catalog, cfg.snapshot.namespace, name) for name in TABLES}
    check_tag(tables["documents"], cfg.snapshot.tag, run_id)

    if run_snapshot(tables["documents"], run_id) is not None:
        log.info("run %s is already committed: nothing to do", run_id)
        with hold(data_root / "commit.lock", f"a commit to {data_root}", wait=COMMIT_WAIT_SECONDS):
            commit = commit_run(catalog, cfg.snapshot.namespace, run_id, {}, {}, cfg.snapshot.mode, cfg.snapshot.tag)
        return RunResult(run_id, commit, load_run_report(cfg, run_id), data_root)

    nightly = plan_nightly(cfg, tables, files, hashes)  # new content only; the published dedup index
    table_dirs = {name: run_data_dir(t.location(), run_id) for name, t in tables.items()}
    job = EngineJob(cfg, nightly.files, run_id, data_root / "runs" / run_id, table_dirs, published=nightly.index)
    result: EngineResult = engine(job)
    result.manifests += nightly.unchanged  # skipped files are accounted for too

    stats_rows = result.ledger.to_rows(run_id)
    # every path discovered has a row: the files the engine read, then the paths refused before reading
    manifests = [dict(m, run_id=run_id) for m in result.manifests + [r.manifest() for r in discovery.refused]]
    run_meta = dict(run_id=run_id, engine=cfg.engine.name, config_hash=cfg.hash(), input_files=len(files))
    report = build_report(stats_rows, [], run_meta)
    accounting_errors = report.accounting_errors + path_accounting_errors(discovery, result.manifests)
    if accounting_errors:
        raise AccountingError("; ".join(accounting_errors))
    files_out = dict(result.files)
    files_out["stage_stats"] = write_parts("stage_stats", table_dirs["stage_stats"], [stats_rows])
    files_out["inputs"] = write_parts("inputs", table_dirs["inputs"], [manifests])
    files_out["dedup_index"] = index_parts(cfg, result.files["documents"], table_dirs["dedup_index"], run_id)
    manifest_hash = hashlib.sha256(
        json.dumps(sorted((m["uri"], m["content_hash"]) for m in manifests)).encode()
    ).hexdigest()
    h = report.headline
    properties = {
        "dataflow.config_hash": cfg.hash(),
        "dataflow.code_version": code_version(),
        "dataflow.schema_version": CORPUS_SCHEMA_VERSION,
        "dataflow.engine": cfg.engine.name,
        # the quality model's version (quality-<sha256[:12]>) when quality_model.enabled, else ""
        "dataflow.quality_model": model_version(cfg.quality_model.model_path) if cfg.quality_model.enabled else "",
        "dataflow.input_files": str(len(manifests)),
        "dataflow.files": files_line(discovery, result.manifests),
        "dataflow.inputs_sha256": manifest_hash,
        "dataflow.inputs_unchanged": str(len(nightly.unchanged)),
        **drift_properties(tables, stats_rows, run_id),
        "dataflow.docs_in": str(h.docs_in),
        "dataflow.docs_out": str(h.docs_out),
        "dataflow.samples_removed": _fraction(h.samples_removed),
        "dataflow.volume_removed": _fraction(h.volume_removed),
        "dataflow.language_mix_chars": json.dumps(
            dict(
                zip(report.language_mix.languages, (round(x, 4) for x in report.language_mix.chars_share), strict=True)
            )
        ),
    }
    with hold(data_root / "commit.lock", f"a commit to {data_root}", wait=COMMIT_WAIT_SECONDS):
        check_no_late_overlap(cfg, tables, nightly, files_out["dedup_index"])  # LateOverlap: rerun on the new base
        commit = commit_run(
            catalog, cfg.snapshot.namespace, run_id, files_out, properties, cfg.snapshot.mode, cfg.snapshot.tag
        )
    return RunResult(run_id, commit, load_run_report(cfg, run_id), data_root)


def files_line(discovery: Discovery, manifests: list[dict] = ()) -> str:
    """Path accounting for the report: '12 discovered = 9 read (1 failed) + 3 refused (2 outside_inputs, 1 hidden)'.

    ``manifests``: the read files' rows; a file whose reader failed (or stopped part-way) was read, and is
    named so, beside the records it did give (the documents' accounting covers only those).
    """
    from collections import Counter

    refused = Counter(r.status for r in discovery.refused)
    detail = f" ({', '.join(f'{n} {s}' for s, n in sorted(refused.items()))})" if refused else ""
    broken = Counter(m["status"] for m in manifests if m.get("status") in (INPUT_FAILED, INPUT_PARTIAL))
    read_detail = f" ({', '.join(f'{n} {s}' for s, n in sorted(broken.items()))})" if broken else ""
    return (
        f"{discovery.discovered} discovered = {len(discovery.files)} read{read_detail}"
        f" + {len(discovery.refused)} refused{detail}"
    )


def _fraction(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def load_run_report(cfg: PipelineConfig, run_id: str | None = None, examples_per_reason: int = 3):
    """Build the report of a committed run from its stats and rejects tables (not from logs).

    ``run_id`` None = the run of the current documents snapshot.
    """
    from dataflow.reports.model import build_report
    from dataflow.snapshots.read import read_snapshot

    root = Path(cfg.data_root)
    docs = read_snapshot(f"run:{run_id}" if run_id else None, data_root=root, config=cfg.snapshot)
    run_id = docs.run_id
    where = f"run_id == '{run_id}'"
    stats = read_snapshot(f"run:{run_id}", table="stage_stats", data_root=root, config=cfg.snapshot)
    rejects = read_snapshot(f"run:{run_id}", table="rejects", data_root=root, config=cfg.snapshot)
    stats_rows = stats.to_arrow(row_filter=where).to_pylist()
    examples: dict[tuple[str, str], list[dict]] = {}
    scored: list[tuple[str, str, float]] = []  # (language, outcome, quality score) for the score section
    for batch in rejects.batches(row_filter=where):
        for row in batch.to_pylist():
            if row.get("quality_score") is not None:
                scored.append((row["language"], row["outcome"], row["quality_score"]))
            bucket = examples.setdefault((row["stage"], row["reason"]), [])
            if len(bucket) < examples_per_reason:
                bucket.append(row)
    run_meta = {k.removeprefix("dataflow."): v for k, v in docs.summary.items() if k.startswith("dataflow.")}
    snap = docs.table.snapshot_by_id(docs.snapshot_id)
    committed = datetime.fromtimestamp(snap.timestamp_ms / 1000, UTC).isoformat(timespec="seconds")
    run_meta.update(run_id=run_id, snapshot_id=docs.snapshot_id, committed_at=committed, tag=",".join(docs.tags))
    report = build_report(stats_rows, [r for rows in examples.values() for r in rows], run_meta)
    return _with_kept_documents(report, docs, where, scored if run_meta.get("quality_model") else None)


def _with_kept_documents(report, docs, where: str, scored: list[tuple[str, str, float]] | None):
    """The report with its kept web pages counted by detected page type (documents.page_type) and, when
    ``scored`` (the rejected documents' scores; None unless a quality model ran), the kept documents'
    scores beside them: one read of the documents for both."""
    from dataclasses import replace

    from dataflow.reports.page_types import page_type_rows
    from dataflow.reports.quality_scores import score_rows

    quality_model = scored is not None
    columns = ["page_type", "n_chars", *(["language", "quality_score"] if quality_model else [])]
    kept: list[tuple[str | None, int]] = []
    for batch in docs.batches(columns=columns, row_filter=where):
        for r in batch.to_pylist():
            kept.append((r["page_type"], r["n_chars"]))
            if quality_model:
                scored.append((r["language"], "kept", r["quality_score"]))
    report = replace(report, page_types=page_type_rows(kept))
    return replace(report, quality_scores=score_rows(scored)) if quality_model else report
