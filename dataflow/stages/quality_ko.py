"""Korean document quality rules: FineWeb-2's Korean configuration on datatrove's filters.

FineWeb-2 (Penedo et al. 2025, https://arxiv.org/abs/2506.20920) tuned Gopher repetition,
FineWeb quality and Gopher quality thresholds and a stop-word list per language. The Korean
values below are copied from huggingface/fineweb-2 ``configs/kor_Hang.yml`` (commit 05e67295)
and applied the way its ``fineweb-2-pipeline.py`` applies them: paragraph and character
duplicate fractions off, FineWeb's short-line rule off, ``char_duplicates_ratio`` 0.1,
``min_stop_words`` 2, and C4's rules not used.

Fast mode (the default, ``quality.korean_words: fast``): Kiwi's word numbers are estimated from a
cheap Kiwi-like split plus calibrated extra-token tables (``korean_words.py``) and checked on
intervals calibrated against Kiwi (``KIWI_BOUNDS``); Kiwi is asked only when an interval straddles
a threshold and no later rule fails for sure (bench/bench_quality_ko.py: agreement, Kiwi's share
and speed on every Korean test set). Kiwi's answer then goes through the same rule chain
(``korean_rules`` on exact numbers, equal to datatrove's filters: tests).

Kiwi mode: words are Kiwi morphemes (kiwipiepy), as in FineWeb-2, through datatrove's
``KiwiTokenizer`` with ``model_type="cong"`` (datatrove asks for "sbg", which kiwipiepy 0.24 no longer ships).
The three filters split the same text into words; datatrove's ``split_into_words`` caches the
last few results per (text, tokenizer), so one ``KoreanQualityStage`` tokenizes each document
once. Kiwi takes 2-4 s to load, so it is loaded lazily, once per process, outside the pickled
stage.

Reasons are datatrove's own, under the stage name ``quality_ko``: ``gopher_short_doc`` (checked
first), ``dup_line_frac``, ``top_2_gram``, ``duplicated_5_n_grams``, ``line_punct_ratio``,
``char_dup_ratio``, ``list_ratio``, ``gopher_below_alpha_threshold``,
``gopher_enough_stop_words``, ... Signals recorded in ``Meta.QUALITY_SIGNALS`` for every Korean
document (kept or not): ``ko_hangul_ratio``, ``ko_words``, ``ko_mean_word_length``,
``ko_dup_line_frac``, ``ko_line_punct_ratio``, ``ko_stop_words``.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter
from datatrove.utils.text import PUNCTUATION_SET, split_into_words
from datatrove.utils.word_tokenizers import KiwiTokenizer

from dataflow.document import Meta
from dataflow.stages.base import Stage
from dataflow.stages.korean_words import (
    EXACT,
    HANGUL_CHARS,
    UNSURE,
    Bounds,
    Lines,
    chunks,
    estimate,
    korean_rules,
    line_stats,
    set_stop_words,
    totals,
    word_stats,
)

_STOPWORDS = "의 다 이 는 에 을 한 년 하 은 를 했 고 에서 가 있 으로 인 월 로 되"
# huggingface/fineweb-2 configs/kor_Hang.yml @ 05e6729567a5df985fbd814e862c48f796feb09f
KOR_HANG = {
    "dup_line_frac": 0.374,
    "dup_n_grams": ((5, 0.201), (6, 0.184), (7, 0.168), (8, 0.154), (9, 0.14), (10, 0.127)),
    "language_score": 0.842,  # on GlotLID; used as LangIdConfig.min_scores["ko"]
    "line_punct_thr": 0.062,
    "max_avg_word_length": 6,
    "max_non_alpha_words_ratio": 0.791,
    "min_avg_word_length": 1,
    "new_line_ratio": 0.196,
    # the "the, of, is" of Korean: particles and endings as Kiwi splits them
    "stopwords": tuple(_STOPWORDS.split()),
    "top_n_grams": ((2, 0.282), (3, 0.228), (4, 0.185)),
}

# Every threshold the chain applies, in one place: KOR_HANG plus the settings fineweb-2-pipeline.py
# passes to the three filters (the rest are datatrove's defaults); korean_filters builds the same chain
RULES: dict[str, Any] = {
    "min_doc_words": 50,
    "max_doc_words": 100_000,
    "dup_line_frac": KOR_HANG["dup_line_frac"],
    "top_n_grams": KOR_HANG["top_n_grams"],
    "dup_n_grams": KOR_HANG["dup_n_grams"],
    "line_punct_thr": KOR_HANG["line_punct_thr"],
    "char_duplicates_ratio": 0.1,
    "new_line_ratio": KOR_HANG["new_line_ratio"],
    "min_avg_word_length": KOR_HANG["min_avg_word_length"],
    "max_avg_word_length": KOR_HANG["max_avg_word_length"],
    "max_symbol_word_ratio": 0.1,
    "max_bullet_lines_ratio": 0.9,
    "max_ellipsis_lines_ratio": 0.3,
    "max_non_alpha_words_ratio": KOR_HANG["max_non_alpha_words_ratio"],
    "stop_words": frozenset(KOR_HANG["stopwords"]),
    "min_stop_words": 2,
}
WORD_MODES = ("fast", "kiwi")  # quality.korean_words: the calibrated fast split (default) or Kiwi on every document
_TOP_NS = tuple(n for n, _ in KOR_HANG["top_n_grams"])
_DUP_NS = tuple(n for n, _ in KOR_HANG["dup_n_grams"])
set_stop_words(KOR_HANG["stopwords"])  # the fast chunks record these as bit masks

_KIWI: dict[str, Any] = {}  # model type -> loaded Kiwi, per process


class SharedKiwiTokenizer(KiwiTokenizer):
    """datatrove's KiwiTokenizer with the shipped "cong" model, one Kiwi per process, never pickled."""

    def __init__(self, model_type: str = "cong") -> None:
        super().__init__(model_type=model_type)

    @property
    def tokenizer(self) -> Any:
        kiwi = _KIWI.get(self.model_type)
        if kiwi is None:
            from kiwipiepy import Kiwi

            with warnings.catch_warnings():  # kiwipiepy warns that 0 now means one thread, which is what we want
                warnings.simplefilter("ignore", DeprecationWarning)
                # one thread: the engine runs one process per core (the default, None, starts a thread per core)
                kiwi = _KIWI[self.model_type] = Kiwi(model_type=self.model_type, num_workers=0)
        return kiwi


