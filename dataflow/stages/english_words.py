"""English words exactly as datatrove's ``SpaCyTokenizer.word_tokenize`` splits them, at a fraction of its cost.

datatrove runs spaCy's whole blank English pipeline (tokenizer and sentencizer) on every text inside a
memory zone, so spaCy caches nothing and re-analyses every whitespace-separated chunk with its prefix,
suffix and infix regexes on every call. Here the text is split with ``str.split`` (the same whitespace
test, ``isspace``, as spaCy's), each chunk's tokens come from a bounded dict, and spaCy sees only the
chunks not seen before (one call per text, newline-separated, inside a memory zone, so spaCy's own
vocabulary never grows, and on a pipeline that skips lexeme attributes: ``tokenizing_pipeline``).

Why that gives spaCy's tokens (spaCy 3.8 ``tokenizer.pyx``): ``_tokenize_affixes`` cuts the text into
runs of non-space and runs of space (a single ``' '`` between two runs is dropped) and tokenizes each
run on its own; whitespace runs become whitespace tokens, which datatrove's ``strip_strings`` removes.
Then ``_apply_special_cases`` finds the special-case patterns (the affix tokenization of rules such as
``":)"``, ``"a.m."``, ``"'s"``) in the whole token sequence and keeps the longest non-overlapping
matches. A match across two chunks has a space in its text, so no rule applies to it (the only rules
with a space are single whitespace characters), but it can win the overlap filter against a match
inside a chunk and so change that chunk's tokens (``"( -:)"``: spaCy gives ``( - : )``, its chunks
alone ``( - :)``). Such a match needs chunks separated by one space, so it never crosses a line, and
its first cut between chunks A and B splits the rule's pattern into a left part that A ends with and
a right part that B starts with (or, if the match runs on into the next chunk, that starts with B):
``special_splits`` lists every such cut as strings, and the check uses every suffix of A and prefix
of B, so it can only over-report. A line with such a boundary is given to spaCy whole, as datatrove
would see it (lines are separated by whitespace tokens, so a line's tokens do not depend on its
neighbours; the chunks tokenized together here are newline-separated for the same reason). Texts containing ``IS_ALPHA``
(datatrove's retry-on-error string) take datatrove's own path.

Memory: spaCy's vocabulary stays at the blank pipeline's size (new chunks are tokenized inside a
memory zone); the chunk dict holds at most ``MAX_CHUNKS`` entries and is emptied when full. An entry
is the chunk string (~49 bytes + 1 per ASCII character), a 3-tuple (64) of its tokens (a tuple, 48 + 8
per token; one-token chunks reuse the chunk string) and of the pattern cuts it ends and starts with,
and its dict slot with the table's slack. Measured with tracemalloc: 85,837 entries (the distinct
chunks of the 589 ScrapingHub and WCXB English main texts, 8.0 characters on average) take 26.5 MB,
309 bytes each, so ``MAX_CHUNKS`` = 100,000 is about 31 MB per worker process.
"""

from __future__ import annotations

import functools
import sys
from types import ModuleType
from typing import Any

from datatrove.utils.word_tokenizers import SpaCyTokenizer

# ~31 MB per process (309 bytes an entry, measured above); 4.1 MB of English main text (589 pages) has 85,837
# distinct chunks, so a worker goes hundreds of pages between two clears
MAX_CHUNKS = 100_000
RETRY_STRING = "IS_ALPHA"  # datatrove retries a failed text with this string removed: such texts take its path


def import_spacy() -> ModuleType:
    """spaCy, imported without letting thinc import torch: every spaCy import in dataflow goes through here.

    spaCy imports thinc, and ``thinc.compat`` imports torch if it can (1.2-1.3 of the 2.1-2.3 CPU-s that
    ``import spacy`` plus ``spacy.blank("en")`` take, measured 3 times each on the dev box); thinc then
    only sets ``has_torch`` and friends, which the tokenizer and sentencizer never read. So while spaCy is
    imported, ``import torch`` fails (a ``None`` in ``sys.modules``: thinc catches the ImportError), and the
    block is removed afterwards: a later ``import torch`` anywhere in the process works as usual, only
    thinc's own torch layers stay off in it. If torch is already loaded, nothing is blocked (nothing to
    save). The tokens and sentences are the same (tested)."""
    if "spacy" not in sys.modules and "torch" not in sys.modules:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
        try:
            import spacy  # noqa: F401
        finally:
            if "torch" in sys.modules and sys.modules["torch"] is None:
                del sys.modules["torch"]
    import spacy

    return spacy


