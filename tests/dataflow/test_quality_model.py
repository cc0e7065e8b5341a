"""The model-based quality stage with a tiny model trained here: scores, drops, version, pickling, config errors."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datatrove.data import Document

from dataflow.config import QualityModelConfig, load_config
from dataflow.document import Meta
from dataflow.records import document_row, reject_row
from dataflow.reports.quality_scores import score_rows
from dataflow.reports.render_html import render_html
from dataflow.reports.render_markdown import render_markdown
from dataflow.reports.render_text import render_text
from dataflow.stages import quality_model as qm
from dataflow.stages.quality_model import LOW_QUALITY_SCORE, QualityModelStage
from quality_models import classifier
from schemas import DOCUMENTS, REJECTS

GOOD = [
    "대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다. "
    "국가는 개인이 가지는 불가침의 기본적 인권을 확인하고 보장할 의무를 진다.",
    "The committee published its annual report on Tuesday, describing how the new rules changed "
    "funding for local schools.",
    "광합성은 식물이 빛 에너지를 이용하여 이산화 탄소와 물로부터 포도당을 합성하는 과정이다. "
    "이 과정에서 산소가 부산물로 만들어진다.",
    "The patent describes a heat exchanger in which the coolant flows through a helical channel "
    "formed in the housing wall.",
]
BAD = [
    "ㅋㅋㅋㅋ 개웃기네 진짜 ㅋㅋ 이거 실화냐 ㅋㅋㅋ 대박",
    "lol this is so bad omg who even watches this trash lmao",
    "무직자대출 당일대출 저신용대출 비상금대출 지금 바로 클릭 지금 바로 클릭",
    "click here click here best price buy now free shipping buy now",
]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A tiny model trained on the planted texts (repeated so fastText sees enough lines).

    Trained by the real command in a fresh process: fastText's training came out different (once
    with a NaN loss) in a process that had run PyMuPDF or the LID evaluation before, so a test
    model must not depend on which tests ran first."""
    out = tmp_path_factory.mktemp("qm")
    rows = [{"text": t, "label": 1} for t in GOOD] * 30 + [{"text": t, "label": 0} for t in BAD] * 30
    data = out / "planted.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    cmd = [sys.executable, "-m", "quality_models.train", "--data", str(data), "--out", str(out), "--epoch", "25"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=Path(__file__).resolve().parents[2])
    (path,) = out.glob("quality-*.bin")
    card = {"score_quantiles": {"0.5": 0.5, "0.9": 0.97}}
    path.with_suffix(".json").write_text(json.dumps(card))
    return path


def run(stage, texts):
    docs = [
        Document(text=t, id=str(i), metadata={Meta.LANGUAGE: "ko", Meta.SOURCE_KIND: "web"})
        for i, t in enumerate(texts)
    ]
    return list(stage.run(docs))


def test_planted_good_kept_and_bad_dropped_with_reason(model_path):
    stage = QualityModelStage(QualityModelConfig(enabled=True, model_path=str(model_path)))
    docs = run(stage, GOOD + BAD)
    kept = [d for d in docs if d.metadata.get(Meta.OUTCOME, "kept") == "kept"]
    dropped = [d for d in docs if d.metadata.get(Meta.OUTCOME) == "dropped"]
    assert [d.text for d in kept] == GOOD
    assert [d.text for d in dropped] == BAD
    assert all(d.metadata[Meta.REASON] == LOW_QUALITY_SCORE for d in dropped)
    assert all(d.metadata[Meta.QUALITY_SCORE] >= 0.5 for d in kept)
    assert all(d.metadata[Meta.QUALITY_MODEL] == model_path.stem for d in docs)  # every document, dropped too
    assert not any(qm._PENDING in d.metadata for d in docs)  # the batch's hand-over key is gone
    scored = [qm.score(t, str(model_path), 20_000) for t in GOOD + BAD]
    assert [d.metadata[Meta.QUALITY_SCORE] for d in docs] == pytest.approx(scored)  # batched == one by one
    assert model_path.stem.startswith("quality-") and len(model_path.stem) == len("quality-") + 12
    rows = stage.ledger.to_rows("t")
    assert sum(r["docs_in"] for r in rows if r["reason"] == LOW_QUALITY_SCORE) == len(BAD)