def korean_signals(
    text: str,
    n_words: float,
    mean_length: float,
    stop_words: int,
    hangul_ratio: float | None = None,
    lines: Lines | None = None,
) -> dict[str, float]:
    """Cheap statistics of a Korean document for reports and later tuning; the word numbers are Kiwi's
    (Kiwi mode) or their fast-mode estimates, the Hangul ratio the fast chunks' and ``lines`` the rule
    chain's ``line_stats`` when given."""
    if hangul_ratio is None:
        visible = len("".join(text.split()))  # characters that are not whitespace
        hangul_ratio = len(HANGUL_CHARS.findall(text)) / max(visible, 1)
    lines = line_stats(text) if lines is None else lines
    return {
        "ko_hangul_ratio": hangul_ratio,
        "ko_words": float(n_words),
        "ko_mean_word_length": float(mean_length),
        "ko_dup_line_frac": lines.dup_lines / max(lines.n, 1),
        "ko_line_punct_ratio": lines.punct / max(lines.n, 1),
        "ko_stop_words": float(stop_words),
    }


def korean_filters(tokenizer: SharedKiwiTokenizer) -> list[Any]:
    """FineWeb-2's Korean filter chain, in its order (fineweb-2-pipeline.py, step 5)."""
    c = KOR_HANG
    return [
        GopherRepetitionFilter(
            language=tokenizer,
            dup_para_frac=0,  # FineWeb-2: trafilatura removes paragraphs; line rules cover it
            dup_line_char_frac=0,
            dup_para_char_frac=0,
            dup_line_frac=c["dup_line_frac"],
            top_n_grams=c["top_n_grams"],
            dup_n_grams=c["dup_n_grams"],
        ),
        FineWebQualityFilter(
            language=tokenizer,
            short_line_thr=999,  # FineWeb-2 disables the short-line rule
            char_duplicates_ratio=0.1,  # FineWeb-2: 0.1 instead of FineWeb English's 0.01
            line_punct_thr=c["line_punct_thr"],
            new_line_ratio=c["new_line_ratio"],
        ),
        GopherQualityFilter(
            language=tokenizer,
            max_avg_word_length=c["max_avg_word_length"],
            min_avg_word_length=c["min_avg_word_length"],
            stop_words=list(c["stopwords"]),
            max_non_alpha_words_ratio=c["max_non_alpha_words_ratio"],
            min_stop_words=2,
        ),
    ]


