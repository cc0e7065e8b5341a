"""A run killed with SIGKILL mid-judging resumes paying only for examples without a cached verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from dataflow.instruct.cache import VerdictCache, cache_key
from dataflow.instruct.config import load_instruct_config
from dataflow.instruct.readers import read_file
from dataflow.instruct.rubric import get_rubric
from dataflow.instruct.run import run_instruct
from tests.dataflow.instruct.judge_server import Action, JudgeServer, example_text, verdict_json

ROOT = Path(__file__).resolve().parents[3]
N, KILL_AFTER = 40, 12


def test_resume_after_sigkill_calls_only_for_uncached(tmp_path):
    data = tmp_path / "in.jsonl"
    rows = [{"instruction": f"item-{i:03d} 질문입니다", "output": f"답변 {i}입니다."} for i in range(N)]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    reached = threading.Event()

    def behave(body, n):
        if n + 1 >= KILL_AFTER:
            reached.set()
        return Action(content=verdict_json(4.5), delay_s=0.05)

    with JudgeServer(behave) as srv:
        config = {
            "inputs": [{"path": str(data), "source": "t"}],
            "data_root": str(tmp_path / "data"),
            "run_id": "resume-1",
            "rules": {"language_mismatch": False, "dedup_prompts": False},
            "judge": {"base_url": srv.base_url, "model": "judge-t", "concurrency": 2},
        }
        cfg_path = tmp_path / "instruct.yaml"
        cfg_path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
        code = (
            "import sys; from dataflow.instruct import load_instruct_config, run_instruct; "
            "run_instruct(load_instruct_config(sys.argv[1]))"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(cfg_path)], cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)}
        )
        try:
            assert reached.wait(timeout=120), "the run never reached the judge"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        first = len(srv.requests)

        cfg = load_instruct_config(cfg_path)
        cache = VerdictCache(tmp_path / "data" / "instruct" / "verdict_cache.db")
        rubric = get_rubric(cfg.judge.rubric)
        cached = {
            ex.turns[0]["content"][:8]
            for ex in read_file(data, "t")
            if cache.get(cache_key(rubric.key, "judge-t", ex.content_hash)) is not None
        }
        cache.close()
        assert KILL_AFTER - 2 <= len(cached) < N  # killed mid-way, with what it had paid for on disk

        result = run_instruct(cfg)
        asked = [example_text(body)[:8] for _, body in srv.requests[first:]]
    assert not set(asked) & cached  # nothing cached was asked for again
    assert sorted(asked) == sorted({f"item-{i:03d}" for i in range(N)} - cached)  # each uncached once
    assert result.cache_hits == len(cached) and result.judge_calls == N - len(cached)
    assert not result.already_committed and result.examples_in == N
