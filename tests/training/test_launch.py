"""SLURM launchers: shell syntax, and the per-rank wrapper (MIOpen cache per rank, then the stage module)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from training.launch.per_rank import rank_environment

LAUNCH = Path(__file__).resolve().parents[2] / "training" / "launch"


@pytest.mark.parametrize("script", ["rocm-mi250.sbatch", "nvidia.sbatch"])
def test_sbatch_scripts_parse_and_say_they_are_untested(script):
    path = LAUNCH / script
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    text = path.read_text()
    assert "UNTESTED ON HARDWARE" in text and "training/recipes/accelerate-fsdp.yaml" in text
    assert "-m training.launch.per_rank" in text


def test_rank_environment_gives_each_rank_its_own_miopen_cache():
    a = rank_environment({"RANK": "3", "MIOPEN_CACHE_ROOT": "/scratch/m"})
    b = rank_environment({"RANK": "4", "MIOPEN_CACHE_ROOT": "/scratch/m"})
    assert a == {"MIOPEN_USER_DB_PATH": "/scratch/m/rank-00003", "MIOPEN_CUSTOM_CACHE_DIR": "/scratch/m/rank-00003"}
    assert a["MIOPEN_USER_DB_PATH"] != b["MIOPEN_USER_DB_PATH"]
    assert rank_environment({"SLURM_PROCID": "7", "USER": "u"})["MIOPEN_USER_DB_PATH"] == "/tmp/u-miopen/rank-00007"


def test_per_rank_wrapper_runs_the_stage_module(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "RANK": "2", "MIOPEN_CACHE_ROOT": str(tmp_path), "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "training.launch.per_rank", "training.growth.shapes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "| params: total | 70,553,706,496 | 102,022,456,320 |" in done.stdout
    assert (tmp_path / "rank-00002").is_dir()
