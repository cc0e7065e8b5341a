"""Model-based quality filter: a fastText classifier trained by ``quality_models`` scores every document.

DCLM (Li et al. 2024, https://arxiv.org/abs/2406.11794) keeps the top 10% of a fastText
classifier's scores and found it beat every other filter it tried; FineWeb-Edu (Penedo et al.
2024) thresholds a classifier distilled from LLM scores. This stage loads the model by path
(``quality_model.model_path``; ``make setup`` builds the default one, see
docs/quality_model_card.md), records ``Meta.QUALITY_SCORE`` = P(high quality) and
``Meta.QUALITY_MODEL`` = the model's version (its file name, which holds the sha256 of its bytes)
on every document it sees, and drops those under the threshold as ``low_quality_score``.

``keep_top_fraction`` turns a fraction into a threshold through the score quantiles the model card
(``<model>.json`` beside the model, written by ``quality_models.train``) lists for its training
texts: a per-document stage cannot rank a whole run, and the same threshold on every shard keeps
results identical on every engine.

Text preparation (``prepare``: four document-statistics tokens, then the text on one line) is
defined here, once, and ``quality_models`` trains on it, so scoring reads text the way training did.
The word table's kernel does the same work on the raw UTF-8 (``WordTable.text_scores``: the same
floats as scoring ``prepare``'s line, tested on real documents), so the stage does no preparation
in Python; ``prepare`` stays the definition and fastText's ``predict`` path reads it.

Scores come from the model's word table (``quality_kernel``: the two-label softmax collapsed to one
margin per vocabulary word and n-gram bucket), fastText's own P(hq) to float rounding at 3.4-3.7x
the speed of its ``predict``; a model that does not collapse (quantized ``.ftz``, other losses, more
labels, word n-grams) is scored by ``predict``.
"""

from __future__ import annotations

import json
import math
import weakref
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from datatrove.data import Document, DocumentsPipeline

from dataflow.config import QualityModelConfig
from dataflow.document import Meta, is_live
from dataflow.stages.base import Stage

LOW_QUALITY_SCORE = "low_quality_score"
HQ = "__label__hq"
BATCH = 256  # documents per fastText call: one call per document adds Python overhead
_PENDING = "_quality_model_score"  # metadata key carrying a batch's score into apply(), removed there
_MODELS: dict[str, Any] = {}  # model path -> loaded fastText model, per process (stages are pickled)
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loaded model -> its word table (or None)
# the names of features()' four tokens, in their order (the word table scores each value's token by name)
FEATURE_TOKENS = ("_sl", "_q", "_e", "_ll")


def features(text: str) -> str:
    """Document statistics as four tokens: sentence length, '?' and '!' rates, line length (log2 buckets).

    They are computed the same way in both languages, so what Korean reviews and comments show (short
    sentences, many '?'/'!') can carry over to English chatter: without them the default model scores
    0.962 instead of 0.964 on the source-disjoint split (mean of 3 shuffle seeds; BENCHMARKS.md), a small
    gain now that forum pages of half the sites are in training. ``str.count`` runs in C, so the five
    counts over a 2 KB document cost little next to fastText's n-grams.
    """
    t_sl, t_q, t_e, t_ll = FEATURE_TOKENS
    n = len(text) + 1
    lines = text.count("\n") + 1
    q, e = text.count("?"), text.count("!")
    ends = text.count(".") + q + e + lines  # sentence and line ends
    # sentence length in half-log2 buckets (22-31 characters: 9, 90-127: 13); rates per 1,000 characters
    return (
        f"{t_sl}{int(2 * math.log2(n / ends + 1))} {t_q}{min(6, int(math.log2(1 + 1000 * q / n)))} "
        f"{t_e}{min(6, int(math.log2(1 + 1000 * e / n)))} {t_ll}{int(math.log2(n / lines + 1))}"
    )


def prepare(text: str, max_chars: int = 20_000) -> str:
    """The features, then the text on one line, case kept: what fastText reads (it splits tokens on
    whitespace itself, and ``predict`` refuses a newline). Lower-cased, the default model scores 0.954
    instead of 0.964 on the source-disjoint split (BENCHMARKS.md), and one ``str.replace`` is cheaper
    than lowering and re-joining the words."""
    text = text[:max_chars]
    return features(text) + " " + text.replace("\n", " ")


def model_version(model_path: str) -> str:
    """The version recorded for a model: its resolved file name without extension (``quality-<12 hex>``)."""
    return Path(model_path).resolve().stem


def check_config(cfg: QualityModelConfig) -> None:
    """Refuse a bad quality_model section before any input is read."""
    if not cfg.model_path:
        raise ValueError("quality_model.model_path is empty: name a model (`make setup` builds models/quality.bin)")
    if not Path(cfg.model_path).is_file():
        raise FileNotFoundError(f"quality_model.model_path {cfg.model_path!r} does not exist (run `make setup`)")
    if not 0.0 <= cfg.threshold <= 1.0:
        raise ValueError(f"quality_model.threshold must be in [0, 1], got {cfg.threshold!r}")
    if not 0.0 <= cfg.keep_top_fraction < 1.0:
        raise ValueError(f"quality_model.keep_top_fraction must be in [0, 1), got {cfg.keep_top_fraction!r}")
    if cfg.keep_top_fraction:
        top_fraction_threshold(cfg)


def card_path(model_path: str) -> Path:
    return Path(model_path).resolve().with_suffix(".json")


