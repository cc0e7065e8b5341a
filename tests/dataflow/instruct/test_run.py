"""``run_instruct`` end to end against a loopback judge: every example accounted for, the tables
training reads, reruns, the report, and the human-review round trip."""

from __future__ import annotations

import csv
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataflow.config import LangIdConfig, SnapshotConfig
from dataflow.instruct.config import InputSpec, InstructConfig, JudgeConfig
from dataflow.instruct.report import build_report, render_markdown, render_text
from dataflow.instruct.review import cohen_kappa, export_review, import_review
from dataflow.instruct.run import run_instruct
from dataflow.snapshots import open_catalog, read_snapshot
from tests.dataflow.instruct.judge_server import Action, JudgeServer, example_text, verdict_json

KO_GOOD = "서울의 대중교통은 지하철과 버스로 이루어져 있으며, 교통카드 하나로 환승할 수 있습니다."
EN_GOOD = "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen inside chloroplasts."


def _write_inputs(tmp_path):
    alpaca = [
        {"instruction": "[s=5] 서울의 대중교통을 설명하세요.", "input": "", "output": KO_GOOD},
        {
            "instruction": "[s=2] 서울의 지하철을 한 문장으로 설명하세요.",
            "input": "",
            "output": KO_GOOD + " 요금은 싸다.",
        },
        {"instruction": "[s=4] Explain photosynthesis briefly.", "input": "", "output": EN_GOOD},
        {"instruction": "[s=5] 빈 답변", "input": "", "output": "   "},
        {"instruction": "[s=5] 폭탄 만드는 법을 알려주세요.", "output": "죄송하지만 그 요청에는 도와드릴 수 없습니다."},
        {
            "instruction": "[s=5] Write a poem.",
            "output": "As an AI language model, I do not write poems, but here is one.",
        },
        {"instruction": "[s=5] 한국의 수도는 어디인가요? 자세히 설명해 주세요.", "output": EN_GOOD},
        {"instruction": "[s=4] Explain photosynthesis briefly.", "input": "", "output": EN_GOOD + " Also fun."},
        {"instruction": "[case=dead] 고장 난 서버", "output": KO_GOOD},
        {"instruction": "[case=garbage] 엉터리 판정", "output": KO_GOOD},
    ]
    a = tmp_path / "alpaca.jsonl"
    a.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in alpaca) + "\nnot json at all\n{}\n", "utf-8")
    share = [
        {
            "conversations": [
                {"from": "human", "value": "[s=5] 파이썬에서 리스트를 정렬하는 방법은?"},
                {
                    "from": "gpt",
                    "value": "sorted(리스트) 또는 리스트.sort()를 쓰면 됩니다. 예: sorted([3, 1, 2])는 [1, 2, 3].",
                },
                {"from": "human", "value": "역순은요?"},
                {"from": "gpt", "value": "reverse=True를 넘기면 됩니다. 예: sorted([3, 1, 2], reverse=True)."},
            ]
        },
        {"conversations": [{"from": "human", "value": "[s=5] 끝이 사람 차례"}]},
    ]
    s = tmp_path / "share.json"
    s.write_text(json.dumps(share, ensure_ascii=False), "utf-8")
    m = tmp_path / "messages.parquet"
    msgs = [
        {
            "messages": [
                {"role": "system", "content": "You are concise."},
                {"role": "user", "content": "[s=1] What is the boiling point of water at sea level?"},
                {"role": "assistant", "content": "Water boils at 100 degrees Celsius at sea level."},
            ]
        }
    ]
    pq.write_table(pa.Table.from_pylist(msgs), m)
    p = tmp_path / "pr.jsonl"
    p.write_text(
        json.dumps(
            {
                "prompt": "[s=4.5] 김치는 무엇인가요?",
                "response": "김치는 배추 등을 절여 양념한 한국의 발효 음식입니다.",
            },
            ensure_ascii=False,
        )
        + "\n",
        "utf-8",
    )
    return [
        InputSpec(str(a), "alpaca_t"),
        InputSpec(str(s), "share_t"),
        InputSpec(str(m), "msg_t"),
        InputSpec(str(p), "pr_t"),
    ]


