"""The English quality stages' fast paths give datatrove's own answers: the same words as its
``SpaCyTokenizer``, and the same decisions, reasons and rewritten text as its stock filters."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_top_duplicate, get_n_grams
from datatrove.utils.word_tokenizers import SpaCyTokenizer

from dataflow.document import Meta
from dataflow.stages.english_words import EnglishWords, english_pipeline, special_splits, tokenizing_pipeline
from dataflow.stages.quality import (
    FewSentencesC4Filter,
    LanguageFilterStage,
    SharedWordsTokenizer,
    SlicedNGramsRepetitionFilter,
    SubstringHashes,
    WordNGrams,
    WordRulesGopherFilter,
    english_stages,
)


@pytest.fixture(scope="module")
def reference() -> SpaCyTokenizer:
    return SpaCyTokenizer("en")


@pytest.fixture(scope="module")
def english_texts(testdata) -> list[str]:
    """Real English main text: the ScrapingHub article bodies and 150 of the 408 WCXB pages (every page type)."""
    web = testdata / "web"
    truth = json.loads((web / "scrapinghub_article_extraction_benchmark/ground-truth.json").read_text())
    texts = [v["articleBody"] for v in truth.values()]
    for path in sorted((web / "wcxb_dev_subset/ground-truth").glob("*.json"))[::3][:150]:
        texts.append(json.loads(path.read_text())["ground_truth"]["main_content"])
    return [t for t in texts if t.strip()]


# --- words ---------------------------------------------------------------------------------------


def test_words_equal_datatrove_on_real_english(english_texts, reference):
    words = EnglishWords(max_chunks=5_000)  # small: the cache is emptied many times along the way
    for text in english_texts:
        assert words(text) == reference.word_tokenize(text)
    assert len(words._chunks) <= 5_000 + max(len(set(t.split())) for t in english_texts)


def test_pattern_cuts_of_a_chunk_are_every_left_it_ends_with_and_right_it_starts_with(english_texts):
    """``_cuts`` stops growing a chunk's ending (start) once no left (right) holds it: the same cuts as testing
    every length."""
    words = EnglishWords()
    words.load()
    pieces = sorted(words._lefts | words._rights)
    rng = random.Random(3)
    chunks = {c for text in english_texts for c in text.split()}
    chunks |= {"".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) for _ in range(5_000)}
    hit = 0
    for chunk in chunks:
        reach = range(1, min(len(chunk), words._longest) + 1)
        lefts = tuple(chunk[-k:] for k in reach if chunk[-k:] in words._lefts)
        rights = tuple(chunk[:k] for k in reach if chunk[:k] in words._rights)
        assert words._cuts(chunk) == (lefts, rights + tuple(words._right_prefixes.get(chunk, ()))), chunk
        hit += bool(lefts) and bool(rights)
    assert hit > 1_000


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "It's 5 a.m. and I'm up :) (really!) -- see e.g. https://example.com/a-b?c=d, ok?",
        "Rock 'n' roll isn't dead; y'all can't say it's over... 'Cause we don't stop.",
        "Tabs\tand\xa0no-break\u2028line separators\u2009thin spaces\r\nand CRLF",
        "( -:) o:) (( *_*):",  # a special case matched across a space changes spaCy's tokens here
        "The IS_ALPHA string, which datatrove's tokenizer retries without",
        "U.S. Dept. of St. Louis, Mo. vs. Mr. Smith Jr. at 10a.m. sharp",
        "x" * 5_000 + " long-run-without-spaces" * 3,
    ],
)
def test_words_equal_datatrove_on_hard_strings(text, reference):
    assert EnglishWords()(text) == reference.word_tokenize(text)


def test_special_case_matched_across_a_space_is_why_lines_go_to_spacy(reference):
    """spaCy's own chunk-by-chunk tokens differ from its tokens of the whole text here, and ours follow the text."""
    tokenizer = english_pipeline().tokenizer
    text = "( -:)"
    chunk_by_chunk = [t.text for chunk in text.split() for t in tokenizer(chunk)]
    assert chunk_by_chunk == ["(", "-", ":)"]
    assert reference.word_tokenize(text) == ["(", "-", ":", ")"]
    words = EnglishWords()
    assert words(text) == ["(", "-", ":", ")"] and words.lines_to_spacy == 1


