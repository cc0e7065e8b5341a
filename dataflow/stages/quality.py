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

import functools
from bisect import bisect_left
from collections import Counter
from itertools import accumulate, count
from typing import Any

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_top_duplicate, get_n_grams
from datatrove.utils.text import PUNCTUATION_SET, split_into_words
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
        """The process's ``english_pipeline()``; asking for it also loads the word split's own pipeline, so
        a worker preloaded through this property (``engines.local.preload``) has both."""
        english_words().load()
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


class WordRulesGopherFilter(GopherQualityFilter):
    """datatrove's ``GopherQualityFilter``, its per-word tests run once per distinct word.

    The same rules in the same order on the same words. Two generator expressions over every character
    of every word were most of the stock filter's own time once the words are cheap; here each distinct
    word is tested once (``Counter`` gives the counts) and ``any(ch not in PUNCTUATION_SET for ch in w)``
    is ``not PUNCTUATION_SET.issuperset(w)``, ``any(c.isalpha() for c in w)`` is ``has_letter(w)``. The
    mean word length is the integer total over the count, which is what ``np.mean`` of the lengths gives
    (a float64 sum of integers is exact, and both divisions round once).
    """

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        words = split_into_words(text, self.language)
        n_words = len(words)
        counts = Counter(words)
        punctuation = PUNCTUATION_SET
        word_counts = [(w, k) for w, k in counts.items() if not punctuation.issuperset(w)]  # not all punctuation
        n_non_symbol_words = sum(k for _, k in word_counts)
        if self.min_doc_words and n_non_symbol_words < self.min_doc_words:
            return False, "gopher_short_doc"
        if self.max_doc_words and n_non_symbol_words > self.max_doc_words:
            return False, "gopher_long_doc"
        if n_non_symbol_words:
            avg_n_words = sum(len(w) * k for w, k in word_counts) / n_non_symbol_words
        else:
            avg_n_words = np.mean([])  # nan, with numpy's warning, as the stock filter has it
        if self.min_avg_word_length and avg_n_words < self.min_avg_word_length:
            return False, "gopher_below_avg_threshold"
        if self.max_avg_word_length and avg_n_words > self.max_avg_word_length:
            return False, "gopher_above_avg_threshold"
        if self.max_symbol_word_ratio and text.count("#") / n_words > self.max_symbol_word_ratio:
            return False, "gopher_too_many_hashes"
        if self.max_symbol_word_ratio and (text.count("...") + text.count("…")) / n_words > self.max_symbol_word_ratio:
            return False, "gopher_too_many_ellipsis"
        lines = text.splitlines()
        if (
            self.max_bullet_lines_ratio
            and sum(s.lstrip().startswith("•") or s.lstrip().startswith("-") for s in lines) / len(lines)
            > self.max_bullet_lines_ratio
        ):
            return False, "gopher_too_many_bullets"
        if (
            self.max_ellipsis_lines_ratio
            and sum(s.rstrip().endswith("...") or s.rstrip().endswith("…") for s in lines) / len(lines)
            > self.max_ellipsis_lines_ratio
        ):
            return False, "gopher_too_many_end_ellipsis"
        if self.max_non_alpha_words_ratio:
            alpha_words = sum(k for w, k in counts.items() if has_letter(w))
            if alpha_words / n_words < self.max_non_alpha_words_ratio:
                return False, "gopher_below_alpha_threshold"
        if self.min_stop_words and len(self.stop_words.intersection(counts)) < self.min_stop_words:
            return False, "gopher_enough_stop_words"
        return True