def top_fraction_threshold(cfg: QualityModelConfig) -> float:
    """The score threshold that keeps ``keep_top_fraction`` of the model card's training-text scores."""
    path = card_path(cfg.model_path)
    if not path.is_file():
        raise FileNotFoundError(f"quality_model.keep_top_fraction needs the model card {path} (quality_models.train)")
    quantiles = {float(q): v for q, v in json.loads(path.read_text(encoding="utf-8"))["score_quantiles"].items()}
    want = 1.0 - cfg.keep_top_fraction
    q = min(quantiles, key=lambda x: (abs(x - want), x))  # the listed quantile nearest to 1 - fraction
    return float(quantiles[q])


def load_model(model_path: str) -> Any:
    model = _MODELS.get(model_path)
    if model is None:
        from fasttext.FastText import _FastText  # fasttext.load_model only adds a deprecation warning

        model = _MODELS[model_path] = _FastText(str(model_path))
    return model


def word_table(model: Any) -> Any:
    """The model collapsed to per-word margins (``quality_kernel.collapse``; built once per loaded model,
    ~0.6 CPU-s for the default's 156k words), or None for a model that does not collapse (quantized, more
    labels, another loss): fastText's ``predict`` scores those."""
    if model not in _TABLES:
        from dataflow.stages.quality_kernel import collapse  # numba: imported on first use

        _TABLES[model] = collapse(model, HQ, FEATURE_TOKENS)
    return _TABLES[model]


def scores_and_sizes(model: Any, texts: list[str], max_chars: int) -> tuple[list[float], list[int] | None]:
    """P(high quality) of each text by a loaded fastText model, and the UTF-8 size of each text cut to
    ``max_chars`` where the scorer measured it. The word table where the model has one (the same scores to
    float rounding, 3.4-3.7x faster on 2 KB documents: BENCHMARKS.md "Scoring speed"; ``prepare`` done in
    its kernel on the raw texts, sizes found on the way), else one fastText ``predict`` call for the
    prepared list (sizes None).

    With two labels the top one and its probability say both: P(hq) = p, or 1 - p when the top label
    is the other one (fastText reports p + 1e-5, hence the clamps)."""
    table = word_table(model)
    if table is not None:
        return table.text_scores(texts, max_chars)
    labels, probs = model.predict([prepare(t, max_chars) for t in texts], k=1)
    values = [
        min(1.0, float(p[0])) if lab[0] == HQ else max(0.0, 1.0 - float(p[0]))
        for lab, p in zip(labels, probs, strict=True)
    ]
    return values, None


def predict_scores(model: Any, texts: list[str], max_chars: int) -> list[float]:
    """P(high quality) of each text by a loaded fastText model (``scores_and_sizes``)."""
    return scores_and_sizes(model, texts, max_chars)[0]


def scores(texts: list[str], model_path: str, max_chars: int) -> list[float]:
    """P(high quality) of each text by the model at ``model_path`` (loaded once per process)."""
    return predict_scores(load_model(model_path), texts, max_chars)


def score(text: str, model_path: str, max_chars: int) -> float:
    """P(high quality) of one text."""
    return scores([text], model_path, max_chars)[0]


class QualityModelStage(Stage):
    """Score every document with the quality model; drop those under the threshold."""

    name = "quality_model"

    def __init__(self, cfg: QualityModelConfig) -> None:
        super().__init__()
        check_config(cfg)
        self.cfg = cfg
        self.version = model_version(cfg.model_path)
        self.threshold = top_fraction_threshold(cfg) if cfg.keep_top_fraction else cfg.threshold

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        """Score live documents a batch at a time (one scorer call per ``BATCH``), then run the base
        class's per-document accounting with the score ready and, where the word table measured it, the
        text's size (an uncut, non-empty text's UTF-8 size is the document's: no encode per document).
        Timed per batch (datatrove's time stats in ``batch`` units), scoring included: timing each
        document's accounting alone left the model's time out of the stage's."""
        max_chars = self.cfg.max_chars
        model = load_model(self.cfg.model_path)
        it = iter(data or ())
        while batch := list(islice(it, BATCH)):
            with self.track_time("batch"):
                live = [d for d in batch if is_live(d)]
                texts = [d.text for d in live]
                sizes: list[tuple[int, int] | None] = [None] * len(live)
                try:
                    values, nbytes = scores_and_sizes(model, texts, max_chars)
                except Exception:  # one bad text must not fail its batch: apply() scores each alone, failing only it
                    values, nbytes = [None] * len(live), None
                for doc, value in zip(live, values, strict=True):
                    doc.metadata[_PENDING] = value
                if nbytes is not None:  # an empty text's size is its raw record's, a cut one's is more
                    lengths = map(len, texts)
                    sizes = [(b, n) if 0 < n <= max_chars else None for b, n in zip(nbytes, lengths, strict=True)]
                self.process_batch(live, sizes)
            yield from batch

    def apply(self, doc: Document) -> str | None:
        value = doc.metadata.pop(_PENDING, None)
        if value is None:  # a document scored outside run() (process called directly)
            value = score(doc.text, self.cfg.model_path, self.cfg.max_chars)
        doc.metadata[Meta.QUALITY_SCORE] = value
        doc.metadata[Meta.QUALITY_MODEL] = self.version
        if self.cfg.filter and value < self.threshold:
            return LOW_QUALITY_SCORE
        return None