def test_words_equal_datatrove_on_random_special_case_pieces(reference):
    splits = special_splits(english_pipeline().tokenizer)
    pieces = sorted({p for split in splits for p in split}) + ["word", "10", ".", "'s", "a.m."]
    rng = random.Random(20261201)
    words = EnglishWords()
    for _ in range(3_000):
        parts = [rng.choice(pieces) + rng.choice([" ", "", " ", "\n", "  ", "\t"]) for _ in range(rng.randint(2, 8))]
        text = "".join(parts)
        assert words(text) == reference.word_tokenize(text), repr(text)


def test_words_leave_spacys_vocabulary_as_it_was(english_texts):
    """Lexemes and strings spaCy keeps (``len(vocab)`` counts every lexeme ever made, freed ones included)."""
    vocab = tokenizing_pipeline().vocab
    EnglishWords()(english_texts[0])  # the pipeline is loaded and the split patterns computed
    before = (sum(1 for _ in vocab), len(vocab.strings))
    words = EnglishWords()
    for text in english_texts[:40]:
        words(text)
    assert words.lines_to_spacy > 0  # both of spaCy's paths ran
    assert (sum(1 for _ in vocab), len(vocab.strings)) == before


def test_english_stages_share_one_spacy_pipeline_per_process():
    stages = english_stages()
    clones = pickle.loads(pickle.dumps(stages))
    tokenizers = {id(s.filter.language.tokenizer) for s in stages + clones if hasattr(s.filter.language, "tokenizer")}
    assert tokenizers == {id(english_pipeline())}


# --- spaCy imported without torch -------------------------------------------------------------------

# a fresh process: spaCy imported one way, then the tokens and sentences of the texts in argv[2] (a JSON file)
# on the sentencizer pipeline and on the tokenizing one, as JSON; and whether torch was loaded by then
SPACY_CHILD = """
import json, sys
if sys.argv[1] == "helper":
    from dataflow.stages.english_words import import_spacy
    import_spacy()
else:
    import spacy
from dataflow.stages.english_words import english_pipeline, tokenizing_pipeline
torch_loaded = "torch" in sys.modules
out = []
for text in json.loads(open(sys.argv[2]).read()):
    doc = english_pipeline()(text)
    out.append([[t.text for t in doc], [s.text for s in doc.sents], [t.text for t in tokenizing_pipeline()(text)]])
import torch
print(json.dumps([torch_loaded, torch.tensor([2]).item(), out]))
"""


def test_spacy_imported_without_torch_gives_the_same_tokens_and_sentences(english_texts, tmp_path):
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps(english_texts[:60] + ["( -:) a.m. don't :) U.S.A. e-mail"]))
    runs = {}
    for how in ("helper", "plain"):
        code = [sys.executable, "-c", SPACY_CHILD, how, str(texts)]
        runs[how] = json.loads(subprocess.run(code, capture_output=True, text=True, check=True).stdout)
    assert runs["helper"][:2] == [False, 2]  # torch was not loaded by spaCy, and imports fine afterwards
    assert runs["plain"][:2] == [True, 2]  # a plain spaCy import loads it
    assert runs["helper"][2] == runs["plain"][2]
    assert sum(len(sents) > 1 for _, sents, _ in runs["helper"][2]) > 30  # the texts have several sentences


# --- C4: sentence counts only where they decide ----------------------------------------------------

LINE = "The committee published its report on the river crossing after two years of work."


@pytest.mark.parametrize(
    "text",
    [
        "\n".join([LINE] * n)
        for n in range(7)  # 0 to 6 kept lines around the 5-sentence threshold
    ]
    + [
        "\n".join([LINE + " It was long. Nobody read it! Why?"] * 2),  # 2 lines, 8 sentences
        "\n".join([LINE + " It was long."] * 2),  # 2 lines, 4 sentences
        "\n".join([LINE, "Too short.", "Menu", "Cookie policy and terms of use apply to this site.", LINE]),
        "\n".join([LINE] * 6 + ["Lorem ipsum dolor sit amet, consectetur adipiscing elit."]),
        "\n".join([LINE] * 6 + ["Call render({x: 1}) before the page loads, then wait."]),
        "\n".join(["[1] [2] [3]", LINE, "[4] [edit] [citation needed]", LINE, "[5] [6] [7]"]),  # lines citations empty
        "\n".join(["  " + LINE + " [12]  "] * 5),
        "Enable JavaScript to see this page, please.\n" * 6 + LINE,
        "",
    ],
)
def test_c4_equals_datatrove_on_edge_cases(text):
    c4_both(text)  # asserts the two filters agree


