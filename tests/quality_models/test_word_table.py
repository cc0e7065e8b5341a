"""The default quality model's word table (dataflow.stages.quality_kernel) against fastText's predict on real text."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataflow.stages import quality_model as qm
from quality_models import classifier, quality_data

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "quality.bin"
# held-out sources (most unknown words: law text, comments, patents, forum posts) and two training ones
SOURCES = ["konlpy_law_bills", "news_comments", "en_patents", "wcxb_forum_sites_b", "nsmc_reviews", "korquad_wiki"]


def test_default_model_word_table_scores_equal_fasttexts(testdata):
    if not DEFAULT_MODEL.is_file():
        pytest.skip(f"{DEFAULT_MODEL} missing: run `make setup` first")
    model = classifier.load(DEFAULT_MODEL)
    texts = [e.text for e in quality_data.build_examples(testdata.resolve(), sources=SOURCES)]
    assert len(texts) > 2000
    lines = [qm.prepare(t, 20_000) for t in texts]
    vocab = set(model.get_words())
    tokens = [w for line in lines for w in line.split()]
    assert sum(w not in vocab for w in tokens) > len(tokens) / 20  # unknown words' n-grams are exercised
    labels, probs = model.predict(lines, k=2)
    expected = [float(dict(zip(lab, p, strict=True))[qm.HQ]) for lab, p in zip(labels, probs, strict=True)]
    table = qm.word_table(model)
    assert table is not None  # the default model collapses: the stage scores with the table
    # fastText reports p + 1e-5; the rest is float32 (fastText) against float64 (the table) rounding
    assert table.scores(lines) == pytest.approx(expected, abs=2e-5)


def test_default_model_raw_text_scores_equal_prepared_lines(testdata):
    """The stage's path (``text_scores``: ``prepare`` done in the kernel on the raw text) against the table on
    ``prepare``'s lines, on real documents (newlines, '?', '!', both scripts) whole and cut short; and the
    UTF-8 sizes it reports."""
    if not DEFAULT_MODEL.is_file():
        pytest.skip(f"{DEFAULT_MODEL} missing: run `make setup` first")
    table = qm.word_table(classifier.load(DEFAULT_MODEL))
    texts = [e.text for e in quality_data.build_examples(testdata.resolve(), sources=SOURCES)]
    assert sum("\n" in t for t in texts) > 100 and sum("?" in t or "!" in t for t in texts) > 100
    for max_chars in (20_000, 200):
        values, nbytes = table.text_scores(texts, max_chars)
        assert values == table.scores([qm.prepare(t, max_chars) for t in texts])
        assert nbytes == [len(t[:max_chars].encode("utf-8")) for t in texts]  # the sizes the stage counts
