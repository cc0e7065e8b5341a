"""Quality stages: each rule fires with its named reason, good documents pass, pass rates on real Korean text."""

from __future__ import annotations

import glob
import gzip
import json

import pytest
from datatrove.data import Document

from dataflow.config import BoilerplateConfig, LangIdConfig, NormalizeConfig, QualityConfig
from dataflow.document import Meta
from dataflow.stages.base import run_stages
from dataflow.stages.boilerplate import BoilerplateStage
from dataflow.stages.langid import LangIdStage
from dataflow.stages.normalize import NormalizeStage
from dataflow.stages.quality import english_stages, quality_stages
from dataflow.stages.quality_ko import KOR_HANG, KoreanQualityStage

KO_GOOD = """한국의 전통 음식인 김치는 배추와 무를 소금에 절인 뒤 고춧가루, 마늘, 젓갈 등으로 버무려 발효시킨 음식이다.
김치는 지역과 계절에 따라 재료와 만드는 방법이 달라서 그 종류가 수백 가지에 이른다.
겨울이 오기 전에 많은 양의 김치를 한꺼번에 담그는 풍습을 김장이라고 부르며, 이웃과 가족이 함께 모여 일을 나눈다.
김장 문화는 2013년 유네스코 인류무형문화유산으로 등재되었다.
최근에는 김치의 유산균이 건강에 좋다는 연구가 알려지면서 해외에서도 수요가 꾸준히 늘고 있다."""

NOUNS_A = "서울 부산 대구 인천 광주 대전 울산 세종 수원 성남 고양 용인 창원 청주 전주 천안 안산 김해 포항 제주"
NOUNS_B = "사과 포도 수박 참외 딸기 자두 복숭아 살구 앵두 매실 대추 호두 석류 무화과 유자 모과 오디 머루 다래 키위"
NOUNS_C = "김치 불고기 비빔밥 냉면 떡볶이 순대 만두 잡채 갈비 국수 망고 바나나 김밥 라면 전골 찌개 족발 보쌈 파전 호떡"

LISTS = (NOUNS_A.split(), NOUNS_B.split(), NOUNS_C.split())  # 20 each

EN_GOOD = """The city council met on Tuesday evening to discuss the budget for the coming year.
Members argued for more than three hours about how much money should go to public transport and to the libraries.
In the end they agreed to keep the bus fares at the current level and to open two of the libraries on Sundays.
The mayor said that the decision was a fair compromise and thanked the residents who had written to the council.
Several local groups had asked for longer opening hours, and they welcomed the result of the vote.
The new budget will be published on the council website next week, together with the minutes of the meeting."""


@pytest.fixture(scope="module")
def ko_stage() -> KoreanQualityStage:
    """One stage for the module: Kiwi loads once per process (2-4 s), on first use."""
    return KoreanQualityStage()


def ko_doc(text: str, lang: str = "ko") -> Document:
    return Document(text=text, id="d", metadata={Meta.LANGUAGE: lang})


def test_good_korean_document_passes_with_signals(ko_stage):
    doc = ko_doc(KO_GOOD)
    assert ko_stage.apply(doc) is None
    signals = doc.metadata[Meta.QUALITY_SIGNALS]
    assert signals["ko_hangul_ratio"] > 0.9
    assert signals["ko_words"] >= 50
    assert 1 <= signals["ko_mean_word_length"] <= 6
    assert signals["ko_dup_line_frac"] == 0
    assert signals["ko_line_punct_ratio"] == 1
    assert signals["ko_stop_words"] >= 2


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ("gopher_short_doc", "안녕하세요. 반갑습니다."),
        ("dup_line_frac", KO_GOOD + "\n" + "\n".join(["지금 바로 할인 쿠폰을 받으세요."] * 6)),
        ("top_2_gram", "최고 상품 " * 60 + "."),
        ("line_punct_ratio", KO_GOOD.replace(".", "")),
        ("list_ratio", "\n".join(f"{a} {b} {c}." for a, b, c in zip(*LISTS, strict=True))),
        ("gopher_enough_stop_words", " ".join([NOUNS_A, NOUNS_B, NOUNS_C]) + "."),
        ("gopher_below_alpha_threshold", KO_GOOD + " ".join(f"{i}:{i * 7} ({i * 3}-{i * 5})," for i in range(60))),
    ],
)
def test_korean_rule_fires_with_its_reason(ko_stage, reason, text):
    assert ko_stage.apply(ko_doc(text)) == reason


def test_korean_rules_use_fineweb2_thresholds(ko_stage):
    repetition, fineweb, gopher = ko_stage.filters
    assert repetition.dup_line_frac == KOR_HANG["dup_line_frac"] == 0.374
    assert fineweb.line_punct_thr == 0.062 and fineweb.new_line_ratio == 0.196
    assert gopher.max_avg_word_length == 6 and gopher.max_non_alpha_words_ratio == 0.791
    assert "에서" in gopher.stop_words and len(gopher.stop_words) == 21


def test_blank_line_paragraphs_count_as_single_newlines(ko_stage):
    """FineWeb's newline-per-word rule was set on trafilatura's one-newline paragraphs."""
    assert ko_stage.apply(ko_doc(KO_GOOD.replace("\n", "\n\n\n"))) is None


def test_non_korean_documents_pass_the_korean_stage_untouched(ko_stage):
    doc = ko_doc("short english text", lang="en")
    assert ko_stage.apply(doc) is None
    assert Meta.QUALITY_SIGNALS not in doc.metadata