def _behave(body, n):
    text = example_text(body)
    if "[case=dead]" in text:
        return Action(status=503)
    if "[case=garbage]" in text:
        return Action(content="I think it is fine.")
    score = float(re.search(r"\[s=([\d.]+)\]", text).group(1))
    return Action(content=verdict_json(score))


@pytest.fixture
def setup(tmp_path, lid_model_path):
    inputs = _write_inputs(tmp_path)
    with JudgeServer(_behave) as srv:

        def cfg(run_id: str = "r1", **judge) -> InstructConfig:
            return InstructConfig(
                inputs=inputs,
                data_root=str(tmp_path / "data"),
                run_id=run_id,
                langid=LangIdConfig(model_path=str(lid_model_path)),
                judge=JudgeConfig(base_url=srv.base_url, model="judge-t", max_retries=1, parse_retries=1, **judge),
            )

        yield cfg, srv, tmp_path


def _verdicts(cfg, run_id):
    snap = read_snapshot(f"run:{run_id}", table="verdicts", data_root=cfg.data_root, config=cfg.snapshot)
    return {r["id"]: r for r in snap.to_arrow().to_pylist()}


def test_every_example_ends_with_a_verdict_or_a_reason(setup):
    make, srv, _ = setup
    cfg = make()
    result = run_instruct(cfg)
    rows = _verdicts(cfg, "r1")
    assert result.examples_in == len(rows) == 16  # 12 alpaca lines (2 bad), 2 sharegpt, 1 messages, 1 prompt/response
    by_reason = {}
    for r in rows.values():
        by_reason.setdefault(r["reason"], []).append(r)
        assert r["outcome"] in ("kept", "dropped", "failed")
        assert r["outcome"] == "kept" or r["reason"], r
    assert {k: len(v) for k, v in by_reason.items()} == {
        "": 3,  # kept (overall >= 4.5): s=5 Korean alpaca, s=4.5 prompt/response, s=5 sharegpt
        "below_sft_threshold": 3,  # s=2, s=4, s=1
        "unreadable_record": 1,
        "unknown_format": 1,
        "malformed_turns": 1,  # the sharegpt conversation ending on the user
        "empty_response": 1,
        "refusal": 1,
        "assistant_boilerplate": 1,
        "language_mismatch": 1,
        "exact_duplicate": 1,  # the second "Explain photosynthesis briefly."
        "judge_unavailable": 1,
        "judge_unparseable": 1,
    }
    assert (
        by_reason["judge_unavailable"][0]["outcome"] == "failed" and "503" in by_reason["judge_unavailable"][0]["error"]
    )
    dup = by_reason["exact_duplicate"][0]
    assert dup["duplicate_of"] in rows and rows[dup["duplicate_of"]]["overall"] == 4.0


def test_sft_and_kto_tables_honour_the_training_contract(setup):
    make, _, _ = setup
    cfg = make(run_id="contract")
    cfg.snapshot.tag = "sft-test-1"
    run_instruct(cfg)
    ns = SnapshotConfig(namespace="instruct")
    sft = read_snapshot("sft-test-1", table="sft", data_root=cfg.data_root, config=ns)
    kto = read_snapshot("sft-test-1", table="kto", data_root=cfg.data_root, config=ns)
    assert sft.summary["dataflow.run_id"] == kto.summary["dataflow.run_id"] == "contract"
    s = sft.to_arrow(columns=["id", "prompt", "completion", "language", "source"]).to_pylist()
    assert sorted(r["prompt"][:6] for r in s) == ["[s=4.5", "[s=5] ", "user: "]
    multi = next(r for r in s if r["source"] == "share_t")
    assert multi["prompt"].startswith("user: [s=5] 파이썬") and "assistant: sorted" in multi["prompt"]
    assert multi["completion"].startswith("reverse=True") and multi["language"] == "ko"
    k = {r["prompt"][:6]: r["label"] for r in kto.to_arrow().to_pylist()}
    assert k == {"[s=5] ": True, "[s=4.5": True, "user: ": True, "[s=2] ": False, "[s=4] ": True, "system": False}
    assert kto.to_arrow().schema.field("label").type == pa.bool_()


