"""Heuristic document-quality stages per language, in pipeline order.

English: datatrove's stock filters with FineWeb's settings (datatrove ``examples/fineweb.py``;
Penedo et al. 2024, https://arxiv.org/abs/2406.17557): Gopher quality and Gopher repetition
(Rae et al. 2021, https://arxiv.org/abs/2112.11446),
C4 (Raffel et al. 2020) without its terminal-punctuation line rule, and FineWeb's own rules.
Each is a ``FilterStage`` that only looks at documents whose ``Meta.LANGUAGE`` is 'en' (others
pass), and drops with datatrove's reason names (``gopher_short_doc``, ``too_few_sentences``,
``line_punct_ratio``...). Words are spaCy's blank English tokens (no model download), split once per
document for the three word-based filters and looked up per whitespace chunk (``english_words.py``:
the same tokens as datatrove's ``SpaCyTokenizer``, checked in the tests). C4's filter also rewrites
the text: it removes lines of fewer than 3 words and lines naming javascript or cookie/privacy
policies, as FineWeb does; its sentence count runs spaCy's sentencizer only when fewer than 5
lines are kept (``FewSentencesC4Filter``).

Korean: one ``quality_ko`` stage with FineWeb-2's Korean thresholds (``quality_ko.py``).
"""

from __future__ import annotations

from typing import Any

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.utils.word_tokenizers import SpaCyTokenizer

from dataflow.config import QualityConfig
from dataflow.document import Meta
from dataflow.stages.base import FilterStage, Stage
from dataflow.stages.english_words import english_pipeline, english_words
from dataflow.stages.quality_ko import KoreanQualityStage, judged, single_spaced


class LanguageFilterStage(FilterStage):
    """A datatrove filter applied only to documents of one language (and, when given, of the listed
    source kinds); the rest pass untouched."""

    def __init__(
        self,
        name: str,
        datatrove_filter: Any,
        language: str,
        single_spaced: bool = False,
        source_kinds: list[str] | None = None,
    ) -> None:
        super().__init__(name, datatrove_filter)
        self.language = language
        self.single_spaced = single_spaced  # judge the text without blank lines (see quality_ko.single_spaced)
        self.source_kinds = source_kinds

    def apply(self, doc: Document) -> str | None:
        if doc.metadata.get(Meta.LANGUAGE) != self.language or not judged(doc, self.source_kinds):
            return None
        return super().apply(single_spaced(doc) if self.single_spaced else doc)


ENGLISH_FILTERS = ("gopher", "gopher_repetition", "c4", "fineweb")


class SharedWordsTokenizer(SpaCyTokenizer):
    """datatrove's spaCy English tokenizer, its words split by ``english_words`` and remembered for the last
    few texts.

    Gopher quality, Gopher repetition and FineWeb each split the same document into words, so the words
    are computed once per document and handed to all three. Callers get a fresh list each time. The spaCy
    pipeline (for ``sent_tokenize``) is the process's one ``english_pipeline()``.
    """

    KEEP = 4  # texts remembered: the current document plus its single-spaced view, with room to spare

    def __init__(self) -> None:
        super().__init__("en")
        self._words: dict[str, list[str]] = {}

    @property
    def tokenizer(self) -> Any:
        return english_pipeline()

    def word_tokenize(self, text: str) -> list[str]:
        words = self._words.get(text)
        if words is None:
            words = english_words()(text)
            if len(self._words) >= self.KEEP:
                self._words.pop(next(iter(self._words)))
            self._words[text] = words
        return list(words)

    def __getstate__(self) -> dict:
        # stages travel to worker processes: the remembered words stay behind
        return self.__dict__ | {"_words": {}}


class FewSentencesC4Filter(C4QualityFilter):
    """datatrove's ``C4QualityFilter``, counting sentences only when the count can decide.

    The stock filter runs spaCy's sentencizer on every kept line to compare the total with
    ``min_num_sentences``. ``split_into_sentences`` returns at least one part for any line (its parts
    run from one sentence end to the next, and the last to the end of the line, so even a line with no
    sentence is one part): the total is at least the number of kept lines, which is at least the
    number of lines of the rewritten text (kept lines joined by newlines, then stripped, which can only
    remove lines). So the lines are filtered with the count switched off and, when the rewritten text
    has ``min_num_sentences`` lines or more, that is the stock decision and text; otherwise the stock
    filter runs on the original text (spaCy on at most 4 lines, plus any a citation removal emptied).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stock = C4QualityFilter(**kwargs)
        self.min_num_sentences = -1  # this filter's own pass: lines only (the stock one keeps the setting)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if not self.split_paragraph:  # sentences are the units then, one count each: nothing to save
            return self.stock.filter(doc)
        text = doc.text
        result = super().filter(doc)
        if result is not True or self.stock.min_num_sentences == -1:
            return result
        lines = doc.text.count("\n") + 1 if doc.text else 0  # kept lines hold no newline (splitlines)
        if lines >= self.stock.min_num_sentences:
            return True
        doc.text = text
        return self.stock.filter(doc)


def english_stages(
    filters: list[str] | tuple[str, ...] = ENGLISH_FILTERS, source_kinds: list[str] | None = None
) -> list[Stage]:
    """FineWeb's English filter chain (datatrove examples/fineweb.py), one stage per filter, restricted
    to ``filters`` (names from ``ENGLISH_FILTERS``)."""
    unknown = set(filters) - set(ENGLISH_FILTERS)
    if unknown:
        raise ValueError(f"unknown English filter(s) {sorted(unknown)}; choose from {list(ENGLISH_FILTERS)}")
    words = SharedWordsTokenizer()
    chain = [
        # Gopher quality before repetition (FineWeb runs repetition first): both only read the text, so the
        # kept set is the same, but short documents are then reported as gopher_short_doc, not top_2_gram
        LanguageFilterStage("gopher_en", GopherQualityFilter(language=words), "en", source_kinds=source_kinds),
        LanguageFilterStage("gopher_rep_en", GopherRepetitionFilter(language=words), "en", source_kinds=source_kinds),
        # FineWeb keeps lines without terminal punctuation (the C4 rule removed too much)
        LanguageFilterStage(
            "c4_en", FewSentencesC4Filter(filter_no_terminal_punct=False), "en", source_kinds=source_kinds
        ),
        LanguageFilterStage(
            "fineweb_en", FineWebQualityFilter(language=words), "en", single_spaced=True, source_kinds=source_kinds
        ),
    ]
    return [stage for name, stage in zip(ENGLISH_FILTERS, chain, strict=True) if name in filters]


def quality_stages(cfg: QualityConfig) -> list[Stage]:
    """The ordered quality stages ``cfg`` enables: gopher_en, gopher_rep_en, c4_en, fineweb_en, quality_ko."""
    stages: list[Stage] = []
    if cfg.english:
        stages += english_stages(cfg.english_filters, cfg.source_kinds)
    if cfg.korean:
        stages.append(KoreanQualityStage(cfg.source_kinds, cfg.korean_words))
    return stages
