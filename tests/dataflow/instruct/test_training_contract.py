"""The contract end to end: training's own loader reads instruct.sft / instruct.kto by tag."""

from __future__ import annotations

import json

import pytest

from dataflow.instruct.config import InputSpec, InstructConfig, JudgeConfig
from dataflow.instruct.run import run_instruct
from tests.dataflow.instruct.judge_server import Action, JudgeServer, example_text, verdict_json

pytestmark = pytest.mark.slow  # imports datasets (training's loader)


def test_training_loads_the_tagged_sft_and_kto_snapshots(tmp_path):
    data = pytest.importorskip("training.data")
    from training.config import DataSpec

    f = tmp_path / "in.jsonl"
    rows = [{"instruction": f"good-{i} 질문", "output": "좋은 답변입니다."} for i in range(3)]
    rows += [{"instruction": f"bad-{i} 질문", "output": "나쁜 답변입니다."} for i in range(2)]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")

    def behave(body, n):
        return Action(content=verdict_json(5.0 if example_text(body).startswith("good") else 1.0))

    with JudgeServer(behave) as srv:
        cfg = InstructConfig(
            inputs=[InputSpec(str(f), "t")],
            data_root=str(tmp_path / "data"),
            judge=JudgeConfig(base_url=srv.base_url, model="j"),
        )
        cfg.rules.language_mismatch = cfg.rules.dedup_prompts = False
        cfg.snapshot.tag = "rel-1"
        result = run_instruct(cfg)
    sft, sft_id, lineage = data.load_table(DataSpec(snapshot="rel-1", data_root=cfg.data_root), "sft")
    assert sorted(r[:6] for r in sft["prompt"]) == ["good-0", "good-1", "good-2"]
    assert lineage["snapshot_run_id"] == result.run_id and sft_id == str(result.snapshot_ids["sft"])
    kto, _, _ = data.load_table(DataSpec(snapshot="rel-1", data_root=cfg.data_root), "kto")
    assert sorted(zip(kto["prompt"], kto["label"], strict=True))[0] == ("bad-0 질문", False)
    assert sum(kto["label"]) == 3 and len(kto) == 5
