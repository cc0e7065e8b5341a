"""Training mixes: shares in tokens, clear shortfalls, determinism by seed, lineage, and training reads them.

The corpus is synthetic and built here (5,000 documents in 2 languages x 5 source kinds, committed as
a corpus snapshot); the tokenizer is the project's own demo tokenizer, trained on samples/demo.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from dataflow.config import ConfigError
from dataflow.mixes import MixError, build_mix, load_recipe, read_mix
from dataflow.mixes import plan as P
from dataflow.mixes.tokens import TokenCounter, sample_texts, train_tokenizer
from dataflow.snapshots import commit_tables, read_snapshot
from schemas.mixes import REST

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "demo"

KO_WORDS = str.split(
    "서울 도서관 시민 운영 시간 연장 주말 가족 프로그램 지역 주민 참여 안내 공공 자전거 정류장 버스 노선 변경 "
    "연구 결과 분석 방법 실험 데이터 모델 성능 개선 특허 청구항 장치 구성 단계 보고서 정책 예산 집행 현황 "
    "김치 배추 소금 양념 시장 상인 행사 축제 등불 한강 산책 건강 걷기 운동 습관 기록 계획 목표"
)
EN_WORDS = str.split(
    "city library opening hours weekend family program local residents public bike station route change study "
    "results analysis method experiment data model performance patent claim device step report policy budget"
)
KINDS = {"ko": ["web"] * 6 + ["text", "paper", "patent", "report"], "en": ["web"] * 4 + ["text"]}


def demo_texts() -> list[str]:
    return sample_texts(DEMO)


def doc(i: int, lang: str, kind: str, text: str, run_id: str) -> dict:
    return dict(
        id=f"{run_id}-{i:06d}", text=text, source_kind=kind, source_uri=f"file:///synthetic/{i}.txt", url=None,
        language=lang, language_score=0.99, quality_signals={}, quality_score=None, pii_counts={},
        dedup_cluster=None, n_bytes=len(text.encode()), n_chars=len(text), metadata="{}", run_id=run_id,
    )  # fmt: skip


def synthetic_docs(n: int, run_id: str, seed: int = 0, en_share: float = 0.3) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lang = "en" if rng.random() < en_share else "ko"
        words = EN_WORDS if lang == "en" else KO_WORDS
        text = " ".join(rng.choice(words) for _ in range(rng.randint(10, 90)))
        rows.append(doc(i, lang, rng.choice(KINDS[lang]), text, run_id))
    return rows


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> Path:
    return train_tokenizer(demo_texts(), tmp_path_factory.mktemp("tok") / "demo-tokenizer")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("corpus")
    rows = synthetic_docs(5000, "run-a")
    commit_tables({"documents": rows}, "run-a", data_root=root, config=None)
    from dataflow.snapshots import tag

    tag("run:run-a", "corpus-a", data_root=root)
    return root, rows


def recipe(root: Path, tokenizer: Path, **over):
    data = dict(
        name="mix-test", tokenizer=str(tokenizer), sources=["corpus-a"], data_root=str(root),
        languages={"ko": {"share": 0.9, "sources": {"paper": 0.05, "patent": 0.05, "report": 0.05}},
                   "en": {"share": 0.1}},
    )  # fmt: skip
    data.update(over)
    return load_recipe(None, data)


def shares(snap) -> dict[str, float]:
    t = snap.to_arrow(columns=["language", "source_kind", "n_tokens"]).to_pylist()
    total = sum(r["n_tokens"] for r in t)
    out: dict[str, float] = {}
    for r in t:
        out[r["language"]] = out.get(r["language"], 0) + r["n_tokens"] / total
        out[f"{r['language']}/{r['source_kind']}"] = out.get(f"{r['language']}/{r['source_kind']}", 0) + (
            r["n_tokens"] / total
        )
    return out


def test_token_counts_match_the_tokenizer_one_by_one(tokenizer):
    counter = TokenCounter(tokenizer)
    texts = ["서울 도서관은 밤 열 시까지 문을 연다.", "The library opens late.", ""]
    one_by_one = [len(counter.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert counter.count(texts).tolist() == one_by_one
    assert one_by_one[0] > 0 and one_by_one[2] == 0


def test_shares_within_half_a_point_downsampling(corpus, tokenizer):
    root, rows = corpus
    result = build_mix(recipe(root, tokenizer, seed=1), progress=False)
    snap = read_mix("mix-test", data_root=root)
    assert snap.snapshot_id == result.snapshot_id and snap.summary["dataflow.mix_id"] == result.mix_id
    got = shares(snap)
    assert abs(got["ko"] - 0.9) < 0.005 and abs(got["en"] - 0.1) < 0.005
    for kind in ("paper", "patent", "report"):
        assert abs(got[f"ko/{kind}"] - 0.9 * 0.05) < 0.005, kind
    # down-sampling: every document at most once, and the scarcest cell is used up (largest mix at the shares)
    table = snap.to_arrow(columns=["id", "repeats", "repeat_index"])
    assert set(table.column("repeats").to_pylist()) == {1} and table.num_rows == len(
        set(table.column("id").to_pylist())
    )
    cells = {(c["language"], c["source_kind"]): c for c in json.loads(snap.summary["dataflow.mix_cells"])}
    assert max(c["mix_tokens"] / c["tokens"] for c in cells.values()) > 0.99
    # the summary's achieved shares are the table's
    summary = json.loads(snap.summary["dataflow.mix_shares"])
    assert summary["ko"]["achieved"] == pytest.approx(got["ko"], abs=1e-6) and summary["ko"]["target"] == 0.9


def test_lineage_and_nothing_the_sources_lack(corpus, tokenizer):
    root, rows = corpus
    build_mix(recipe(root, tokenizer, seed=1), progress=False)
    snap = read_mix("mix-test", data_root=root)
    source = read_snapshot("corpus-a", data_root=root)
    by_id = {r["id"]: r for r in rows}
    mix = snap.to_arrow(columns=["id", "text", "language", "source_snapshot_id", "mix_id", "n_tokens"]).to_pylist()
    assert mix
    for r in mix:
        assert r["id"] in by_id and r["text"] == by_id[r["id"]]["text"] and r["language"] == by_id[r["id"]]["language"]
        assert r["source_snapshot_id"] == source.snapshot_id and r["mix_id"] == snap.summary["dataflow.mix_id"]
    sources = json.loads(snap.summary["dataflow.mix_sources"])
    assert [s["snapshot_id"] for s in sources] == [source.snapshot_id]
    recorded = json.loads(snap.summary["dataflow.mix_recipe"])
    assert recorded["seed"] == 1 and snap.summary["dataflow.mix_seed"] == "1"
    assert recorded["languages"]["ko"]["sources"]["paper"] == 0.05 and "catalog" not in recorded  # no catalog URL
    # token counts stored beside the documents are the tokenizer's
    counter = TokenCounter(tokenizer)
    sample = mix[:50]
    assert [r["n_tokens"] for r in sample] == counter.count([r["text"] for r in sample]).tolist()


def test_same_seed_same_rows_other_seed_other_draw(corpus, tokenizer):
    root, _ = corpus
    a = build_mix(recipe(root, tokenizer, name="seed-7", seed=7), progress=False)
    again = build_mix(recipe(root, tokenizer, name="seed-7", seed=7), progress=False)
    assert again.already_committed and again.snapshot_id == a.snapshot_id  # a rebuild commits nothing new
    b = build_mix(recipe(root, tokenizer, name="seed-8", seed=8), progress=False)
    rows_a = read_mix("seed-7", data_root=root).to_arrow(columns=["id", "repeat_index"]).to_pylist()
    rows_b = read_mix("seed-8", data_root=root).to_arrow(columns=["id", "repeat_index"]).to_pylist()
    assert rows_a != rows_b and set(map(str, rows_a)) != set(map(str, rows_b))
    mix_ids = set(read_mix("seed-7", data_root=root).to_arrow(columns=["mix_id"]).column("mix_id").to_pylist())
    assert mix_ids == {a.mix_id}  # a mix's snapshot holds that mix alone, though others were committed after it
    for name in ("seed-7", "seed-8"):
        got = shares(read_mix(name, data_root=root))
        assert abs(got["ko"] - 0.9) < 0.005 and abs(got["ko/paper"] - 0.045) < 0.005
    # row for row: the same recipe built into a fresh catalog gives the same rows in the same order
    fresh = root.parent / "fresh"
    commit_tables({"documents": synthetic_docs(5000, "run-a")}, "run-a", data_root=fresh)
    build_mix(recipe(fresh, tokenizer, name="seed-7", seed=7, sources=["run:run-a"]), progress=False)
    assert read_mix("seed-7", data_root=fresh).to_arrow(columns=["id", "repeat_index"]).to_pylist() == rows_a
    assert b.mix_id != a.mix_id


def test_upsampling_repeats_within_the_cap_and_shortfall_names_the_cell(corpus, tokenizer):
    root, _ = corpus
    base = build_mix(recipe(root, tokenizer, name="base", seed=1), progress=False)
    total = int(base.summary["dataflow.mix_tokens"])
    up = build_mix(
        recipe(root, tokenizer, name="up", seed=1, sampling="upsample", max_repeats=3, token_budget=2 * total),
        progress=False,
    )
    snap = read_mix("up", data_root=root)
    got = shares(snap)
    assert abs(got["ko"] - 0.9) < 0.005 and abs(got["ko/patent"] - 0.045) < 0.005
    t = snap.to_arrow(columns=["id", "repeats", "repeat_index"]).to_pylist()
    assert max(r["repeats"] for r in t) <= 3 and any(r["repeats"] > 1 for r in t)
    per_id: dict[str, list[int]] = {}
    for r in t:
        per_id.setdefault(r["id"], []).append(r["repeat_index"])
    assert all(sorted(v) == list(range(len(v))) for v in per_id.values())  # copies 0..k-1, each once
    assert int(up.summary["dataflow.mix_tokens"]) == pytest.approx(2 * total, rel=0.002)

    with pytest.raises(MixError) as err:
        build_mix(
            recipe(root, tokenizer, name="too-big", sampling="upsample", max_repeats=2, token_budget=3 * total),
            progress=False,
        )
    message = str(err.value)
    assert "ko/" in message and "short by" in message and "at most 2 repeats" in message
    with pytest.raises(MixError, match=r"short by [\d,]+ tokens \(\d+\.\d%\)"):
        build_mix(recipe(root, tokenizer, name="down-too-big", token_budget=2 * total), progress=False)


def test_a_missing_source_kind_is_named(corpus, tokenizer):
    root, _ = corpus
    languages = {"ko": {"share": 0.9, "sources": {"paper": 0.5}}, "en": {"share": 0.1, "sources": {"blog": 0.2}}}
    with pytest.raises(MixError, match="en/blog"):
        build_mix(recipe(root, tokenizer, name="blog", languages=languages, token_budget=1000), progress=False)


def test_rehydration_weights_documents_by_cluster_size(tmp_path, tokenizer):
    rows = synthetic_docs(600, "run-r", en_share=0.0)
    big = {r["id"] for r in rows[:100]}
    rejects = []
    for r in rows[:100]:  # each of the first 100 documents stands for a cluster of 5 (4 rejected copies)
        for k in range(4):
            rejects.append(
                dict(
                    id=f"{r['id']}-copy{k}",
                    run_id="run-r",
                    source_kind="web",
                    source_uri="u",
                    url=None,
                    stage="dedup_near",
                    outcome="dropped",
                    reason="near_duplicate",
                    error=None,
                    language="ko",
                    excerpt="",
                    n_bytes=1,
                    n_chars=1,
                    duplicate_of=r["id"],
                )  # fmt: skip
            )
    commit_tables({"documents": rows, "rejects": rejects}, "run-r", data_root=tmp_path)
    tokens = TokenCounter(tokenizer).count([r["text"] for r in rows])
    rehydrated = int(tokens.sum() + 4 * tokens[:100].sum())  # the budget at which every weight is met exactly
    r = load_recipe(
        None,
        dict(
            name="rehydrated", tokenizer=str(tokenizer), sources=["run:run-r"], data_root=str(tmp_path),
            languages={"ko": {"share": 1.0}}, sampling="upsample", max_repeats=5,
            rehydration={"enabled": True}, token_budget=rehydrated,
        ),
    )  # fmt: skip
    build_mix(r, progress=False)
    t = read_mix("rehydrated", data_root=tmp_path).to_arrow(columns=["id", "repeats", "cluster_size"]).to_pylist()
    first = {x["id"]: x for x in t}
    assert all(first[i]["cluster_size"] == 5 for i in big if i in first)
    assert all(x["cluster_size"] == 1 for x in t if x["id"] not in big)
    assert {first[i]["repeats"] for i in big} == {5} and {x["repeats"] for x in t if x["id"] not in big} == {1}


def test_recipe_errors_name_the_key(tokenizer, tmp_path):
    good = dict(name="m", tokenizer=str(tokenizer), sources=["current"], languages={"ko": {"share": 1.0}})
    with pytest.raises(ConfigError, match="languages: shares sum to 0.8"):
        load_recipe(None, {**good, "languages": {"ko": {"share": 0.8}}})
    with pytest.raises(ConfigError, match="unknown key"):
        load_recipe(None, {**good, "budget": 5})
    with pytest.raises(ConfigError, match="sampling"):
        load_recipe(None, {**good, "sampling": "shuffle"})
    with pytest.raises(ConfigError, match="token_budget: up-sampling needs a budget"):
        load_recipe(None, {**good, "sampling": "upsample"})
    with pytest.raises(ConfigError, match="languages.ko.sources"):
        load_recipe(None, {**good, "languages": {"ko": {"share": 1.0, "sources": {"paper": 0.7, "report": 0.6}}}})
    with pytest.raises(ConfigError, match="tokenizer"):
        load_recipe(None, {k: v for k, v in good.items() if k != "tokenizer"})
    with pytest.raises(FileNotFoundError, match="tokenizer directory"):
        build_mix(load_recipe(None, {**good, "tokenizer": str(tmp_path / "nope")}), progress=False)


def test_cells_and_the_rest_of_a_language():
    r = load_recipe(
        None,
        dict(name="m", tokenizer="t", sources=["current"],
             languages={"ko": {"share": 0.9, "sources": {"paper": 0.1}}, "en": {"share": 0.1}}),
    )  # fmt: skip
    cells = r.cells()
    assert cells == [("en", REST, pytest.approx(0.1)), ("ko", "paper", pytest.approx(0.09)),
                     ("ko", REST, pytest.approx(0.81))]  # fmt: skip


def test_cell_repeats_hits_the_target_within_one_document():
    rng = np.random.default_rng(0)
    tokens = rng.integers(50, 500, size=2000)
    u = P.uniform(P.draw_keys(P.id_hash(str(i) for i in range(2000)), seed=3))
    w = np.ones(2000)
    for target in (10_000, int(tokens.sum() * 0.37), int(tokens.sum() * 2.5)):
        rows = P.cell_repeats(tokens, u, w, target, cap=4)
        assert abs(int(np.dot(tokens, rows)) - target) <= tokens.max()
        assert rows.max() <= 4
    assert P.cell_repeats(tokens, u, w, 10 * int(tokens.sum()), cap=4).tolist() == [4] * 2000  # saturates at cap


def test_rehydration_weight_table_is_fineweb2s():
    sizes = np.array([1, 2, 3, 4, 5, 99, 100, 999, 1000, 50_000])
    table = load_recipe(None, dict(name="m", tokenizer="t", sources=["x"], languages={"ko": {"share": 1.0}}))
    got = P.rehydration_weights(sizes, table.rehydration.table()).tolist()
    assert got == [1, 2, 3, 3, 5, 5, 8, 8, 1, 1]


def test_report_on_a_mix_shows_target_vs_achieved_and_counts(corpus, tokenizer, capsys):
    from dataflow.cli import main
    from dataflow.reports.mix import build_mix_report, render_mix_html, render_mix_markdown

    root, rows = corpus
    tokens = TokenCounter(tokenizer).count([r["text"] for r in rows])
    en_tokens = int(sum(t for t, r in zip(tokens, rows, strict=True) if r["language"] == "en"))
    budget = round(2 * 1.2 * en_tokens)  # half English: 1.2x what the corpus has, so English repeats
    assert int(tokens.sum()) - en_tokens > budget / 2  # ... and Korean has more than its half: some left out
    build_mix(recipe(root, tokenizer, name="reported", seed=2, sampling="upsample", max_repeats=2, token_budget=budget,
                     languages={"ko": {"share": 0.5}, "en": {"share": 0.5}}), progress=False)  # fmt: skip
    snap = read_mix("reported", data_root=root)
    rep = build_mix_report(snap.summary, snap.snapshot_id, snap.tags)
    by = {r.key: r for r in rep.languages}
    assert set(by) == {"ko", "en"} and all(abs(r.error_pp) < 0.5 for r in rep.languages)
    table = snap.to_arrow(columns=["id", "language", "repeats", "n_tokens", "n_bytes"]).to_pylist()
    en_rows = [r for r in table if r["language"] == "en"]
    assert by["en"].mix_rows == len(en_rows) and by["en"].mix_tokens == sum(r["n_tokens"] for r in en_rows)
    assert by["en"].mix_bytes == sum(r["n_bytes"] for r in en_rows)
    # English is the scarce half: repeated (twice at most); Korean is plentiful: some left out, none repeated
    assert by["en"].docs_repeated == len({r["id"] for r in en_rows if r["repeats"] == 2}) > 0
    assert by["ko"].docs_repeated == 0 and by["ko"].docs_left_out > 0
    assert by["ko"].docs_used + by["ko"].docs_left_out == sum(1 for r in rows if r["language"] == "ko")

    assert main(["report", "--mix", "reported", "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "MIX REPORT  reported" in out and "BY LANGUAGE" in out and "50.00%" in out and "pp" in out
    assert "| en |" in render_mix_markdown(rep) and "<svg" in render_mix_html(rep)
    assert main(["report", "--mix", "no-such-mix", "--data-root", str(root)]) == 2
    assert "no tag or branch 'no-such-mix'" in capsys.readouterr().err


def test_mix_verb_builds_and_refuses_a_moved_tag(corpus, tokenizer, tmp_path, capsys):
    import yaml

    from dataflow.cli import main

    root, _ = corpus
    path = tmp_path / "mix.yaml"
    languages = {"ko": {"share": 0.9}, "en": {"share": 0.1}}
    path.write_text(yaml.safe_dump(dict(name="cli-mix", tokenizer=str(tokenizer), sources=["corpus-a"],
                                        data_root=str(root), languages=languages)))  # fmt: skip
    assert main(["mix", str(path), "--seed", "4"]) == 0
    captured = capsys.readouterr()
    assert "MIX REPORT  cli-mix" in captured.out and "cpt.data.snapshot=cli-mix" in captured.err
    assert main(["mix", str(path), "--seed", "4"]) == 0 and "already committed" in capsys.readouterr().err
    assert main(["mix", str(path), "--seed", "5"]) == 2  # another seed under the same name: refused, named
    assert "tag 'cli-mix' already names mix snapshot" in capsys.readouterr().err
    assert json.loads(read_mix("cli-mix", data_root=root).summary["dataflow.mix_recipe"])["seed"] == 4


def test_training_reads_a_mix_like_any_snapshot(corpus, tokenizer):
    """What CPT does with `cpt.data.snapshot=<mix tag>`, `cpt.data.namespace=mixes`: open, pack, record lineage."""
    import dataclasses

    from training import config as tconfig
    from training import data as tdata

    if "namespace" not in {f.name for f in dataclasses.fields(tconfig.DataSpec)}:
        pytest.skip("training's DataSpec has no namespace field yet (issue 16 adds it)")
    root, _ = corpus
    result = build_mix(recipe(root, tokenizer, seed=1), progress=False)
    spec = tconfig.DataSpec(snapshot="mix-test", data_root=str(root), namespace="mixes", seq_len=32)
    snap = tdata.open_stage_snapshot(spec, "cpt")
    assert snap.snapshot_id == result.snapshot_id
    lineage = tdata.snapshot_lineage(snap, spec, "cpt")
    assert lineage["snapshot_run_id"] == result.mix_id and lineage["table"] == "mixes.documents"
    counter = TokenCounter(tokenizer)
    stream = tdata.PackedStream(snap, counter.tokenizer, 32)
    row = next(iter(stream))
    assert row["input_ids"].shape[0] == 32
    first = next(tdata.snapshot_texts(snap))
    assert first == snap.to_arrow(columns=["text"]).column("text")[0].as_py()


@pytest.mark.slow
def test_cpt_trains_on_a_mix_and_names_it_in_lineage(corpus, tokenizer, tmp_path):
    """The tiny recipe's CPT, pinned to a mix by tag: lineage.json carries the mix's snapshot and id."""
    import dataclasses

    from training import config as tconfig

    if "namespace" not in {f.name for f in dataclasses.fields(tconfig.DataSpec)}:
        pytest.skip("training's DataSpec has no namespace field yet (issue 16 adds it)")
    from training.cpt import run_cpt
    from training.data import read_lineage

    root, _ = corpus
    result = build_mix(recipe(root, tokenizer, seed=1), progress=False)
    recipe_path = ROOT / "training" / "recipes" / "tiny-cpu.yaml"
    sets = [f"cpt.data.data_root={root}", "cpt.data.snapshot=mix-test", "cpt.data.namespace=mixes",
            f"cpt.args.output_dir={tmp_path}", "cpt.args.max_steps=2", "cpt.args.save_steps=2"]  # fmt: skip
    plan = tconfig.load_recipe(recipe_path, sets)
    run_cpt(plan.cpt, None, plan.name)
    lineage = read_lineage(tmp_path / "final")
    assert lineage["snapshot_id"] == str(result.snapshot_id) and lineage["snapshot_run_id"] == result.mix_id
    assert lineage["snapshot_tags"] == ["mix-test"] and lineage["table"] == "mixes.documents"
