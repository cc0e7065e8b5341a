"""The same inputs and config on the local, Spark and Beam engines give the same snapshot: kept ids
(with cluster and text), reject reasons per id, stage counters and input manifests. And a Spark
partition (a local task) whose stage or reader raises fails that document or file, not the job."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

from dataflow.config import load_config
from dataflow.document import Meta
from dataflow.pipeline import ShardRunner

pytestmark = pytest.mark.slow  # starts Spark (~15 s) and Beam's multi-process runner

DEMO = Path(__file__).resolve().parents[2] / "samples" / "demo"
FAIL_DOC = "ko_blog_laundry.html"  # the normalize stage raises on this document
FAIL_READ = "en_blog_composting.html"  # the reader raises on this file before its first record


def _config(engine: str, root: Path, lid_model_path: Path):
    overrides = {
        "read.inputs": [str(DEMO)],
        "langid.model_path": str(lid_model_path),
        "data_root": str(root),
        "engine.name": engine,
        "engine.workers": 2,
    }
    return load_config(None, overrides)


def _snapshot(cfg, run_id: str) -> dict:
    from dataflow.snapshots.read import read_snapshot

    def rows(table: str) -> list[dict]:
        snap = read_snapshot(f"run:{run_id}", table=table, data_root=Path(cfg.data_root), config=cfg.snapshot)
        return snap.to_arrow().to_pylist()

    def without_run_id(row: dict) -> tuple:
        return tuple(sorted((k, v) for k, v in row.items() if k != "run_id"))

    return {
        "kept": sorted((r["id"], r["dedup_cluster"], r["text"]) for r in rows("documents")),
        "rejects": sorted((r["id"], r["stage"], r["outcome"], r["reason"], r["duplicate_of"]) for r in rows("rejects")),
        "stats": sorted(without_run_id(r) for r in rows("stage_stats")),
        "inputs": sorted(without_run_id(r) for r in rows("inputs")),
    }


def _run(engine: str, root: Path, lid_model_path: Path) -> tuple[str, dict]:
    from dataflow.run import run_pipeline

    cfg = _config(engine, root, lid_model_path)
    result = run_pipeline(cfg)
    return result.run_id, _snapshot(cfg, result.run_id)


def test_local_spark_and_beam_commit_the_same_snapshot(tmp_path, lid_model_path):
    if not DEMO.is_dir():
        pytest.skip("samples/demo is missing")
    runs = {engine: _run(engine, tmp_path / engine, lid_model_path) for engine in ("local", "spark", "beam")}
    run_id, local = runs["local"]
    reasons = {r[3] for r in local["rejects"]}
    # the demo holds copies and near copies, junk and other languages: every kind of decision is compared
    assert {"exact_duplicate", "near_duplicate"} & reasons and len(reasons) >= 3
    assert len(local["kept"]) > 10 and any(cluster for _, cluster, _ in local["kept"])
    for engine in ("spark", "beam"):
        other_id, other = runs[engine]
        assert other_id == run_id  # same config and inputs: same run id
        for part in ("kept", "rejects", "stats", "inputs"):
            assert other[part] == local[part], f"{engine} differs from local in {part}"


class FaultyRunner(ShardRunner):
    """A runner whose normalize stage raises on one document and whose reader raises on one file."""

    def __post_init__(self) -> None:
        super().__post_init__()
        stage = next(s for s in self.stages if s.name == "normalize")
        original = stage.apply

        def apply(doc):
            if doc.metadata.get(Meta.SOURCE_URI, "").endswith(FAIL_DOC):
                raise RuntimeError("injected stage failure")
            return original(doc)

        stage.apply = apply

    def open_reader(self, f):
        if f.uri.endswith(FAIL_READ):
            return _raising_reader()
        return super().open_reader(f)


def _raising_reader():
    raise OSError("injected reader failure")
    yield  # a generator, like a reader: it raises when iterated


@pytest.mark.parametrize("engine", ["local", "spark"])
def test_engine_fails_the_document_or_file_not_the_job(engine, tmp_path, lid_model_path, monkeypatch):
    if not DEMO.is_dir():
        pytest.skip("samples/demo is missing")
    from pyspark import cloudpickle

    import dataflow.run

    run_engine = dataflow.run._engine(engine)
    # Spark workers are other processes: ship FaultyRunner's code with the task, not a reference to it
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    monkeypatch.setattr(dataflow.run, "_engine", lambda name: functools.partial(run_engine, make_runner=FaultyRunner))
    try:
        run_id, snap = _run(engine, tmp_path, lid_model_path)
    finally:
        cloudpickle.unregister_pickle_by_value(module)

    cfg = _config(engine, tmp_path, lid_model_path)
    from dataflow.snapshots.read import read_snapshot

    rejects = read_snapshot(f"run:{run_id}", table="rejects", data_root=tmp_path, config=cfg.snapshot).to_arrow()
    failed = [r for r in rejects.to_pylist() if r["source_uri"].endswith(FAIL_DOC)]
    assert [(r["stage"], r["outcome"], r["reason"]) for r in failed] == [("normalize", "failed", "failed")]
    assert failed[0]["error"] == "RuntimeError: injected stage failure"

    inputs = {Path(row["uri"]).name: row for row in (dict(r) for r in snap["inputs"])}
    assert inputs[FAIL_READ]["status"] == "failed" and inputs[FAIL_READ]["records"] == 0
    assert inputs[FAIL_READ]["error"] == "OSError: injected reader failure"
    assert not any("injected" in (row["error"] or "") for name, row in inputs.items() if name != FAIL_READ)
    assert len(snap["kept"]) > 10  # the other documents went through
    summary = read_snapshot(f"run:{run_id}", data_root=tmp_path, config=cfg.snapshot).summary
    # the files line names failed files: the injected one and the demo's truncated archive
    assert " read (2 failed) + " in summary["dataflow.files"]