def test_score_only_drops_nothing(model_path):
    stage = QualityModelStage(QualityModelConfig(enabled=True, model_path=str(model_path), filter=False))
    docs = run(stage, BAD)
    assert all(d.metadata.get(Meta.OUTCOME, "kept") == "kept" for d in docs)
    assert all(d.metadata[Meta.QUALITY_SCORE] < 0.5 for d in docs)


def test_stage_scores_equal_fasttexts_hq_probability(model_path):
    """The scorer reads P(hq) off the top label only; fastText's own two-label answer is the reference."""
    model = classifier.load(model_path)
    labels, probs = model.predict([qm.prepare(t, 20_000) for t in GOOD + BAD], k=2)
    expected = [min(1.0, float(dict(zip(lab, p, strict=True))[qm.HQ])) for lab, p in zip(labels, probs, strict=True)]
    got = [qm.score(t, str(model_path), 20_000) for t in GOOD + BAD]
    # fastText reports exp(log(p + 1e-5)) per label, so 1 - P(lq) lies 2e-5 below P(hq)
    assert got == pytest.approx(expected, abs=3e-5)
    assert classifier.scores(model, GOOD + BAD) == pytest.approx(expected, abs=3e-5)


def _fasttext_hq(model, lines):
    """fastText's own P(hq) for prepared lines: its two-label answer (each reported as p + 1e-5)."""
    labels, probs = model.predict(lines, k=2)
    return [float(dict(zip(lab, p, strict=True))[qm.HQ]) for lab, p in zip(labels, probs, strict=True)]


# unknown words in both scripts (their n-grams hashed here), a 4-byte emoji, label-like tokens (fastText
# skips them), a literal </s> (fastText's line ends there), every separator fastText splits on (tab, CR,
# VT, FF, NUL) and two it does not (NBSP and the ideographic space are inside a token), one long unknown
# token, and nothing at all
TRICKY = [
    "불가침의 기본적인권을 확인했다는 보고서가 발간되었다 😀 ㅋㅋㅋ",
    "The hydrodynamically-stabilised exchanger's coolant (patent EP1234567B1) flows",
    "__label__hq __label__lq __label__elsewhere good report",
    "the annual report</s> was <s>struck</s> </s> ㅋㅋㅋ lol trash",  # fastText stops at a literal </s> token
    "tab\tcr\rvt\x0bff\x0cnul\x00end",
    "nbsp\xa0inside ideographic\u3000space",
    "가" * 300 + "x" * 500,
    "",
]


def test_word_table_scores_are_fasttexts(model_path):
    """The collapsed model (quality_kernel) against fastText's predict on text the tiny model never saw."""
    model = classifier.load(model_path)
    lines = [qm.prepare(t, 20_000) for t in GOOD + BAD + TRICKY]
    table = qm.word_table(model)
    assert table is not None
    # fastText reports p + 1e-5 for each label; the table's figure is p
    assert table.scores(lines) == pytest.approx(_fasttext_hq(model, lines), abs=2e-5)
    with pytest.raises(ValueError, match="newline"):
        table.scores(["two\nlines"])


# what prepare() changes or counts: newlines (one, several, CRLF, trailing), '?', '!', '.', tabs, non-ASCII
# (2-, 3- and 4-byte characters), the label prefix, a literal </s> after a newline, empty and blank texts
RAW = [
    "첫 줄입니다.\n둘째 줄?\n\n셋째!!! 끝.",
    "line one\r\nline two\r\n\ttabbed? yes! done.\n",
    "\n\n\n",
    " ",
    "ünïcödé ・ 가나다 😀😀 ?!.",
    "report\n</s> never read after the literal end token",
    "__label__hq\n__label__lq",
]


