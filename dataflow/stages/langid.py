"""Language identification: fastText lid.176 loaded offline, with a Korean-aware decision on top.

datatrove's ``LanguageFilter`` downloads lid.176 from a URL on first use (no network at run time),
and it keeps a document when *any* kept language scores above the threshold. This stage calls
the same model the way datatrove's ``FastTextLID.predict`` does (newlines replaced by spaces,
whole text at once: fastText averages word and n-gram vectors over the text, so a Korean
article with English terms stays Korean) and reads the model from ``LangIdConfig.model_path``,
which has no default: a config names it.

lid.176 alone misreads short informal Korean (95.3% on NSMC reviews; "좋아요.", "ㅋㅋㅋ" and
"잼따" come out English or Japanese) and Hanja-mixed Korean, although the script settles those
cases: Hangul is written by Korean alone, kana by Japanese alone. ``script_decision`` therefore
counts scripts (``script_counts``) and overrides the model only where the script is unambiguous:

* Hangul share of the letters >= ``hangul_min_share`` and kana share < ``kana_max_share``:
  Korean, whatever lid.176 said. Han characters are left out of the share (Korean writes
  Sino-Korean words in Hanja, Chinese and Japanese in Han), and Latin letters count
  1/``latin_per_syllable`` each, because the same content takes 2.3 Latin letters per Hangul
  syllable (4,440 aligned KO/EN news and JHE lines: 402,738 letters / 174,699 syllables), so
  a Korean sentence with English terms is still mostly Korean.
* lid.176 says Korean but the share is under ``ko_keep_min_share`` (an English sentence quoting a
  Korean phrase, a Chinese or Japanese line): the model's best label other than Korean.

The thresholds and the numbers behind them are in BENCHMARKS.md ("Language ID"), measured by
``python -m quality_models.lid_eval``. ``granularity: line`` decides each line on its own and
removes the lines of languages not kept (a Korean page with a Japanese section); the document's
language is then the one with most characters.

Every document gets ``Meta.LANGUAGE`` (lid.176's label, ISO 639-1 where one exists: 'ko',
'en', 'ja') and ``Meta.LANGUAGE_SCORE``, dropped ones too, so reports can show what was
removed. Drops: ``language_not_kept`` (label not in ``languages``) and ``low_language_score``
(below ``min_scores[lang]``, else ``min_score``).

The model loads lazily, once per process, into a module-level cache: stages are pickled to
worker processes and must not carry the loaded model with them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datatrove.data import Document

from dataflow.config import LangIdConfig
from dataflow.document import Meta
from dataflow.stages.base import Stage

_MODELS: dict[str, Any] = {}  # model path -> loaded fastText model, per process
_LABEL_PREFIX = "__label__"
KOREAN = "ko"
LANGUAGE_NOT_KEPT = "language_not_kept"
LOW_LANGUAGE_SCORE = "low_language_score"
GRANULARITIES = ("document", "line")

# Hangul syllables, compatibility jamo (ㅋㅋ, ㅠㅠ) and conjoining jamo (old Hangul)
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]")
_KANA = re.compile(r"[\u3041-\u30ff\u31f0-\u31ff\uff66-\uff9f]")  # hiragana, katakana, half-width katakana
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # CJK ideographs: Hanja, kanji, hanzi
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_LETTER = re.compile(r"[^\W\d_]")  # any letter of any script


@dataclass(frozen=True)
class ScriptCounts:
    """Letters of ``text`` by script (``other`` = letters of every other script: Cyrillic, Thai, ...)."""

    hangul: int
    kana: int
    han: int
    latin: int
    other: int

    def hangul_share(self, latin_per_syllable: float) -> float:
        """Hangul's share of the non-Han letters, a Latin letter weighing 1/``latin_per_syllable``."""
        total = self.hangul + self.kana + self.latin / latin_per_syllable + self.other
        return self.hangul / total if total else 0.0

    def kana_share(self) -> float:
        letters = self.hangul + self.kana + self.han + self.latin + self.other
        return self.kana / letters if letters else 0.0


_SCRIPTS = (_HANGUL, _KANA, _HAN, _LATIN)  # all in the Basic Multilingual Plane, none overlapping (tested)
_BMP = 0x10000


@functools.cache
def _code_table() -> Any:
    """Per BMP code point: 1 + the ``_SCRIPTS`` index it belongs to (0 if none), + 8 if a ``_LETTER``. Built once
    per process by the regexes themselves on every BMP character (~0.02 CPU-s): counting through it is exactly
    counting their matches."""
    import numpy as np

    bmp = "".join(map(chr, range(_BMP)))
    table = np.zeros(_BMP, np.uint8)
    for code, pattern in enumerate(_SCRIPTS, 1):
        table[[m.start() for m in pattern.finditer(bmp)]] += code
    table[[m.start() for m in _LETTER.finditer(bmp)]] += 8
    return table


def script_counts(text: str) -> ScriptCounts:
    """The letters of each script: the matches of ``_HANGUL``, ``_KANA``, ``_HAN``, ``_LATIN`` and ``_LETTER``,
    counted through a per-code-point table in one pass (five regex scans took 0.80 of the stage's 1.76 CPU-s on the
    1,000 bench pages, BENCHMARKS.md)."""
    import numpy as np

    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    tally = np.bincount(_code_table()[np.minimum(points, _BMP - 1)], minlength=16).tolist()  # U+FFFF: code 0
    hangul, kana, han, latin = (tally[code] + tally[code + 8] for code in range(1, 5))
    letters = sum(tally[8:])
    if points.size and points.max() >= _BMP:  # letters beyond the BMP (CJK extensions, math letters) by the regex
        astral = points[points >= _BMP].tobytes().decode("utf-32-le")
        letters += len(_LETTER.findall(astral))
    return ScriptCounts(hangul, kana, han, latin, max(0, letters - hangul - kana - han - latin))