_BLANK_LINES = re.compile(r"\n\s*\n")


def single_spaced(doc: Document) -> Document:
    """A view of ``doc`` with blank lines removed, the layout FineWeb's thresholds were set on.

    trafilatura separates paragraphs with one newline; FineWeb's ``list_ratio`` (newlines per
    word) would count a plain-text or PDF source's blank-line paragraphs twice. Metadata is shared.
    """
    if "\n\n" not in doc.text and "\n " not in doc.text:
        return doc
    return Document(text=_BLANK_LINES.sub("\n", doc.text), id=doc.id, metadata=doc.metadata)


def run_filters(filters: list[Any], doc: Document) -> str | None:
    """The first drop reason of a chain of datatrove filters, or None when all keep the document."""
    for f in filters:
        result = f.filter(doc)
        keep, reason = result if isinstance(result, tuple) else (result, None)
        if not keep:
            return reason or type(f).__name__
    return None


def judged(doc: Document, source_kinds: list[str] | None) -> bool:
    """Whether the quality rules look at ``doc``: every document when ``source_kinds`` is None, else
    those of the listed kinds (and those with no kind recorded: unknown text is judged)."""
    kind = doc.metadata.get(Meta.SOURCE_KIND, "")
    return source_kinds is None or not kind or kind in source_kinds


# Where Kiwi's numbers fall around the fast estimates (korean_words.estimate: fast counts plus the calibrated
# extra tokens): the 20th and 80th percentiles of Kiwi/estimate (counts, documents of 20-200 Kiwi words) and
# Kiwi - estimate (lengths, ratios, n-gram fractions, documents of 50+) over the 36k documents of every Korean
# set under ../shared/testdata and the demo (bench/bench_quality_ko.py --calibrate), rounded outward.
# Per percentile level, decisions equal to Kiwi's in sample / across halves (tables and bounds fitted on half of the
# sources, checked on the other half, both ways) and Kiwi's share of the bytes in sample:
#   25-75: 99.55 % / 99.63 %, 99.50 %; 1.0 %      20-80: 99.63 % / 99.70 %, 99.60 %; 1.2 %
#   15-85: 99.69 % / 99.71 %, 99.67 %; 1.6 %      10-90: 99.78 % / 99.82 %, 99.75 %; 2.2 %
# 20-80 is the narrowest level that keeps 99.6 % across halves (25-75 falls to the 99.5 % on one half);
# each 0.1 % of the bytes sent to Kiwi costs about 2 % of fast mode's time. As set below (rounded outward, one stop
# word of slack): 99.63 %, Kiwi asked for 1.8 % of the documents, 1.3 % of the bytes (was 15-85: 99.72 %, 1.75 %)
KIWI_BOUNDS = Bounds(
    count_lo=0.94,  # Kiwi finds 6 % fewer content words than estimated ...
    count_hi=1.07,  # ... or 7 % more
    count_pad=0.0,
    mean_below=0.0,
    mean_above=0.13,
    alpha_below=0.005,
    alpha_above=0.003,
    # the fast split may see one stop word Kiwi does not (모과 -> 모 과; the 90th percentile, a noun list in the
    # tests); the upper bound is exact (substrings of the text)
    stop_below=1,
    top_below=0.008,
    top_above=0.007,
    frac_below=0.0,  # duplicated n-gram fractions: 85 % of documents agree exactly (most have none)
    frac_above=0.0,
)


