"""Language identification with fastText lid.176, loaded offline from a configured path.

datatrove's ``LanguageFilter`` downloads lid.176 from a URL on first use (no network at run time),
and it keeps a document when *any* kept language scores above the threshold. This stage calls
the same model the way datatrove's ``FastTextLID.predict`` does (newlines replaced by spaces,
whole text at once: fastText averages word and n-gram vectors over the text, so a Korean
article with English terms stays Korean), but asks only for the top label and reads the model
from ``LangIdConfig.model_path``, which has no default: a config names it.

Every document gets ``Meta.LANGUAGE`` (lid.176's label, ISO 639-1 where one exists: 'ko',
'en', 'ja') and ``Meta.LANGUAGE_SCORE``, dropped ones too, so reports can show what was
removed. Drops: ``language_not_kept`` (top label not in ``languages``) and
``low_language_score`` (below ``min_scores[lang]``, else ``min_score``).

The model loads lazily, once per process, into a module-level cache: stages are pickled to
worker processes and must not carry the loaded model with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datatrove.data import Document

from dataflow.config import LangIdConfig
from dataflow.document import Meta
from dataflow.stages.base import Stage

_MODELS: dict[str, Any] = {}  # model path -> loaded fastText model, per process
_LABEL_PREFIX = "__label__"


def check_model_path(model_path: str) -> Path:
    """The model file as a Path, or a clear error naming the config key."""
    if not model_path:
        raise ValueError("langid.model_path is empty: name a fastText lid.176 file (`make setup` puts one in models/)")
    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"langid.model_path {model_path!r} does not exist (run `make setup` or fix the path)")
    return path


def load_model(model_path: str) -> Any:
    """The fastText model at ``model_path``, loaded once per process."""
    model = _MODELS.get(model_path)
    if model is None:
        from fasttext.FastText import _FastText  # the class datatrove uses; fasttext.load_model only adds a warning

        model = _MODELS[model_path] = _FastText(str(check_model_path(model_path)))
    return model


def predict_language(text: str, model_path: str) -> tuple[str, float]:
    """(top language, its probability) for ``text``; fastText needs one line, so newlines become spaces."""
    labels, scores = load_model(model_path).predict(text.replace("\n", " "), k=1)
    if not labels:  # fastText returns nothing for text it cannot featurize
        return "", 0.0
    return labels[0].removeprefix(_LABEL_PREFIX), min(float(scores[0]), 1.0)  # softmax rounding can exceed 1


def language_verdict(lang: str, score: float, cfg: LangIdConfig) -> str | None:
    """The drop reason for a prediction under ``cfg``, or None to keep."""
    if lang not in cfg.languages:
        return "language_not_kept"
    if score < cfg.min_scores.get(lang, cfg.min_score):
        return "low_language_score"
    return None


class LangIdStage(Stage):
    """Record language and score on every document; drop languages not kept and unsure predictions."""

    name = "langid"

    def __init__(self, cfg: LangIdConfig) -> None:
        super().__init__()
        check_model_path(cfg.model_path)  # fail when the pipeline is built, not on the first document
        self.cfg = cfg

    def apply(self, doc: Document) -> str | None:
        lang, score = predict_language(doc.text, self.cfg.model_path)
        doc.metadata[Meta.LANGUAGE] = lang
        doc.metadata[Meta.LANGUAGE_SCORE] = score
        return language_verdict(lang, score, self.cfg)
