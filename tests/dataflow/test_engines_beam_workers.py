"""Beam's multi-process DirectRunner with SDK workers forked from a preloaded server (issue 15).

The speed is measured in bench/bench_engines.py (BENCHMARKS.md); these tests check the mechanism: the
worker processes are children of one server, and they find the LID model already loaded when their
first element arrives (a stock SDK worker, a fresh interpreter, starts with an empty cache). Byte-identical
output across engines is tests/dataflow/test_engines_parity.py (Beam there runs with 2 forked workers).
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
from pathlib import Path

import pytest

from dataflow.config import load_config
from dataflow.engines.beam import forks_workers, pipeline_options

pytestmark = pytest.mark.slow  # starts two SDK worker processes and preloads the stages' models


def _record(out_dir: str, element: int) -> int:
    """In an SDK worker: write (worker pid, its parent's pid, the LID models loaded before this element)."""
    from dataflow.stages import langid

    state = {"pid": os.getpid(), "ppid": os.getppid(), "models": sorted(langid._MODELS)}
    Path(out_dir, f"{element}.json").write_text(json.dumps(state), encoding="utf-8")
    return element


def test_forked_workers_share_the_preloaded_model(lid_model_path, tmp_path):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    import apache_beam as beam

    from dataflow.engines.beam_workers import forked_workers

    cfg = load_config(None, {"langid.model_path": str(lid_model_path), "engine.name": "beam", "engine.workers": 2})
    assert forks_workers(cfg)
    with forked_workers(cfg) as runner, beam.Pipeline(runner=runner, options=pipeline_options(cfg)) as p:
        _ = p | beam.Create(list(range(8))) | beam.Reshuffle() | beam.Map(functools.partial(_record, str(tmp_path)))
    states = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(tmp_path.glob("*.json"))]
    assert len(states) == 8
    assert all(state["models"] == [str(lid_model_path)] for state in states)  # loaded before the first element
    assert all(state["pid"] != os.getpid() for state in states)  # ran in worker processes, not here
    parents = {state["ppid"] for state in states}
    assert len(parents) == 1 and parents != {os.getpid()}  # every worker forked by the one server


def test_other_runners_and_modes_keep_beams_own_workers(lid_model_path):
    base = {"langid.model_path": str(lid_model_path), "engine.name": "beam"}
    assert not forks_workers(load_config(None, {**base, "engine.workers": 1}))
    threads = load_config(None, {**base, "engine.workers": 2, "engine.beam.direct_running_mode": "multi_threading"})
    assert not forks_workers(threads)
    flags = pipeline_options(threads).get_all_options()
    assert flags["direct_running_mode"] == "multi_threading"
    flink = load_config(None, {**base, "engine.workers": 2, "engine.beam.runner": "FlinkRunner"})
    assert not forks_workers(flink)


def test_unreachable_server_falls_back_to_a_stock_worker(monkeypatch, tmp_path):
    from dataflow.engines import beam_workers

    calls = []

    def fake_execv(path, argv):
        calls.append(argv)
        raise SystemExit(0)  # execv never returns; stop here as it would

    monkeypatch.setattr(beam_workers.os, "execv", fake_execv)
    with pytest.raises(SystemExit):
        beam_workers.connect(str(tmp_path / "no-server.sock"))
    assert calls and calls[0][1:] == list(beam_workers.STOCK_WORKER)