def test_word_table_prepares_raw_text_in_the_kernel(model_path):
    """``text_scores`` on raw text gives exactly the floats of ``scores`` on ``prepare``'s lines, texts cut by
    max_chars included (the cut lands inside a word, on a newline, inside a 4-byte character's text); the
    UTF-8 size of each cut text comes with them."""
    table = qm.word_table(classifier.load(model_path))
    texts = GOOD + BAD + TRICKY + RAW + ["\n".join(GOOD + BAD) * 5]
    for max_chars in (20_000, 37, 5, 1, 0):
        prepared = [qm.prepare(t, max_chars) for t in texts]
        values, nbytes = table.text_scores(texts, max_chars)
        assert values == table.scores(prepared), max_chars
        assert nbytes == [len(t[:max_chars].encode("utf-8")) for t in texts], max_chars
    assert table.text_scores([], 20_000) == ([], [])


def test_stage_counts_sizes_measured_by_the_kernel_as_doc_size_would(model_path):
    """The ledger's bytes and characters, and datatrove's counters and timer (per batch), with the sizes from
    the kernel: the same as ``doc_size`` per document, for uncut, cut (over max_chars) and empty texts, and a
    document dropped upstream passing uncounted."""
    cfg = QualityModelConfig(enabled=True, model_path=str(model_path), max_chars=40)
    texts = [GOOD[0], GOOD[1], BAD[0], "", "짧은 글\n둘째 줄?", "😀 four-byte " * 5]
    docs = [
        Document(text=t, id=str(i), metadata={Meta.LANGUAGE: "ko", Meta.SOURCE_KIND: "web"})
        for i, t in enumerate(texts)
    ]
    upstream = Document(text="dropped before", id="u", metadata={Meta.OUTCOME: "dropped", Meta.REASON: "x"})
    stage = QualityModelStage(cfg)
    out = list(stage.run(docs[:3] + [upstream] + docs[3:]))
    assert out[3] is upstream and upstream.metadata[Meta.REASON] == "x"
    assert all(Meta.QUALITY_SCORE in d.metadata for d in out[:3] + out[4:])
    assert len(texts[0]) > 40 and len(texts[-1]) > 40  # cut for scoring, counted whole
    rows = stage.ledger.to_rows("t")
    assert sum(r["docs_in"] for r in rows) == len(texts)
    assert sum(r["chars_in"] for r in rows) == sum(map(len, texts))
    assert sum(r["bytes_in"] for r in rows) == sum(len(t.encode()) for t in texts)
    # one document a run: 😀 is 4 UTF-8 bytes, Hangul 3, ASCII 1
    by_hand = {"": 0, "짧은 글\n둘째 줄?": 3 * 3 + 1 + 1 + 2 * 3 + 1 + 3 + 1, "😀 four-byte " * 5: 5 * (4 + 11)}
    for text, size in by_hand.items():
        one = QualityModelStage(cfg)
        list(one.run([Document(text=text, id="1", metadata={Meta.LANGUAGE: "ko"})]))
        assert [(r["bytes_in"], r["chars_in"]) for r in one.ledger.to_rows("t")] == [(size, len(text))]
    assert (
        stage.stats["total"].total == len(texts) and stage.stats["forwarded"].total + stage.stats["dropped"].total == 6
    )
    assert stage.stats.time_stats.n == 1 and stage.stats.time_stats.unit == "batch"  # one batch, scoring timed too
    assert "total" not in QualityModelStage(cfg).stats.stats  # no counter before a live document
    idle = QualityModelStage(cfg)
    assert list(idle.run([upstream])) == [upstream] and "total" not in idle.stats.stats


@pytest.mark.parametrize("history", [[], [1, 1], [3], [0, 2], [0.5]])
def test_add_ones_equals_updates_one_by_one(history):
    """One step where Welford's fields come out the same (mean exactly 1 or nothing yet, int total), else the
    updates themselves: every field equal to 7 updates by 1 after the same history."""
    from datatrove.utils.stats import MetricStats

    from dataflow.stages.base import add_ones

    bulk, each = MetricStats(), MetricStats()
    for x in history:
        bulk.update(x)
        each.update(x)
    add_ones(bulk, 7)
    for _ in range(7):
        each.update(1)
    assert vars(bulk) == vars(each)
    assert [type(v) for v in vars(bulk).values()] == [type(v) for v in vars(each).values()]