@functools.cache
def english_pipeline() -> Any:
    """``spacy.blank("en")`` with the sentencizer, as datatrove's ``SpaCyTokenizer`` builds it, once per process
    (a pickled tokenizer arrives in each datatrove task without its pipeline)."""
    nlp = import_spacy().blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


@functools.cache
def tokenizing_pipeline() -> Any:
    """A second ``spacy.blank("en")`` for tokens only, without lexeme attributes.

    spaCy makes a lexeme for every new string and fills its attributes (shape, like_num, stop word...)
    with Python functions: most of a call's cost on new text. The tokenizer and its special-case matcher
    read only the strings (``ORTH``), never those attributes, so the tokens are the same without them.
    """
    nlp = import_spacy().blank("en")
    nlp.vocab.lex_attr_getters = {}
    return nlp


def special_splits(tokenizer: Any) -> frozenset[tuple[str, str]]:
    """Every way to cut a pattern spaCy's tokenizer matches across tokens (for its special cases) between two
    of its tokens, as strings: ``(left, right)`` with ``left + right`` the rule, e.g. ``(":", "-)")``.

    spaCy (``Tokenizer.add_special_case``) adds a rule to its phrase matcher when the rule's string has a
    prefix, suffix or infix or a space; the pattern is the string's tokenization without special cases.
    """
    from spacy.tokenizer import Tokenizer

    plain = Tokenizer(
        tokenizer.vocab,
        rules=None,
        prefix_search=tokenizer.prefix_search,
        suffix_search=tokenizer.suffix_search,
        infix_finditer=tokenizer.infix_finditer,
        token_match=tokenizer.token_match,
        url_match=tokenizer.url_match,
    )
    splits = set()
    for rule in tokenizer.rules:
        affixed = tokenizer.find_prefix(rule) or tokenizer.find_infix(rule) or tokenizer.find_suffix(rule)
        if affixed or " " in rule:
            pattern = [t.text for t in plain(rule)]
            splits.update(("".join(pattern[:i]), "".join(pattern[i:])) for i in range(1, len(pattern)))
    return frozenset(splits)


Entry = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # tokens, split lefts it ends with, rights


