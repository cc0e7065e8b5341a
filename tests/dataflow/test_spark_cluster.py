"""The Spark engine on a real standalone cluster (a master, two workers, executor JVMs) on loopback,
submitted with spark-submit exactly as docs/engines.md says, against the local engine's snapshot.

What ``local[*]`` hides and this exercises: the project's code shipped as ``--py-files``, the
language-ID model shipped with ``--files`` and loaded from each executor's own directory, spark-submit
run from a directory that holds nothing of the project (every path absolute), a Python interpreter
named for the executors, and a task that dies once and is retried by Spark.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from dataflow.engines.standalone import java_available, start_cluster
from tests.dataflow.test_engines_parity import DEMO, _snapshot

pytestmark = pytest.mark.slow  # four JVMs, a spark-submit and a local run: 2 min on the shared 2-core box

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(Path(sys.executable))


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    if not java_available():
        pytest.skip("Java is not installed: no Spark standalone cluster")
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), workers=2, cores=1, memory="1g")
    try:
        assert cluster.workers_alive() == 2
        yield cluster
    finally:
        cluster.stop()
    for pid in cluster.pids:  # stopped by pid: none of them is left
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _py_files(dest: Path) -> Path:
    """dataflow/ and schemas/ as one zip, as docs/engines.md ships the code with --py-files."""
    with zipfile.ZipFile(dest, "w") as zf:
        for package in ("dataflow", "schemas"):
            for path in sorted((ROOT / package).rglob("*.py")):
                zf.write(path, path.relative_to(ROOT))
    return dest


def test_spark_submit_on_a_standalone_cluster_matches_local_and_survives_a_retried_task(
    spark_cluster, tmp_path, lid_model_path
):
    if not DEMO.is_dir():
        pytest.skip("samples/demo is missing")
    from dataflow.config import load_config
    from dataflow.run import run_pipeline

    submit_dir = tmp_path / "submit"  # the driver's working directory: no models/, no project
    submit_dir.mkdir()
    markers = tmp_path / "markers"
    config = {
        "read": {"inputs": [str(DEMO)]},
        "data_root": str(tmp_path / "cluster-data"),
        "langid": {"model_path": str(lid_model_path)},  # the driver's path; executors use the shipped copy
        # driver_plan_max_docs 0: the dedup plan's shuffles run on the cluster too (the demo would fit the driver)
        "engine": {"name": "spark", "tasks": 2, "spark": {"fail_once_dir": str(markers), "driver_plan_max_docs": 0}},
    }
    (submit_dir / "job.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    command = [
        str(Path(PYTHON).with_name("spark-submit")),
        "--master",
        spark_cluster.master_url,
        "--py-files",
        str(_py_files(submit_dir / "dataflow.zip")),
        "--files",
        str(lid_model_path),
        "--conf",
        f"spark.pyspark.python={PYTHON}",
        "--conf",
        "spark.executor.memory=1g",
        "--conf",
        "spark.executor.cores=1",
        "--conf",
        "spark.task.maxFailures=2",
        "--driver-memory",
        "1g",
        str(ROOT / "dataflow" / "__main__.py"),
        "run",
        "-c",
        "job.yaml",
    ]
    env = dict(os.environ, PYSPARK_PYTHON=PYTHON, SPARK_LOCAL_IP="127.0.0.1")
    env.pop("PYSPARK_GATEWAY_PORT", None)
    proc = subprocess.run(command, cwd=submit_dir, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    # shard 0 failed once on an executor, and Spark ran it again
    assert (markers / "shard-0-failed-once").is_file()
    assert "injected one-time task failure" in proc.stderr and "Lost task" in proc.stderr

    # every executor fetched the model into its own directory (Spark's --files), where the engine loads it
    fetched = list(Path(spark_cluster.root).glob("worker-*/app-*/*/lid.176.ftz"))
    assert len(fetched) >= 2, fetched

    from dataflow.snapshots.read import read_snapshot

    cluster_cfg = load_config(submit_dir / "job.yaml")
    committed = read_snapshot(None, data_root=cluster_cfg.data_root, config=cluster_cfg.snapshot)
    on_cluster = _snapshot(cluster_cfg, committed.summary["dataflow.run_id"])

    local_cfg = load_config(
        None,
        {"read.inputs": [str(DEMO)], "data_root": str(tmp_path / "local"), "langid.model_path": str(lid_model_path)},
    )
    local = _snapshot(local_cfg, run_pipeline(local_cfg).run_id)
    for part in ("kept", "rejects", "stats", "inputs"):
        assert on_cluster[part] == local[part], f"the cluster run differs from local in {part}"
    assert len({doc_id for doc_id, _, _ in on_cluster["kept"]}) == len(on_cluster["kept"])  # no row twice