def test_batched_accounting_equals_one_document_at_a_time(model_path):
    """The stage's batch path (``process_batch``) against the base class's contract applied one document at
    a time (``stat_update("total")`` then ``process``): the same counters, in the same key order, and the
    same ledger rows, with kept and dropped documents interleaved."""
    cfg = QualityModelConfig(enabled=True, model_path=str(model_path))
    texts = [BAD[0], GOOD[0], BAD[1], GOOD[1], GOOD[2], BAD[2]]

    def docs():
        return [Document(text=t, id=str(i), metadata={Meta.LANGUAGE: "ko"}) for i, t in enumerate(texts)]

    batched = QualityModelStage(cfg)
    list(batched.run(docs()))
    single = QualityModelStage(cfg)
    for doc in docs():
        single.stat_update("total")
        single.process(doc)
    assert (
        list(batched.stats.stats)
        == list(single.stats.stats)
        == ["total", "dropped", "dropped_low_quality_score", "forwarded"]
    )
    assert batched.stats.stats.to_dict() == single.stats.stats.to_dict()
    assert batched.ledger.to_rows("t") == single.ledger.to_rows("t")


def test_kernel_features_are_prepares_features():
    """The kernel's feature values (``quality_kernel._features`` on the counts) against ``features`` on texts
    built with those counts, across bucket edges: lengths up to 20,000 characters, each mark from none to
    most of the text."""
    from dataflow.stages.quality_kernel import _features

    seen = set()
    for chars in (0, 1, 2, 3, 7, 15, 16, 22, 31, 63, 90, 127, 128, 181, 362, 1000, 2047, 2048, 20_000):
        for marks in sorted({0, 1, 2, 3, chars // 7, chars // 3, chars // 2, chars}):
            for newlines, q, e, dots in ((marks, 0, 0, 0), (0, marks, 0, 0), (0, 0, marks, 0), (0, 0, 0, marks)):
                if newlines + q + e + dots > chars:
                    continue
                text = "\n" * newlines + "?" * q + "!" * e + "." * dots
                text += "가" * (chars - len(text))
                values = [int(tok.lstrip("_slqe")) for tok in qm.features(text).split()]
                assert list(_features(chars, newlines, q, e, dots)) == values, (chars, newlines, q, e, dots)
                seen.add(tuple(values))
    assert len(seen) > 40  # many buckets of each feature reached, not one value over and over


def test_word_table_rows_are_fasttexts_subwords(model_path):
    """Each word's rows and margin from fastText's own subword ids and matrices, for the whole vocabulary."""
    model = classifier.load(model_path)
    table = qm.word_table(model)
    hq = model.get_labels().index(qm.HQ)
    out = model.get_output_matrix().astype(np.float64)
    margin = model.get_input_matrix().astype(np.float64) @ (out[hq] - out[1 - hq])
    for w, word in enumerate(model.get_words()):
        ids = model.get_subwords(word)[1]
        assert table.word_rows[w] == len(ids), word
        assert table.word_margin[w] == pytest.approx(margin[ids].sum(), abs=1e-9), word


@pytest.fixture(scope="module")
def quantized_path(model_path, tmp_path_factory):
    """The planted texts' model, product-quantized (``--quantize``): fastText's predict scores it."""
    out = tmp_path_factory.mktemp("qm_ftz")
    cmd = [sys.executable, "-m", "quality_models.train", "--data", str(model_path.parent / "planted.jsonl")]
    cmd += ["--out", str(out), "--epoch", "25", "--quantize"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=Path(__file__).resolve().parents[2])
    (path,) = out.glob("quality-*.ftz")
    return path


def test_a_quantized_model_is_scored_by_fasttext(quantized_path):
    """A product-quantized model has no dense rows to collapse: its scores come from fastText's predict."""
    path = quantized_path
    model = classifier.load(path)
    assert qm.word_table(model) is None
    lines = [qm.prepare(t, 20_000) for t in GOOD + BAD]
    expected = [min(1.0, p) for p in _fasttext_hq(model, lines)]
    assert qm.scores(GOOD + BAD, str(path), 20_000) == pytest.approx(expected, abs=3e-5)


def test_prepare_puts_document_statistics_before_the_one_line_text():
    # "Is it? Yes!\nOk." : 15 characters, n = 16; 2 lines; 1 '?', 1 '!', 1 '.', so ends = 1 + 1 + 1 + 2 = 5
    # sentence length: int(2 log2(16/5 + 1)) = int(4.14) = 4; '?' rate: int(log2(1 + 1000/16)) = int(5.99) = 5,
    # '!' the same; line length: int(log2(16/2 + 1)) = int(3.17) = 3
    assert qm.prepare("Is it? Yes!\nOk.") == "_sl4 _q5 _e5 _ll3 Is it? Yes! Ok."
    assert qm.prepare("Abc\ndef", max_chars=5) == qm.features("Abc\nd") + " Abc d"  # cut first, then prepared
    assert "\n" not in qm.prepare("a\n\nb\n") and "A" in qm.prepare("A")  # one line; case kept


def test_keep_top_fraction_reads_the_model_card(model_path):
    cfg = QualityModelConfig(enabled=True, model_path=str(model_path), keep_top_fraction=0.1)
    assert QualityModelStage(cfg).threshold == 0.97  # quantile 0.9 of the card


def test_rows_carry_score_and_version(model_path):
    stage = QualityModelStage(QualityModelConfig(enabled=True, model_path=str(model_path)))
    good, bad = run(stage, [GOOD[0], BAD[0]])
    row = document_row(good, "r")
    assert set(row) <= set(DOCUMENTS.names) and row["quality_model"] == model_path.stem
    rej = reject_row(bad, "r")
    assert set(rej) == set(REJECTS.names) and rej["quality_score"] == bad.metadata[Meta.QUALITY_SCORE]


def test_stage_pickles_without_the_model(model_path):
    stage = QualityModelStage(QualityModelConfig(enabled=True, model_path=str(model_path)))
    run(stage, GOOD[:1])
    clone = pickle.loads(pickle.dumps(stage))
    assert len(pickle.dumps(stage)) < 50_000
    assert run(clone, GOOD[:1])[0].metadata[Meta.QUALITY_SCORE] > 0.5


@pytest.mark.parametrize(
    ("kw", "err", "match"),
    [
        ({}, ValueError, "quality_model.model_path is empty"),
        ({"model_path": "/nonexistent/q.bin"}, FileNotFoundError, "quality_model.model_path"),
    ],
)
def test_bad_config_is_refused(kw, err, match):
    with pytest.raises(err, match=match):
        QualityModelStage(QualityModelConfig(enabled=True, **kw))


def test_bad_threshold_refused(model_path):
    with pytest.raises(ValueError, match="quality_model.threshold"):
        QualityModelStage(QualityModelConfig(enabled=True, model_path=str(model_path), threshold=2.0))


def test_section_is_off_by_default_and_strict():
    assert load_config().quality_model.enabled is False
    with pytest.raises(ValueError, match="quality_model"):
        load_config(overrides={"quality_model.treshold": 0.3})


@pytest.mark.slow
def test_pipeline_run_records_scores_reason_and_model_version(model_path, tmp_path, lid_model_path):
    from dataflow.run import run_pipeline
    from dataflow.snapshots import read_snapshot

    src = tmp_path / "in"
    src.mkdir()
    lines = [json.dumps({"id": f"g{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(GOOD)]
    lines += [json.dumps({"id": f"b{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(BAD)]
    (src / "docs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    overrides = {
        "read.inputs": [str(src)], "data_root": str(data), "langid.model_path": str(lid_model_path),
        "engine.workers": 1, "quality.english": False, "quality.korean": False, "pii.enabled": False,
        "dedup.near": False, "quality_model.enabled": True, "quality_model.model_path": str(model_path),
    }  # fmt: skip
    result = run_pipeline(load_config(None, overrides))
    assert result.report.accounting_errors == []
    snap = read_snapshot(data_root=data)
    assert snap.summary["dataflow.quality_model"] == model_path.stem
    docs = snap.to_arrow().to_pylist()
    assert docs and all(d["quality_model"] == model_path.stem and d["quality_score"] >= 0.5 for d in docs)
    rejects = read_snapshot(f"run:{result.run_id}", table="rejects", data_root=data).to_arrow().to_pylist()
    low = [r for r in rejects if r["reason"] == LOW_QUALITY_SCORE]
    assert low and all(r["stage"] == "quality_model" and r["quality_score"] < 0.5 for r in low)
    # the report: score distribution of kept and dropped documents per language
    rows = {(r.language, r.outcome): r for r in result.report.quality_scores}
    assert sum(r.docs for (_, o), r in rows.items() if o == "kept") == len(docs)
    assert sum(r.docs for (_, o), r in rows.items() if o == "dropped") >= len(low)
    assert all(r.p50 >= 0.5 for (_, o), r in rows.items() if o == "kept")
    assert "QUALITY-MODEL SCORES" in render_text(result.report)
    assert "## Quality-model scores" in render_markdown(result.report)
    assert "Quality-model scores, kept vs dropped" in render_html(result.report)


def test_score_rows_by_hand():
    rows = score_rows([("ko", "kept", 0.95), ("ko", "kept", 0.85), ("ko", "dropped", 0.05), ("en", "kept", 1.0)])
    assert [(r.language, r.outcome, r.docs) for r in rows] == [
        ("en", "kept", 1),
        ("ko", "kept", 2),
        ("ko", "dropped", 1),
    ]
    ko_kept = rows[1]
    assert ko_kept.mean == pytest.approx(0.9) and ko_kept.histogram[8:] == [1, 1] and sum(ko_kept.histogram) == 2
    assert rows[0].histogram[-1] == 1  # a score of exactly 1.0 falls in the last bin


def test_run_refuses_a_missing_quality_model_before_reading(tmp_path, lid_model_path):
    from dataflow.config import ConfigError
    from dataflow.preflight import check_run_config

    cfg = load_config(
        None,
        {"read.inputs": [str(tmp_path)], "data_root": str(tmp_path / "data"), "langid.model_path": str(lid_model_path),
         "quality_model.enabled": True, "quality_model.model_path": str(tmp_path / "missing.bin")},
    )  # fmt: skip
    with pytest.raises(ConfigError, match="quality_model.model_path"):
        check_run_config(cfg)


def test_a_lone_surrogate_neither_fails_its_batch_nor_the_run(model_path, quantized_path):
    """A lone surrogate (unencodable in UTF-8; normalize removes it, but the stage may run without it) is scored
    by the word table as 3 bytes, as doc_size counts it; under fastText's predict, which refuses it, only that
    document fails, with its error, and the rest of its batch is scored."""
    texts = [GOOD[0], "bad \ud800 text " + BAD[1], BAD[0]]
    stage = QualityModelStage(QualityModelConfig(enabled=True, model_path=str(model_path)))
    docs = run(stage, texts)
    assert [d.metadata.get(Meta.OUTCOME, "kept") for d in docs] == ["kept", "dropped", "dropped"]
    assert sum(r["bytes_in"] for r in stage.ledger.to_rows("t")) == sum(
        len(t.encode("utf-8", "surrogatepass")) for t in texts
    )
    docs = run(QualityModelStage(QualityModelConfig(enabled=True, model_path=str(quantized_path))), texts)
    assert [d.metadata.get(Meta.OUTCOME, "kept") for d in docs] == ["kept", "failed", "dropped"]
    assert docs[1].metadata[Meta.ERROR].startswith("TypeError: multilinePredict")  # pybind11 cannot encode it
    assert docs[0].metadata[Meta.QUALITY_SCORE] > 0.5 > docs[2].metadata[Meta.QUALITY_SCORE]