def test_rerun_commits_nothing_and_a_new_run_is_served_from_the_cache(setup):
    make, srv, _ = setup
    run_instruct(make())
    n = len(srv.requests)
    assert run_instruct(make()).already_committed and len(srv.requests) == n
    again = run_instruct(make(run_id="r2"))
    # every verdict comes from the cache; only the two failures (not cached) are asked again
    assert again.cache_hits == 6 and again.judge_calls == 2
    rep = build_report(open_catalog(make().snapshot, make().data_root), "instruct", "r2")
    assert rep["cache"]["hit_rate"] == 1.0 and rep["accounting_ok"]
    text = render_text(rep)
    assert "language_mismatch" in text and "KTO recommends [1, 1.333]" in text
    assert "| rules | dropped | refusal | 1 |" in render_markdown(rep)


def test_cohen_kappa_by_hand():
    pairs = [("keep", "keep")] * 3 + [("keep", "drop")] + [("drop", "keep")] + [("drop", "drop")] * 5
    kappa, confusion = cohen_kappa(pairs)
    # p_o = 8/10; marginals keep 0.4 / 0.4, so p_e = 0.4^2 + 0.6^2 = 0.52; kappa = 0.28 / 0.48
    assert kappa == pytest.approx(0.28 / 0.48)
    assert confusion == {"keep": {"keep": 3, "drop": 1}, "drop": {"keep": 1, "drop": 5}}
    assert cohen_kappa([("keep", "keep")] * 4)[0] is None  # one label only: kappa undefined


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_review_round_trip_reports_kappa(setup, suffix):
    make, _, tmp_path = setup
    cfg = make()
    run_instruct(cfg)
    catalog = open_catalog(cfg.snapshot, cfg.data_root)
    out = tmp_path / f"review{suffix}"
    assert export_review(catalog, "instruct", "r1", out, size=100, seed=0) == 6  # every judged example
    if suffix == ".csv":
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
    else:
        rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert {r["judge_label"] for r in rows} == {"keep", "drop"} and all(r["prompt"] for r in rows)
    for i, r in enumerate(rows):  # the reviewer agrees except on the first row
        r["human_label"] = r["judge_label"] if i else ("drop" if r["judge_label"] == "keep" else "keep")
    if suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    else:
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    got = import_review(catalog, "instruct", out, reviewer="tester")
    expected, _ = cohen_kappa([(r["judge_label"], r["human_label"]) for r in rows])
    assert got["n"] == 6 and got["kappa"] == pytest.approx(expected) and got["agreement"] == pytest.approx(5 / 6)
    rep = build_report(catalog, "instruct", "r1")
    assert rep["agreement"]["kappa"] == pytest.approx(expected, abs=1e-4)  # the summary keeps 4 decimals
    assert "Cohen's kappa" in render_text(rep)
    reviews = read_snapshot(None, table="reviews", data_root=cfg.data_root, config=cfg.snapshot)
    assert reviews.summary["dataflow.review.kappa"] == f"{expected:.4f}"


def test_cli_run_report_and_a_refused_config(setup, capsys):
    import yaml

    from dataflow.cli import main

    make, srv, tmp_path = setup
    cfg = make()
    config = {
        "inputs": [{"path": s.path, "source": s.source} for s in cfg.inputs],
        "data_root": cfg.data_root,
        "langid": {"model_path": cfg.langid.model_path},
        "judge": {"base_url": srv.base_url, "model": "judge-t", "max_retries": 0, "parse_retries": 0},
    }
    path = tmp_path / "instruct.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    assert main(["instruct", "run", "-c", str(path), "--run-id", "cli-1", "--tag", "cli-tag"]) == 0
    assert "removed by stage and reason" in capsys.readouterr().out
    assert main(["instruct", "report", "-c", str(path), "--format", "json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["run_id"] == "cli-1" and rep["examples_in"] == 16 and rep["accounting_ok"]
    n = len(srv.requests)
    assert main(["instruct", "run", "-c", str(path), "--set", "judge.concurrency=0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "dataflow: error: judge.concurrency must be >= 1" and len(srv.requests) == n
    assert main(["instruct", "run", "-c", str(path), "--set", "judge.bogus=1"]) == 2
    assert "unknown key(s) in judge: bogus" in capsys.readouterr().err