class EnglishWords:
    """``SpaCyTokenizer("en").word_tokenize`` with a per-chunk cache: same tokens, same order."""

    def __init__(self, max_chunks: int = MAX_CHUNKS) -> None:
        self.max_chunks = max_chunks
        self._chunks: dict[str, Entry] = {}
        self._splits: frozenset[tuple[str, str]] = frozenset()
        self._lefts: frozenset[str] = frozenset()
        self._rights: frozenset[str] = frozenset()
        self._right_prefixes: dict[str, list[str]] = {}  # a prefix of a right -> the rights starting with it
        self._left_ends: frozenset[str] = frozenset()  # every ending of every left, the left itself included
        self._rules: frozenset[str] = frozenset()  # spaCy's special-case strings
        self._longest = 0  # characters in the longest left or right
        self.lines_to_spacy = 0  # lines tokenized whole because a chunk boundary in them might match a pattern
        self.texts_to_datatrove = 0  # texts with the retry string

    def load(self) -> None:
        """Load the tokenizing pipeline and the special-case cuts (done on the first text otherwise)."""
        if not self._splits:
            tokenizer = tokenizing_pipeline().tokenizer
            self._splits = special_splits(tokenizer)
            self._rules = frozenset(tokenizer.rules)
            self._lefts = frozenset(left for left, _ in self._splits)
            self._rights = frozenset(right for _, right in self._splits)
            for right in self._rights:
                for k in range(1, len(right)):
                    self._right_prefixes.setdefault(right[:k], []).append(right)
            self._left_ends = frozenset(left[-k:] for left in self._lefts for k in range(1, len(left) + 1))
            self._longest = max(map(len, self._lefts | self._rights))

    def __call__(self, text: str) -> list[str]:
        if RETRY_STRING in text:
            self.texts_to_datatrove += 1
            return _reference_words(text)
        self.load()
        chunks = text.split()
        cache = self._chunks
        distinct = dict.fromkeys(chunks)
        new = [c for c in distinct if c not in cache]
        if new:
            if len(cache) + len(new) > self.max_chunks:
                cache.clear()  # the simplest bound; the frequent chunks come back within a few documents
                new = list(distinct)
            self._learn(new)
        words = self._join(chunks)
        if words is not None:
            return words
        # a boundary somewhere might match a pattern: line by line, spaCy on the lines that have one
        words = []
        for line in text.splitlines():
            line_words = self._join(line.split())
            words += self._spacy(line) if line_words is None else line_words
        return words

    def _join(self, chunks: list[str]) -> list[str] | None:
        """The chunks' cached tokens in order, or None when a boundary between two of them might match."""
        cache, splits = self._chunks, self._splits
        words: list[str] = []
        lefts: tuple[str, ...] = ()
        for chunk in chunks:
            tokens, chunk_lefts, rights = cache[chunk]
            if lefts and rights and any((a, b) in splits for a in lefts for b in rights):
                return None
            words += tokens
            lefts = chunk_lefts
        return words

    def _learn(self, chunks: list[str]) -> None:
        """Find the tokens of new ``chunks``: at once for a chunk spaCy leaves whole, the rest in one spaCy call.

        spaCy leaves a chunk whole when it is no special case and its prefix, suffix and infix searches
        find nothing (``_split_affixes`` then changes nothing, ``_attach_tokens`` pushes it as one token,
        and a one-token pattern is the rule itself); those are spaCy's own search functions. The other
        chunks are tokenized newline-separated inside a memory zone (spaCy keeps nothing): each newline
        is one whitespace token of its own, so the tokens fall to the chunks in order; their texts are cut
        from the joined string by spaCy's offsets (no Token objects).
        """
        tokenizer = tokenizing_pipeline().tokenizer
        prefix, suffix, infix, rules = tokenizer.find_prefix, tokenizer.find_suffix, tokenizer.find_infix, self._rules
        rest = []
        for chunk in chunks:
            if chunk in rules or prefix(chunk) or suffix(chunk) or infix(chunk):
                rest.append(chunk)
            else:
                self._chunks[chunk] = ((chunk,), *self._cuts(chunk))
        if not rest:
            return
        found: list[list[str]] = [[]]
        for token in _spacy_tokens("\n".join(rest)):
            if token == "\n":
                found.append([])
            else:
                found[-1].append(token)
        for chunk, tokens in zip(rest, found, strict=True):
            self._chunks[chunk] = ((chunk,) if tokens == [chunk] else tuple(tokens), *self._cuts(chunk))

    def _cuts(self, chunk: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The split lefts ``chunk`` ends with, and the split rights it starts with or that start with it (a
        pattern can run on through the whole chunk into the next one)."""
        lefts: list[str] = []
        rights: list[str] = []
        # k grows while chunk[-k:] is still the end of some left (chunk[:k] the start of some right): a longer
        # one cannot match once a shorter one is no part of any, so most chunks stop after a character or two
        for k in range(1, min(len(chunk), self._longest) + 1):
            end = chunk[-k:]
            if end not in self._left_ends:
                break
            if end in self._lefts:
                lefts.append(end)
        for k in range(1, min(len(chunk), self._longest) + 1):
            start = chunk[:k]
            if start in self._rights:
                rights.append(start)
            elif start not in self._right_prefixes:
                break
        return tuple(lefts), tuple(rights) + tuple(self._right_prefixes.get(chunk, ()))

    def _spacy(self, line: str) -> list[str]:
        self.lines_to_spacy += 1
        return [t for t in _spacy_tokens(line) if not t.isspace()]


def _spacy_tokens(text: str) -> list[str]:
    """spaCy's tokens of ``text`` (whitespace tokens included) on the tokenizing pipeline, inside a memory zone
    (spaCy keeps nothing), cut from ``text`` by spaCy's offsets (no Token objects)."""
    nlp = tokenizing_pipeline()  # first: spaCy is imported through import_spacy
    from spacy.attrs import IDX, LENGTH

    with nlp.memory_zone():
        spans = nlp.tokenizer(text).to_array([IDX, LENGTH]).tolist()
    return [text[start : start + length] for start, length in spans]


@functools.cache
def english_words() -> EnglishWords:
    """The process's one ``EnglishWords``: every English stage and datatrove task in a worker shares its chunks."""
    return EnglishWords()


def _reference_words(text: str) -> list[str]:
    """datatrove's own ``SpaCyTokenizer.word_tokenize`` on the per-process pipeline."""
    return SpaCyTokenizer.word_tokenize(_REFERENCE, text)


class _ProcessPipelineTokenizer(SpaCyTokenizer):
    """datatrove's spaCy tokenizer on ``english_pipeline()`` (loaded once per process, not once per instance)."""

    @property
    def tokenizer(self) -> Any:
        return english_pipeline()


_REFERENCE = _ProcessPipelineTokenizer("en")
