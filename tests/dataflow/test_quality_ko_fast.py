"""Fast Korean words: the same keep/drop decisions as Kiwi on hard documents, the rule chain equal to datatrove's."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from datatrove.data import Document

from dataflow.document import Meta
from dataflow.stages.korean_words import (
    EXACT,
    UNSURE,
    fast_words,
    korean_rules,
    split_eojeol,
    word_stats,
)
from dataflow.stages.quality_ko import RULES, KoreanQualityStage, korean_filters, run_filters, single_spaced

PROSE = (
    "서울시는 올해 여름부터 한강 공원의 자전거 도로를 넓히는 공사를 시작했다. 시는 주말마다 자전거를 타는 시민이 "
    "크게 늘어 보행자와 부딪히는 사고가 잦아졌다고 설명했다. 공사는 내년 봄까지 이어지며, 그동안 일부 구간은 "
    "우회로를 이용해야 한다. 시민들은 불편하지만 안전을 위해 필요한 일이라는 반응을 보였다."
)
UNSPACED = (
    "어제친구랑영화를보러갔는데생각보다너무재미있어서시간가는줄몰랐다배우들연기도좋았고음악도훌륭했다"
    "다음에는가족이랑같이한번더보고싶다정말추천하고싶은영화다"
)
HANJA = (
    "大韓民國은 民主共和國이다. 大韓民國의 主權은 國民에게 있고, 모든 權力은 國民으로부터 나온다. "
    "國家는 法律이 정하는 바에 의하여 在外國民을 保護할 義務를 진다. 國民의 要件은 法律로 정한다."
)
MIXED = (
    "이번 AI 컨퍼런스에서는 large language model의 fine-tuning 기법과 retrieval-augmented generation이 "
    "주요 주제였다. 발표자는 GPU 메모리를 줄이기 위해 LoRA와 QLoRA를 함께 썼다고 말했다. 참가자들은 "
    "benchmark 결과가 실제 서비스 품질과 다를 수 있다는 점을 지적했다."
)
LIST = "\n".join(f"- {i}번 항목: 사과 {i}개, 배 {i + 1}개" for i in range(1, 25))
SHOP = "\n".join(["★특가★ 무료배송 #할인 #이벤트 010-1234-5678", "https://shop.example.co.kr/item?id=123"] * 8)
NUMBERS = PROSE + "\n" + " ".join(f"{i}:{i * 7} ({i * 3}-{i * 5})," for i in range(40))

HARD = {
    "prose": PROSE,
    "prose x3 lines": "\n".join([PROSE] * 3),
    "unspaced review": UNSPACED,
    "unspaced x4": "\n".join([UNSPACED] * 4),
    "unspaced + prose": UNSPACED + "\n" + PROSE,
    "hanja": HANJA,
    "hanja + prose": HANJA + "\n" + PROSE,
    "english-mixed": MIXED,
    "english-mixed x2": MIXED + "\n" + PROSE,
    "list": LIST,
    "list + prose": PROSE + "\n" + LIST,
    "shop spam": SHOP,
    "numbers": NUMBERS,
    "short": "안녕하세요. 반갑습니다.",
    "ellipsis": "\n".join(["그래서 결국 어떻게 되었냐면..."] * 10),
    "nouns only": " ".join(["서울 부산 대구 인천 광주 대전 울산 세종 수원 성남"] * 6) + ".",
    "repeated phrase": ("최고의 상품을 지금 바로 만나보세요 " * 12) + PROSE,
    "no punctuation": PROSE.replace(".", "").replace(",", ""),
    "jamo chat": "ㅋㅋㅋㅋ 진짜 웃기다 ㅠㅠ " * 15 + "정말 재밌었어요.",
}


@pytest.fixture(scope="module")
def stages() -> tuple[KoreanQualityStage, KoreanQualityStage]:
    return KoreanQualityStage(words="kiwi"), KoreanQualityStage(words="fast")


def ko(text: str) -> Document:
    return Document(text=text, id="d", metadata={Meta.LANGUAGE: "ko"})


def test_fast_decisions_equal_kiwi_on_hard_documents(stages):
    kiwi, fast = stages
    ref = {name: kiwi.apply(ko(t)) for name, t in HARD.items()}
    got = {name: fast.apply(ko(t)) for name, t in HARD.items()}
    assert {n: r is None for n, r in got.items()} == {n: r is None for n, r in ref.items()}
    assert got == ref  # the reasons too: the first rule that fails is the same
    # the fast path settled most of them without Kiwi (else this would only test Kiwi against itself)
    assert fast.kiwi_calls <= 3  # 1 of the 19 when the tables were fitted
    kept = [n for n, r in ref.items() if r is None]
    assert {"prose", "unspaced + prose", "hanja + prose", "english-mixed", "english-mixed x2"} <= set(kept)
    assert ref["short"] == "gopher_short_doc" and ref["shop spam"] is not None


def test_rule_chain_on_kiwi_numbers_equals_datatrove_filters(stages):
    """korean_rules with exact bounds is datatrove's three filters, so only the numbers differ by mode."""
    kiwi, _ = stages
    filters = korean_filters(kiwi.tokenizer)
    for name, text in HARD.items():
        view = single_spaced(ko(text)).text
        words = kiwi.tokenizer.word_tokenize(view)
        stats = word_stats(view, words, RULES["stop_words"], (2, 3, 4), (5, 6, 7, 8, 9, 10))
        expected = "gopher_short_doc" if stats.n_content < RULES["min_doc_words"] else run_filters(filters, ko(view))
        assert korean_rules(view, stats, RULES, EXACT) == expected, name