def check_model_path(model_path: str) -> Path:
    """The model file as a Path, or a clear error naming the config key."""
    if not model_path:
        raise ValueError("langid.model_path is empty: name a fastText lid.176 file (`make setup` puts one in models/)")
    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"langid.model_path {model_path!r} does not exist (run `make setup` or fix the path)")
    return path


def check_config(cfg: LangIdConfig) -> None:
    """Refuse a bad langid section before any input is read."""
    check_model_path(cfg.model_path)
    if cfg.granularity not in GRANULARITIES:
        raise ValueError(f"langid.granularity must be one of {GRANULARITIES}, got {cfg.granularity!r}")
    for key in ("hangul_min_share", "ko_keep_min_share", "kana_max_share"):
        if not 0.0 <= getattr(cfg, key) <= 1.0:
            raise ValueError(f"langid.{key} must be in [0, 1], got {getattr(cfg, key)!r}")
    if cfg.latin_per_syllable <= 0:
        raise ValueError("langid.latin_per_syllable must be positive")


def load_model(model_path: str) -> Any:
    """The fastText model at ``model_path``, loaded once per process."""
    model = _MODELS.get(model_path)
    if model is None:
        from fasttext.FastText import _FastText  # the class datatrove uses; fasttext.load_model only adds a warning

        model = _MODELS[model_path] = _FastText(str(check_model_path(model_path)))
    return model


def predict_top(text: str, model_path: str, k: int = 1) -> list[tuple[str, float]]:
    """lid.176's ``k`` best (language, probability) for ``text``; fastText needs one line, so newlines become spaces."""
    labels, scores = load_model(model_path).predict(text.replace("\n", " "), k=k)
    # softmax rounding can exceed 1; fastText returns nothing for text it cannot featurize
    return [(lab.removeprefix(_LABEL_PREFIX), min(float(s), 1.0)) for lab, s in zip(labels, scores, strict=True)]


def predict_language(text: str, model_path: str) -> tuple[str, float]:
    """(top language, its probability) for ``text`` from lid.176 alone."""
    top = predict_top(text, model_path)
    return top[0] if top else ("", 0.0)


def script_decision(top: list[tuple[str, float]], counts: ScriptCounts, cfg: LangIdConfig) -> tuple[str, float]:
    """(language, score) from lid.176's ranked guesses and the text's scripts (rules in the module docstring).

    A script override scores the Hangul share (1.0 for all-Hangul text), or the model's own
    probability when that is higher, so ``min_scores`` keeps its meaning.
    """
    lang, score = top[0] if top else ("", 0.0)
    share = counts.hangul_share(cfg.latin_per_syllable)
    korean_script = share >= cfg.hangul_min_share and counts.kana_share() < cfg.kana_max_share
    if korean_script:
        return KOREAN, max(score, share) if lang == KOREAN else share
    if lang == KOREAN and share < cfg.ko_keep_min_share:
        others = [(lab, s) for lab, s in top if lab != KOREAN]
        return others[0] if others else ("", 0.0)
    return lang, score


def identify(text: str, cfg: LangIdConfig) -> tuple[str, float]:
    """The (language, score) of one text under ``cfg`` (lid.176 alone when ``script_rules`` is off)."""
    if not cfg.script_rules:
        return predict_language(text, cfg.model_path)
    return script_decision(predict_top(text, cfg.model_path, k=2), script_counts(text), cfg)


def identify_lines(text: str, cfg: LangIdConfig) -> tuple[str, float, list[tuple[str, str, float]]]:
    """Line-level: (document language, its score, [(line, language, score)]); lines without letters carry ''.

    The document language is the one with most characters; its score is the character-weighted
    mean of its lines' scores.
    """
    lines, chars, weighted = [], {}, {}
    for line in text.split("\n"):
        # a line with no letter (a date, a number, a rule of dashes) has no language and is never removed
        lang, score = identify(line, cfg) if any(ch.isalpha() for ch in line) else ("", 0.0)
        lines.append((line, lang, score))
        if lang:
            chars[lang] = chars.get(lang, 0) + len(line)
            weighted[lang] = weighted.get(lang, 0.0) + score * len(line)
    if not chars:
        return "", 0.0, lines
    best = max(chars, key=lambda k: (chars[k], k))
    return best, weighted[best] / chars[best], lines


def language_verdict(lang: str, score: float, cfg: LangIdConfig) -> str | None:
    """The drop reason for a prediction under ``cfg``, or None to keep."""
    if lang not in cfg.languages:
        return LANGUAGE_NOT_KEPT
    if score < cfg.min_scores.get(lang, cfg.min_score):
        return LOW_LANGUAGE_SCORE
    return None


class LangIdStage(Stage):
    """Record language and score on every document; drop languages not kept and unsure predictions."""

    name = "langid"

    def __init__(self, cfg: LangIdConfig) -> None:
        super().__init__()
        check_config(cfg)  # fail when the pipeline is built, not on the first document
        self.cfg = cfg

    def apply(self, doc: Document) -> str | None:
        if self.cfg.granularity == "line":
            lang, score, lines = identify_lines(doc.text, self.cfg)
            kept = [line for line, lab, _ in lines if not lab or lab in self.cfg.languages]
            if lang in self.cfg.languages and len(kept) < len(lines):
                doc.text = "\n".join(kept).strip("\n")
        else:
            lang, score = identify(doc.text, self.cfg)
        doc.metadata[Meta.LANGUAGE] = lang
        doc.metadata[Meta.LANGUAGE_SCORE] = score
        return language_verdict(lang, score, self.cfg)