def test_korean_stage_pickles_without_kiwi(ko_stage):
    import pickle

    ko_stage.apply(ko_doc(KO_GOOD))  # Kiwi loaded in this process
    clone = pickle.loads(pickle.dumps(ko_stage))
    assert clone.apply(ko_doc(KO_GOOD)) is None


def run_en(text: str) -> dict[str, str | None]:
    """Reason per English stage (None = kept) for one document, each stage on its own."""
    return {s.name: s.apply(ko_doc(text, lang="en")) for s in english_stages()}


def test_good_english_document_passes_every_stage():
    assert run_en(EN_GOOD) == {"gopher_en": None, "gopher_rep_en": None, "c4_en": None, "fineweb_en": None}


def test_english_rules_fire_with_datatrove_reasons():
    assert run_en("Too short to be a document.")["gopher_en"] == "gopher_short_doc"
    assert run_en(EN_GOOD + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.")["c4_en"] == "lorem_ipsum"
    assert run_en(EN_GOOD + "\n" + "\n".join(["Click here to subscribe now."] * 5))["gopher_rep_en"] == "dup_line_frac"
    assert run_en(EN_GOOD.replace(".", ""))["fineweb_en"] == "line_punct_ratio"


def test_english_stages_ignore_korean_documents():
    doc = ko_doc("안녕하세요.", lang="ko")
    assert all(s.apply(doc) is None for s in english_stages())


def test_quality_stages_order_and_switches():
    names = [s.name for s in quality_stages(QualityConfig())]
    assert names == ["gopher_en", "gopher_rep_en", "c4_en", "fineweb_en", "quality_ko"]
    assert [s.name for s in quality_stages(QualityConfig(english=False))] == ["quality_ko"]
    assert quality_stages(QualityConfig(english=False, korean=False)) == []


def test_web_rules_judge_only_the_configured_source_kinds():
    # a numbers-and-formulas text, as in patents and papers: most "words" have no letter
    table = "Claim 1. x = 0.5 + 12.7 - 3.3 = 9.9 ; 10 20 30 40 50 60 70 80 90 100 110 120 130 140 150 160. " * 5
    stages = quality_stages(QualityConfig(korean=False))  # default source_kinds: web, text
    web = Document(text=table, id="w", metadata={Meta.LANGUAGE: "en", Meta.SOURCE_KIND: "web"})
    patent = Document(text=table, id="p", metadata={Meta.LANGUAGE: "en", Meta.SOURCE_KIND: "patent"})
    web_out, patent_out = list(run_stages(stages, [web, patent]))
    assert web_out.metadata.get(Meta.REASON, "").startswith("gopher_below_")  # dropped as a web page
    assert patent_out.metadata.get(Meta.REASON) is None


def test_drops_are_counted_per_stage_and_reason(ko_stage):
    stages = quality_stages(QualityConfig(korean=False)) + [ko_stage]
    docs = [
        ko_doc(KO_GOOD),
        ko_doc("안녕하세요. 반갑습니다."),
        ko_doc(EN_GOOD, lang="en"),
        ko_doc("Too short to be a document.", lang="en"),
    ]
    out = list(run_stages(stages, docs))
    assert [d.metadata.get(Meta.REASON) for d in out] == [None, "gopher_short_doc", None, "gopher_short_doc"]
    ko_rows = ko_stage.ledger.to_rows("t")
    assert sum(r["docs_in"] for r in ko_rows if r["reason"] == "gopher_short_doc" and r["language"] == "ko") >= 1
    gopher_en = next(s for s in stages if s.name == "gopher_en")
    rows = gopher_en.ledger.to_rows("t")
    assert {(r["language"], r["outcome"], r["reason"], r["docs_in"]) for r in rows} >= {
        ("en", "dropped", "gopher_short_doc", 1),
        ("en", "kept", "", 1),
    }


# --- real Korean text from ../shared/testdata -------------------------------------------------


def pass_rate(texts: list[str], lid_model_path) -> float:
    """Share of documents kept by normalize -> boilerplate -> langid -> quality_ko."""
    stages = [
        NormalizeStage(NormalizeConfig()),
        BoilerplateStage(BoilerplateConfig()),
        LangIdStage(LangIdConfig(model_path=str(lid_model_path))),
        KoreanQualityStage(),
    ]
    out = run_stages(stages, (Document(text=t, id=str(i)) for i, t in enumerate(texts)))
    return sum(d.metadata.get(Meta.OUTCOME, "kept") == "kept" for d in out) / len(texts)


def test_korean_wikipedia_articles_mostly_pass(testdata, lid_model_path):
    with gzip.open(testdata / "korean_text/korquad_v1/KorQuAD_v1.0_dev.json.gz") as f:
        articles = json.load(f)["data"]
    docs = ["\n".join(p["context"] for p in a["paragraphs"]) for a in articles[:50]]  # 50 of 140 keeps it fast
    assert pass_rate(docs, lid_model_path) >= 0.9


def test_korean_constitution_passes(testdata, lid_model_path):
    text = (testdata / "korean_text/konlpy_corpus/kolaw/constitution.txt").read_text(encoding="utf-8")
    assert pass_rate([text], lid_model_path) == 1.0


def test_short_movie_reviews_mostly_fail_document_filters(testdata, lid_model_path):
    reviews = []
    for path in sorted(glob.glob(str(testdata / "korean_text/nsmc_raw_sample/*.json")))[:5]:
        with open(path, encoding="utf-8") as f:
            reviews += [r["review"] for r in json.load(f)]
    assert len(reviews) > 100
    assert pass_rate(reviews, lid_model_path) < 0.2