def test_fast_split_imitates_kiwi_units():
    assert split_eojeol("시위를") == ("시위", "를")
    assert split_eojeol("입수했다") == ("입수", "했", "했", "다")  # Kiwi returns 했 once per morpheme (하+었)
    assert split_eojeol("할인") == ("할인",)  # a two-syllable noun keeps its last syllable
    assert split_eojeol("찾고") == ("찾", "고")  # ... but a one-syllable verb stem loses the connective ending
    words = fast_words("오늘 #맛집 다녀왔다 https://blog.example.com/a/1 @kim_01 2020.05.12 3.14% ㅋㅋ!!!")
    assert "#맛집" in words and "https://blog.example.com/a/1" in words and "@kim_01" in words
    assert "2020.05.12" in words and "3.14" in words and "ㅋㅋ" in words and "!!!" in words
    assert len(fast_words(UNSPACED)) > 40  # unspaced text is cut into Kiwi-sized pieces, not one word


def test_ngram_kernel_equals_datatrove_counts():
    """The compiled n-gram pass gives datatrove's characters: top n-gram (ties to the first seen) and the greedy
    duplicated n-gram scan, worked out by hand on literal word lists."""
    text, none = "x" * 100, frozenset()
    s = word_stats(text, ["가", "나", "다", "가", "나", "라", "가", "나"], none, (2, 3), (2,))
    assert s.top_ngram == (3 * 3 / 100, 1 * 5 / 100)  # "가 나" x3 = 9 chars; no 3-gram repeats: the first, "가 나 다"
    # greedy scan: 가나 at 3 repeats (skip to 5), 라가 new, 가나 at 6 repeats: 2 + 2 characters
    assert s.dup_ngram == (4 / 100,)
    s = word_stats(text, ["하"] * 5, none, (2,), (2,))
    assert s.top_ngram == (4 * 3 / 100,) and s.dup_ngram == (4 / 100,)  # 하하 at 1 and 3 repeat: 2 + 2 characters
    s = word_stats(text, ["가나다", "라"], none, (3,), (5,))
    assert s.top_ngram == (0.0,) and s.dup_ngram == (0.0,)  # too short for any n-gram