class SlicedNGramsRepetitionFilter(GopherRepetitionFilter):
    """datatrove's ``GopherRepetitionFilter`` with its word n-grams counted in numpy (``WordNGrams``).

    The paragraph and line rules are the stock filter's own (it runs with no n-gram rules first); the top
    and duplicated n-gram rules get datatrove's numbers from ``WordNGrams``, in the same order.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_gram_rules = (self.top_n_grams, self.dup_n_grams)
        self.top_n_grams, self.dup_n_grams = (), ()  # the stock pass: paragraphs and lines only

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        result = super().filter(doc)
        if result is not True:
            return result
        text = doc.text
        grams = WordNGrams(split_into_words(text, self.language))
        top_n_grams, dup_n_grams = self.n_gram_rules
        for n, n_frac in top_n_grams:
            top_chars = grams.top_chars(n)
            if top_chars is not None and top_chars / len(text) > n_frac:
                return False, f"top_{n}_gram"
        for n, n_frac in dup_n_grams:
            if grams.duplicated_chars(n) / len(text) > n_frac:
                return False, f"duplicated_{n}_n_grams"
        return True


def has_letter(word: str) -> bool:
    """``any(c.isalpha() for c in word)``: at once for an all-letter word; for ASCII, the letters are exactly
    the cased characters, so one of them is there when upper and lower case differ."""
    if word.isalpha():
        return True
    if word.isascii():
        return word.upper() != word.lower()
    return any(c.isalpha() for c in word)


class SubstringHashes:
    """A polynomial hash mod 2**64 of every substring of ``text``, in O(1) numpy work per substring.

    ``prefix[k]`` = sum of code(t) * base**t over t < k (uint64 arithmetic wraps mod 2**64); the substring
    [a, b) hashes to (prefix[b] - prefix[a]) * base**-a, the same for equal substrings wherever they are
    (``base`` is odd, so it has an inverse mod 2**64). Different substrings can share a hash: the callers
    compare the strings where it matters. ``base`` is a parameter so tests can force collisions.
    """

    BASE = 0x9E3779B97F4A7C15  # odd (2**64 / the golden ratio)

    def __init__(self, text: str, base: int = BASE) -> None:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32).astype(np.uint64)
        size = len(codes) + 1
        self.prefix = np.zeros(size, np.uint64)
        np.cumsum(codes * _powers(base, size - 1), out=self.prefix[1:])
        self.inverse = _powers(pow(base, -1, 2**64), size)

    def of(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        return (self.prefix[ends] - self.prefix[starts]) * self.inverse[starts]


def _powers(base: int, size: int) -> np.ndarray:
    """base**0 .. base**(size - 1) mod 2**64."""
    out = np.full(size, base, np.uint64)
    if size:
        out[0] = 1
        np.cumprod(out, out=out)
    return out


def sorted_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``keys``' sorting permutation (numpy's default sort: not stable, several times faster than the stable one
    ``np.unique`` needs for first positions) and where each run of equal keys starts in it."""
    order = keys.argsort()
    ranked = keys[order]
    return order, np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))