def test_c4_equals_datatrove_on_real_english(english_texts):
    decisions = [c4_both(text) for text in english_texts]
    assert sum(d is True for d in decisions) > 100  # the set has both outcomes
    assert any(d == (False, "too_few_sentences") for d in decisions)


def c4_both(text: str):
    """Our C4 filter and datatrove's on the same text: equal decision, reason and rewritten text; the decision."""
    ours, stock = Document(text=text, id="o"), Document(text=text, id="s")
    ours_result = FewSentencesC4Filter(filter_no_terminal_punct=False, language=SharedWordsTokenizer()).filter(ours)
    stock_result = C4QualityFilter(filter_no_terminal_punct=False).filter(stock)
    assert (ours_result, ours.text) == (stock_result, stock.text)
    return ours_result


# --- the four stages against datatrove's stock filters --------------------------------------------


def test_english_stages_equal_datatrove_stock_filters(english_texts):
    stock = [
        LanguageFilterStage("gopher_en", GopherQualityFilter(), "en"),
        LanguageFilterStage("gopher_rep_en", GopherRepetitionFilter(), "en"),
        LanguageFilterStage("c4_en", C4QualityFilter(filter_no_terminal_punct=False), "en"),
        LanguageFilterStage("fineweb_en", FineWebQualityFilter(), "en", single_spaced=True),
    ]
    ours = english_stages()
    reasons = set()
    for text in english_texts:
        outcomes = []
        for stages in (stock, ours):
            doc = Document(text=text, id="d", metadata={Meta.LANGUAGE: "en"})
            reason = next((r for s in stages if (r := s.apply(doc)) is not None), None)
            outcomes.append((reason, doc.text))
        assert outcomes[0] == outcomes[1]
        reasons.add(outcomes[0][0])
    assert len(reasons) >= 8  # kept, and drops by several rules of each filter


# --- Gopher quality and repetition: the stock rules, computed faster --------------------------------

WORDS = ["the", "river", "ran", "past", "the", "old", "mill", "and", "the", "children", "of", "the", "town"]


def gopher_both(text: str):
    """Our two Gopher filters and datatrove's stock ones (its own spaCy words) on one text: equal results."""
    words = SharedWordsTokenizer()
    results = []
    for ours, stock in [
        (WordRulesGopherFilter(language=words), GopherQualityFilter()),
        (SlicedNGramsRepetitionFilter(language=words), GopherRepetitionFilter()),
    ]:
        ours_result = ours.filter(Document(text=text, id="o"))
        assert ours_result == stock.filter(Document(text=text, id="s")), repr(text[:200])
        results.append(ours_result)
    return results


