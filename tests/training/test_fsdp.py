"""2 processes over gloo, torch's fully_shard called directly: MSG hooks, chunked loss, fold, sharded save, merge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_two_rank_fsdp_training_save_merge_reload_equals_unsharded(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    # --standalone: torchrun picks a free rendezvous port itself (no race with other processes on the machine)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(ROOT / "tests" / "training" / "fsdp_worker.py"),
        str(tmp_path),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["sharded"] is True  # parameters really were DTensors
    assert result["losses"] == pytest.approx(result["reference_losses"], rel=1e-6)
    assert result["losses"][2] != result["losses"][1]  # the masks opened between steps (the hooks are live)
    assert result["max_diff_sharded_vs_reference"] <= 1e-5
    assert result["max_diff_reloaded_vs_reference"] <= 1e-5  # the merged checkpoint is the trained model
    assert result["max_diff_cli_merge_vs_reference"] <= 1e-5  # python -m training.checkpoint merge, the same
    assert result["reloaded_class"] == "LlamaForCausalLM" and not result["reloaded_has_msg_growth"]
    assert "model.safetensors" in result["files"] and "sharded-dcp" not in result["files"]
