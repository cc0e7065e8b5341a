"""Engine scaling (issue 15): the workers share models loaded once, instead of each loading them again.

The speed itself is measured in bench/bench_engines.py (BENCHMARKS.md); these tests check the mechanism:
the local engine forks its datatrove workers after preloading, and Spark's worker daemon preloads from
the config the session hands it. Byte-identical output across engines is tests/dataflow/test_engines_parity.py.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import multiprocessing
from pathlib import Path

import pytest

from dataflow.config import load_config
from dataflow.engines.local import preload, start_method
from dataflow.pipeline import ShardRunner
from dataflow.stages import langid, quality_ko, quality_model


def test_several_workers_are_forked_one_runs_in_process():
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    assert start_method(2) == "fork"
    assert start_method(1) == "forkserver"  # datatrove runs a single worker in this process anyway


def _clear_caches(monkeypatch):
    monkeypatch.setattr(langid, "_MODELS", {})
    monkeypatch.setattr(quality_ko, "_KIWI", {})


def test_preload_fills_the_per_process_model_caches(lid_model_path, monkeypatch):
    _clear_caches(monkeypatch)
    cfg = load_config(None, {"langid.model_path": str(lid_model_path)})
    preload(ShardRunner(cfg))
    assert list(langid._MODELS) == [str(lid_model_path)]
    assert list(quality_ko._KIWI) == ["cong"]


def test_preload_loads_the_quality_model_and_its_word_table(lid_model_path, monkeypatch):
    model_path = Path(__file__).resolve().parents[2] / "models" / "quality.bin"
    if not model_path.is_file():
        pytest.skip(f"{model_path} missing: run `make setup` first")
    _clear_caches(monkeypatch)
    monkeypatch.setattr(quality_model, "_MODELS", {})
    overrides = {"langid.model_path": str(lid_model_path), "quality.korean": False}
    cfg = load_config(None, overrides | {"quality_model.enabled": True, "quality_model.model_path": str(model_path)})
    preload(ShardRunner(cfg))
    (model,) = quality_model._MODELS.values()
    assert model in quality_model._TABLES and quality_model._TABLES[model] is not None  # built before the fork


def test_preload_loads_only_what_the_stages_use(lid_model_path, monkeypatch):
    _clear_caches(monkeypatch)
    cfg = load_config(None, {"langid.model_path": str(lid_model_path), "quality.korean": False})
    preload(ShardRunner(cfg))
    assert quality_ko._KIWI == {}  # no Korean quality stage, no Kiwi


def test_preload_runs_with_the_collector_off_and_turns_it_back_on(lid_model_path, monkeypatch):
    from dataflow.engines import local

    seen = []

    def fails(runner):
        seen.append(gc.isenabled())
        raise RuntimeError("a model failed to load")

    monkeypatch.setattr(local, "_preload_models", fails)
    cfg = load_config(None, {"langid.model_path": str(lid_model_path)})
    with pytest.raises(RuntimeError):
        preload(ShardRunner(cfg))
    assert seen == [False] and gc.isenabled()


def test_the_local_engine_unfreezes_the_driver_after_its_forked_run(tmp_path, lid_model_path, monkeypatch):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    from dataflow.engines import local
    from dataflow.run import run_pipeline

    frozen = []
    inner = local.LocalPipelineExecutor.run

    def run(self):  # in the driver, between the preload and the join of the workers
        frozen.append(gc.get_freeze_count())
        return inner(self)

    monkeypatch.setattr(local.LocalPipelineExecutor, "run", run)
    demo = Path(__file__).resolve().parents[2] / "samples" / "demo"
    overrides = {"read.inputs": [str(demo)], "langid.model_path": str(lid_model_path), "data_root": str(tmp_path)}
    run_pipeline(load_config(None, overrides | {"engine.workers": 2}))
    assert frozen[0] > 100_000  # the preloaded modules and models, frozen for the forks
    assert gc.get_freeze_count() == 0


class _Builder:
    """Records ``SparkSession.Builder.config`` calls."""

    def __init__(self) -> None:
        self.options: dict[str, str] = {}

    def config(self, key: str, value: str) -> _Builder:
        self.options[key] = value
        return self


def test_spark_daemon_preloads_from_the_config_the_session_passes(lid_model_path, monkeypatch):
    pytest.importorskip("pyspark")
    from dataflow.engines.spark import with_preloading_daemon
    from dataflow.engines.spark_daemon import PRELOAD_ENV, _preload

    _clear_caches(monkeypatch)
    cfg = load_config(None, {"langid.model_path": str(lid_model_path)})
    # pyspark's Builder keeps its options in one class-level dict: a recorder keeps this test from
    # configuring every later session of the test process
    options = with_preloading_daemon(_Builder(), cfg).options
    assert options["spark.python.daemon.module"] == "dataflow.engines.spark_daemon"
    raw = options[f"spark.executorEnv.{PRELOAD_ENV}"]
    assert json.loads(raw) == json.loads(json.dumps(dataclasses.asdict(cfg)))
    _preload(raw)
    assert list(langid._MODELS) == [str(lid_model_path)]
    assert list(quality_ko._KIWI) == ["cong"]