class KoreanQualityStage(Stage):
    """FineWeb-2 Korean rules on documents whose language is 'ko'; other documents pass untouched.

    ``words="kiwi"``: every document is split by Kiwi and judged by datatrove's filters (the
    reference, FineWeb-2's own setup). ``words="fast"``: the rules run on the fast split's numbers
    with the calibrated ``KIWI_BOUNDS`` (``korean_words.korean_rules``) and Kiwi is asked only for
    documents whose decision those intervals leave open (``kiwi_calls`` counts them).
    """

    name = "quality_ko"

    def __init__(self, source_kinds: list[str] | None = None, words: str = "fast") -> None:
        super().__init__()
        if words not in WORD_MODES:
            raise ValueError(f"quality_ko words must be one of {', '.join(WORD_MODES)}, not {words!r}")
        self.tokenizer = SharedKiwiTokenizer()
        self.filters = korean_filters(self.tokenizer)
        self.source_kinds = source_kinds  # None: every source kind; else only these are judged
        self.words = words
        self.kiwi_calls = 0  # fast mode: documents the fast numbers could not decide

    def apply(self, doc: Document) -> str | None:
        if doc.metadata.get(Meta.LANGUAGE) != "ko":
            return None
        if not judged(doc, self.source_kinds):
            return None
        view = single_spaced(doc)
        text = view.text
        signals = doc.metadata.setdefault(Meta.QUALITY_SIGNALS, {})
        if self.words == "fast":
            lines = line_stats(text)  # for the rule chain and the signals, Kiwi's or not
            reason = self._fast(text, signals, lines)
            if reason != UNSURE:
                return reason
            self.kiwi_calls += 1
            # Kiwi's words on the same numbers and rule chain (equal to datatrove's filters: tests)
            stats = word_stats(text, self.tokenizer.word_tokenize(text), RULES["stop_words"], _TOP_NS, _DUP_NS)
            signals.update(korean_signals(text, stats.n_content, stats.mean_length, stats.stop_words, None, lines))
            return korean_rules(text, stats, RULES, EXACT, lines)
        words = split_into_words(text, self.tokenizer)  # cached: the filters reuse this split
        content = [w for w in words if not PUNCTUATION_SET.issuperset(w)]
        mean = sum(map(len, content)) / max(len(content), 1)
        signals.update(korean_signals(text, len(content), mean, len(RULES["stop_words"].intersection(words))))
        # Gopher's length rule first: the kept set is the same in any order, but a two-line review
        # would otherwise be reported as top_2_gram, and a text of symbols only would divide by zero
        if len(content) < self.filters[-1].min_doc_words:
            return "gopher_short_doc"
        return run_filters(self.filters, view)

    def _fast(self, text: str, signals: dict[str, float], lines: Lines) -> str | None:
        """The decision from the estimated Kiwi numbers, or UNSURE; records the signals when decided."""
        b, parts = KIWI_BOUNDS, chunks(text)
        t = totals(parts)
        k_content, ratio = t.n_content + t.extra, t.hangul / max(t.size, 1)
        if k_content * b.count_hi + b.count_pad < RULES["min_doc_words"]:  # short for sure: no n-grams needed
            mean = t.chars / k_content if k_content > 0 else 0.0
            signals.update(korean_signals(text, k_content, mean, t.stop_words, ratio, lines))
            return "gopher_short_doc"
        stats = estimate(text, parts, _TOP_NS, _DUP_NS, t)
        reason = korean_rules(text, stats, RULES, b, lines)
        if reason != UNSURE:
            signals.update(korean_signals(text, stats.n_content, stats.mean_length, stats.stop_words, ratio, lines))
        return reason
