"""Heuristic document-quality stages per language, in pipeline order.

English: datatrove's stock filters with FineWeb's settings (datatrove ``examples/fineweb.py``;
Penedo et al. 2024, https://arxiv.org/abs/2406.17557): Gopher quality and Gopher repetition
(Rae et al. 2021, https://arxiv.org/abs/2112.11446),
C4 (Raffel et al. 2020) without its terminal-punctuation line rule, and FineWeb's own rules.
Each is a ``FilterStage`` that only looks at documents whose ``Meta.LANGUAGE`` is 'en' (others
pass), and drops with datatrove's reason names (``gopher_short_doc``, ``too_few_sentences``,
``line_punct_ratio``...). Words come from spaCy's blank English tokenizer (no model download).
Note C4's filter also rewrites the text: it removes lines of fewer than 3 words and lines
naming javascript or cookie/privacy policies, as FineWeb does.

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
    """datatrove's spaCy English tokenizer remembering the words of the last few texts.

    Gopher quality, Gopher repetition and FineWeb each split the same document into words; spaCy
    (inside a memory zone, re-creating every lexeme) is most of their cost, so the words are
    computed once per document and handed to all three. Callers get a fresh list each time.
    """

    KEEP = 4  # texts remembered: the current document plus its single-spaced view, with room to spare

    def __init__(self) -> None:
        super().__init__("en")
        self._words: dict[str, list[str]] = {}

    def word_tokenize(self, text: str) -> list[str]:
        words = self._words.get(text)
        if words is None:
            words = super().word_tokenize(text)
            if len(self._words) >= self.KEEP:
                self._words.pop(next(iter(self._words)))
            self._words[text] = words
        return list(words)

    def __getstate__(self) -> dict:
        # stages travel to worker processes: send neither the cache nor a loaded spaCy pipeline
        return self.__dict__ | {"_words": {}, "_tokenizer": None}


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
        LanguageFilterStage("c4_en", C4QualityFilter(filter_no_terminal_punct=False), "en", source_kinds=source_kinds),
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