SENTENCE = " ".join(WORDS) + "."
FILLER = [f"{a}{b}" for a in ("lake", "hill", "road", "farm") for b in ("side", "top", "way", "land", "field")] * 9
FILLER = [f"{w}{i}" for i, w in enumerate(FILLER)]  # 180 distinct words
PASSAGE = [f"{w}s" for w in FILLER[:50]]  # 50 more, repeated once
GOPHER_CASES = {
    "kept": "\n".join(f"{SENTENCE} Day {i} of the year was calm." for i in range(12)),
    "gopher_short_doc": SENTENCE,
    "gopher_below_avg_threshold": " ".join(["a be to of it"] * 30) + " the and with.",
    "gopher_above_avg_threshold": " ".join(["extraordinarily incomprehensibilities"] * 40) + " the and.",
    "gopher_too_many_hashes": SENTENCE + " " + " ".join(["#tag"] * 60),
    "gopher_too_many_ellipsis": " ".join([SENTENCE] * 4) + " wait..." * 12,
    "gopher_too_many_bullets": "\n".join(f"- {SENTENCE}" if i else f"• {SENTENCE}" for i in range(12)),
    "gopher_too_many_end_ellipsis": "\n".join(f"{SENTENCE[:-1]} {i}…" for i in range(12)),
    "gopher_below_alpha_threshold": SENTENCE + " " + " ".join(f"{i}² 1{i}.75 1{i}%" for i in range(40)),
    "non-ASCII letters count as letters": " ".join(["café naïve 서울 Ωmega x²y"] * 30) + " the and with.",
    "gopher_enough_stop_words": " ".join(["river mill children town watched care"] * 12),
    "dup_para_frac": "\n\n".join([SENTENCE] * 4 + ["Another paragraph about the town and the river."]),
    "dup_line_frac": "\n".join([SENTENCE] * 5 + [f"Line {i} about the town and the mill." for i in range(3)]),
    "top_2_gram": " ".join(["the river"] * 80) + " and the mill.",
    "duplicated_5_n_grams": " ".join([*FILLER[:90], *PASSAGE, *FILLER[90:], *PASSAGE]) + " the and.",
    # with no separator, ("ab", "c") and ("a", "bc") are one n-gram for datatrove's duplicated n-grams
    "joined n-grams collide": " ".join([*FILLER[:90], "ab", "c", *PASSAGE, *FILLER[90:], "a", "bc", *PASSAGE]),
    "ties between top n-grams": " ".join(["x yy", "yy x"] * 30 + ["the and with of"]),
}


@pytest.mark.parametrize("name", GOPHER_CASES)
def test_gopher_filters_equal_datatrove_on_each_rule(name):
    quality, repetition = gopher_both(GOPHER_CASES[name])
    if name.startswith("gopher_"):
        assert quality == (False, name)
    if name in ("dup_para_frac", "dup_line_frac", "top_2_gram", "duplicated_5_n_grams"):
        assert repetition == (False, name)


def test_gopher_filters_equal_datatrove_on_random_repetitive_documents():
    rng = random.Random(7)
    vocabulary = WORDS + ["ab", "a", "b", "bc", "c", "#", "...", "-", "2024", "é"]
    for _ in range(150):
        lines = [" ".join(rng.choices(vocabulary[: rng.randint(3, len(vocabulary))], k=rng.randint(3, 30)))]
        for _ in range(rng.randint(1, 25)):
            lines.append(rng.choice(lines) if rng.random() < 0.3 else " ".join(rng.choices(vocabulary, k=12)))
        gopher_both(rng.choice(["\n", "\n\n", " "]).join(lines))


@pytest.mark.parametrize("base", [SubstringHashes.BASE, 1, 3])
def test_word_n_grams_equal_datatrove_counts_on_random_words(base):
    """Top and duplicated n-gram characters equal datatrove's on short random word lists (many repeats, skips
    after repeats, ("ab", "c") = ("a", "bc") joins, words with spaces); bases 1 and 3 hash most substrings of
    equal length alike, so the collision fallback runs too."""
    rng = random.Random(base)
    vocabulary = ["ab", "a", "b", "bc", "c", "the", "x", "é", "서울", "\U0001f600", "abc", "a b"]
    for _ in range(3_000):
        words = rng.choices(vocabulary[: rng.randint(2, len(vocabulary))], k=rng.randint(0, 50))
        grams = WordNGrams(words, base)
        for n in (2, 3, 4):
            n_grams = get_n_grams(words, n)
            assert grams.top_chars(n) == (find_top_duplicate(n_grams) if n_grams else None), (words, n)
        for n in range(1, 11):
            assert grams.duplicated_chars(n) == find_all_duplicate(words, n), (words, n)


def test_word_n_grams_with_too_many_distinct_words_to_pack_count_as_datatrove():
    words = [f"w{i}" for i in range(70_000)] + ["w1", "w2", "w3", "w4"] * 3  # 17-bit ids: 4 x 17 > 64 bits
    assert (
        WordNGrams(words).top_chars(4) == find_top_duplicate(get_n_grams(words, 4)) == 11 * 4
    )  # "w1 w2 w3 w4": once in the range, 3 more times
    assert WordNGrams(words).top_chars(3) == find_top_duplicate(get_n_grams(words, 3))