class WordNGrams:
    """One document's words, for datatrove's two n-gram counts: ``top_chars`` (``find_top_duplicate``) and
    ``duplicated_chars`` (``find_all_duplicate``), the same numbers without a string per n-gram.

    Top n-grams are ``" ".join(words[i:i + n])``: words without spaces (spaCy's never hold one) make that
    join one-to-one on n-tuples, so they are counted as n-tuples of word ids. Duplicated n-grams are
    ``"".join(words[i:i + n])`` (no separator: ``("ab", "c")`` and ``("a", "bc")`` are the same n-gram
    there), substrings of ``joined``, told apart by their ``SubstringHashes`` and compared as strings where
    the walk needs two to be equal. ``base`` is the hash's, a parameter so tests can force collisions.
    """

    def __init__(self, words: list[str], base: int = SubstringHashes.BASE) -> None:
        self.words = words
        self.offsets = list(accumulate(map(len, words), initial=0))  # word i is joined[offsets[i]:offsets[i + 1]]
        self.bounds = np.array(self.offsets)
        self.joined = "".join(words)
        self.base = base

    @functools.cached_property
    def ids(self) -> np.ndarray | None:
        """Each word's index among the distinct words (first-seen order); None if a word holds a space."""
        if " " in self.joined:
            return None
        index = dict(zip(dict.fromkeys(self.words), count()))
        return np.fromiter(map(index.__getitem__, self.words), np.int64, len(self.words))

    @functools.cached_property
    def hashes(self) -> SubstringHashes:
        return SubstringHashes(self.joined, self.base)

    def top_chars(self, n: int) -> int | None:
        """``find_top_duplicate(get_n_grams(words, n))``, None where there is no n-gram.

        Each n-tuple of ids is packed into one uint64 (n fields of ``bits`` bits) and counted by sorting;
        ``most_common(1)`` takes the first-seen n-gram among the most frequent, which is the smallest first
        position among them. Its string is its words plus n - 1 spaces. Words with spaces, or too many
        distinct words to pack, take datatrove's own count.
        """
        m = len(self.words) - n + 1
        if m <= 0:
            return None
        ids = self.ids
        bits = max(1, int(ids.max()).bit_length()) if ids is not None else 64
        if bits * n > 64:
            return find_top_duplicate(get_n_grams(self.words, n))
        keys = ids[:m].astype(np.uint64)
        for k in range(1, n):
            keys = (keys << np.uint64(bits)) | ids[k : k + m].astype(np.uint64)
        order, starts = sorted_runs(keys)
        counts = np.diff(starts, append=m)
        most = int(counts.max())
        i = int(np.minimum.reduceat(order, starts)[counts == most].min())
        offsets = self.offsets
        return (offsets[i + n] - offsets[i] + n - 1) * most

    def duplicated_chars(self, n: int) -> int:
        """``find_all_duplicate(words, n)``: characters in repeated n-grams, skipping n words past each repeat,
        walking only the n-grams seen before.

        An n-gram whose string was never seen at an earlier position is never a repeat, and the walk only
        steps over it (+1). So the walk visits the "later" positions (hash seen earlier) in order: one
        inside the n - 1 positions skipped after a repeat is passed by; a visited one is a repeat when its
        string was met at a visited earlier position, that is when the first position of its string was
        not skipped or an earlier visited later position of it was added as new. A later position whose
        string differs from its hash's first position (a collision) takes datatrove's own walk."""
        m = len(self.words) - n + 1
        if m <= 0:
            return 0
        order, starts = sorted_runs(self.hashes.of(self.bounds[:m], self.bounds[n:]))
        if len(starts) == m:  # every n-gram distinct: no repeat
            return 0
        firsts = np.repeat(np.minimum.reduceat(order, starts), np.diff(starts, append=m))  # in sorted order
        later = order != firsts
        positions, firsts = order[later], firsts[later]
        by_position = positions.argsort()
        offsets, joined = self.offsets, self.joined
        repeats: list[int] = []  # positions found repeated, ascending; each skips the n - 1 after it
        added: set[int] = set()  # first positions of strings added as new at a later position
        repeated = idx = 0
        for pos, f in zip(positions[by_position].tolist(), firsts[by_position].tolist(), strict=True):
            if pos < idx:
                continue
            start, end = offsets[pos], offsets[pos + n]
            if joined[start:end] != joined[offsets[f] : offsets[f + n]]:
                return find_all_duplicate(self.words, n)
            k = bisect_left(repeats, f)
            if not (k and repeats[k - 1] + n > f) or f in added:
                repeated += end - start
                repeats.append(pos)
                idx = pos + n
            else:
                added.add(f)
                idx = pos + 1
        return repeated


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
        LanguageFilterStage("gopher_en", WordRulesGopherFilter(language=words), "en", source_kinds=source_kinds),
        LanguageFilterStage(
            "gopher_rep_en", SlicedNGramsRepetitionFilter(language=words), "en", source_kinds=source_kinds
        ),
        # FineWeb keeps lines without terminal punctuation (the C4 rule removed too much); its sentences come
        # from the shared english_pipeline() (the pipeline datatrove's "en" tokenizer builds, not a third one)
        LanguageFilterStage(
            "c4_en",
            FewSentencesC4Filter(filter_no_terminal_punct=False, language=words),
            "en",
            source_kinds=source_kinds,
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