def test_undecided_rule_asks_kiwi(stages):
    """Documents right at the 50-word minimum cannot be decided from the estimate: Kiwi decides them."""
    from dataflow.stages.korean_words import chunks, estimate
    from dataflow.stages.quality_ko import _DUP_NS, _TOP_NS, KIWI_BOUNDS

    kiwi, fast = stages
    for n_eojeol in (22, 23):  # 48 and 50 Kiwi content words (the estimate says about 50 for both)
        text = " ".join(PROSE.split()[:n_eojeol]) + "."
        assert korean_rules(text, estimate(text, chunks(text), _TOP_NS, _DUP_NS), RULES, KIWI_BOUNDS) == UNSURE
        asked = fast.kiwi_calls
        assert fast.apply(ko(text)) == kiwi.apply(ko(text))
        assert fast.kiwi_calls == asked + 1
    assert kiwi.apply(ko(" ".join(PROSE.split()[:22]) + ".")) == "gopher_short_doc"
    assert kiwi.apply(ko(" ".join(PROSE.split()[:23]) + ".")) is None


def test_unknown_word_mode_is_refused():
    with pytest.raises(ValueError, match="words must be one of"):
        KoreanQualityStage(words="regex")


TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "korean_text"
# every kind of whitespace str.split() cuts at, a lone surrogate, an empty text and whitespace only
ODD = {
    "whitespace kinds": "가나\u3000다라\x1c마\x85바\xa0사\u2028아\u202f자\t차\r\n카\u200b타 파",
    "surrogate": "한국\ud800어 문장 \udfff입니다",
    "empty": "",
    "blank": " \n\t ",
}


def real_texts() -> list[str]:
    if not TESTDATA.is_dir():
        pytest.skip(f"test data not found at {TESTDATA}")
    with gzip.open(TESTDATA / "korquad_v1/KorQuAD_v1.0_dev.json.gz") as f:
        paragraphs = [p["context"] for a in json.load(f)["data"][:20] for p in a["paragraphs"]]
    reviews = []
    for path in sorted((TESTDATA / "nsmc_raw_sample").glob("*.json"))[:5]:
        reviews += [r["review"] for r in json.loads(path.read_text("utf-8"))]
    return paragraphs + reviews + ["\n".join(reviews[i : i + 20]) for i in range(0, len(reviews), 20)]


def test_chunk_records_give_word_stats_of_the_fast_split():
    """A document's numbers summed from its cached chunk records are word_stats' over fast_words (the reference
    for the record format): counts, mean length, letters, stop words, n-gram fractions; and its Hangul and size."""
    from dataflow.stages.korean_words import HANGUL_CHARS, chunks, ngram_fracs, totals
    from dataflow.stages.quality_ko import _DUP_NS, _TOP_NS

    texts = [*HARD.values(), *ODD.values(), *real_texts()]
    for text in texts + texts:  # first sight of every chunk, then from the cache
        t, s = totals(chunks(text)), word_stats(text, fast_words(text), RULES["stop_words"], _TOP_NS, _DUP_NS)
        assert (t.n_words, t.n_content, t.stop_words) == (s.n_words, s.n_content, s.stop_words), text[:40]
        assert t.chars / max(t.n_content, 1) == pytest.approx(s.mean_length) and t.n_alpha / max(t.n_words, 1) == (
            pytest.approx(s.alpha_ratio)
        )
        assert ngram_fracs(text, t.ids.tolist(), _TOP_NS, _DUP_NS) == (s.top_ngram, s.dup_ngram)
        assert t.hangul == len(HANGUL_CHARS.findall(text)) and t.size == len("".join(text.split()))


def test_full_chunk_cache_gives_the_same_numbers(monkeypatch):
    """When the chunk cache is full, new chunks' records are built on every sight and not kept: the numbers stay
    those of an unbounded cache."""
    from dataflow.stages import korean_words
    from dataflow.stages.korean_words import chunks, clear_caches, totals

    texts = [*HARD.values(), *ODD.values(), *real_texts()[:200]]
    clear_caches()
    fresh = [totals(chunks(text)) for text in texts]
    monkeypatch.setattr(korean_words, "_CHUNK_CACHE", 40)
    clear_caches()
    for _ in range(2):
        for text, want in zip(texts, fresh, strict=True):
            got = totals(chunks(text))
            assert got[:-1] == want[:-1] and got.ids.tolist() == want.ids.tolist()
            assert len(korean_words._CHUNKS) <= 40
    clear_caches()
