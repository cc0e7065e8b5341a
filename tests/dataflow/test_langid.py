"""Language ID with the offline lid.176 model: labels, scores, drops, pickling, missing model."""

from __future__ import annotations

import pickle
import random

import pytest
from datatrove.data import Document

from dataflow.config import LangIdConfig
from dataflow.document import Meta
from dataflow.stages import langid
from dataflow.stages.boilerplate import remove_boilerplate
from dataflow.stages.langid import LangIdStage, language_verdict

KOREAN = "대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다."
ENGLISH = "The committee published its annual report on Tuesday, describing how the new rules changed local schools."
JAPANESE = "今日はとても良い天気ですね。午後は公園を散歩してから、駅前の喫茶店でコーヒーを飲みましょう。"
MIXED = (
    "우리 팀은 deep learning 기반의 추천 시스템을 개발하고 있습니다.\n"
    "Transformer architecture와 PyTorch를 사용하고, Kubernetes cluster에서 autoscaling policy를 설정했습니다."
)


@pytest.fixture(scope="module")
def stage(lid_model_path) -> LangIdStage:
    return LangIdStage(LangIdConfig(model_path=str(lid_model_path)))


def run_one(stage: LangIdStage, text: str) -> Document:
    (doc,) = stage.run([Document(text=text, id="d")])
    return doc


@pytest.mark.parametrize(("text", "lang"), [(KOREAN, "ko"), (ENGLISH, "en"), (MIXED, "ko")])
def test_kept_languages_are_labelled_and_kept(stage, text, lang):
    doc = run_one(stage, text)
    assert doc.metadata[Meta.LANGUAGE] == lang
    assert doc.metadata[Meta.LANGUAGE_SCORE] > 0.9
    assert doc.metadata.get(Meta.OUTCOME, "kept") == "kept"


def test_other_language_is_dropped_with_its_label_recorded(stage):
    doc = run_one(stage, JAPANESE)
    assert doc.metadata[Meta.OUTCOME] == "dropped"
    assert doc.metadata[Meta.REASON] == "language_not_kept"
    assert doc.metadata[Meta.LANGUAGE] == "ja"
    assert doc.metadata[Meta.LANGUAGE_SCORE] > 0.9
    rows = stage.ledger.to_rows("t")
    assert any(r["language"] == "ja" and r["reason"] == "language_not_kept" and r["docs_in"] >= 1 for r in rows)


def test_verdict_uses_per_language_thresholds():
    cfg = LangIdConfig(model_path="unused", min_score=0.65, min_scores={"ko": 0.842})
    assert language_verdict("ko", 0.80, cfg) == "low_language_score"
    assert language_verdict("ko", 0.90, cfg) is None
    assert language_verdict("en", 0.80, cfg) is None
    assert language_verdict("en", 0.60, cfg) == "low_language_score"
    assert language_verdict("ja", 0.99, cfg) == "language_not_kept"


def test_low_score_drops(lid_model_path):
    strict = LangIdStage(LangIdConfig(model_path=str(lid_model_path), min_scores={"ko": 1.01}))
    doc = run_one(strict, KOREAN)
    assert doc.metadata[Meta.REASON] == "low_language_score"
    assert doc.metadata[Meta.LANGUAGE] == "ko"


def test_english_article_under_korean_chrome_is_english_once_chrome_is_gone(stage):
    """Why boilerplate removal should run before language ID."""
    page = "\n".join(
        [
            "홍길동 기자 hong@example.com",
            "로그인 회원가입 공유하기 페이스북 트위터 카카오톡",
            "Breaking: the central bank raised rates by 25 basis points on Thursday.",
            "무단전재 및 재배포 금지",
        ]
    )
    assert run_one(stage, page).metadata[Meta.LANGUAGE] == "ko"
    assert run_one(stage, remove_boilerplate(page)[0]).metadata[Meta.LANGUAGE] == "en"


def test_stage_pickles_without_the_model(stage):
    run_one(stage, KOREAN)  # model now loaded in this process
    assert stage.cfg.model_path in langid._MODELS
    blob = pickle.dumps(stage)
    assert len(blob) < 50_000  # the .ftz alone is 938 kB
    clone = pickle.loads(blob)
    assert run_one(clone, ENGLISH).metadata[Meta.LANGUAGE] == "en"


def test_missing_or_empty_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="langid.model_path"):
        LangIdStage(LangIdConfig(model_path=str(tmp_path / "lid.176.ftz")))
    with pytest.raises(ValueError, match="langid.model_path is empty"):
        LangIdStage(LangIdConfig())


# ---- Korean-aware decision over lid.176 --------------------------------------------------------


def test_script_counts_by_script():
    c = langid.script_counts("한국어 ㅋㅋ テスト 漢字 abc Ωλ 123")
    assert (c.hangul, c.kana, c.han, c.latin, c.other) == (5, 3, 2, 3, 2)


def _regex_counts(text: str) -> tuple[int, ...]:
    """The counts as the five regexes' matches (what the code-point table must reproduce)."""
    letters = len(langid._LETTER.findall(text))
    hangul, kana, han, latin = (len(p.findall(text)) for p in langid._SCRIPTS)
    return hangul, kana, han, latin, max(0, letters - hangul - kana - han - latin)


def test_script_counts_equal_the_regex_matches_on_random_and_real_text(testdata):
    rng = random.Random(5)
    ranges = [(0, 0x250), (0x370, 0x530), (0x1100, 0x1200), (0x3000, 0x3200), (0x3400, 0xA000), (0xAC00, 0xD7A4)]
    ranges += [(0xD7B0, 0xE000), (0xF900, 0xFB00), (0xFF00, 0x10000), (0x10000, 0x10500), (0x1D400, 0x1D800)]
    ranges += [(0x1F300, 0x1F700), (0x20000, 0x20100), (0, 0x110000)]  # lone surrogates (0xD800-0xDFFF) included
    for _ in range(3_000):
        lo, hi = rng.choice(ranges), rng.choice(ranges)
        text = "".join(chr(rng.randrange(*rng.choice((lo, hi)))) for _ in range(rng.randint(0, 40)))
        c = langid.script_counts(text)
        assert (c.hangul, c.kana, c.han, c.latin, c.other) == _regex_counts(text), repr(text)
    for path in sorted(testdata.glob("korean_text/**/*.*"))[:50]:
        text = path.read_text(encoding="utf-8", errors="replace")
        c = langid.script_counts(text)
        assert (c.hangul, c.kana, c.han, c.latin, c.other) == _regex_counts(text)


def test_script_classes_do_not_overlap_and_stay_in_the_bmp():
    """The table gives each code point one script: the four classes must be disjoint, and hold no character
    beyond U+FFFF (those are counted as letters only)."""
    seen: set[int] = set()
    for pattern in langid._SCRIPTS:
        points = {m.start() for m in pattern.finditer("".join(map(chr, range(0x110000))))}
        assert max(points) < 0x10000 and not points & seen
        seen |= points


def test_hangul_share_weighs_latin_letters_per_syllable():
    c = langid.script_counts("딥러닝 deep")  # 3 syllables, 4 letters = 4/2 syllables at 2 letters each
    assert c.hangul_share(2.0) == pytest.approx(3 / 5)
    assert langid.script_counts("漢字").hangul_share(2.3) == 0.0  # Han is neutral: no Hangul, no share


CFG = LangIdConfig(model_path="unused")


def test_hangul_text_is_korean_whatever_lid_says():
    counts = langid.script_counts("잼따아오으어")
    assert langid.script_decision([("en", 0.4), ("ja", 0.1)], counts, CFG) == ("ko", 1.0)


def test_model_score_kept_when_it_agrees_and_is_higher():
    counts = langid.script_counts("우리 팀은 deep learning 기반의 추천 시스템을 개발합니다")
    lang, score = langid.script_decision([("ko", 0.99)], counts, CFG)
    assert lang == "ko" and score == 0.99


def test_korean_refused_without_enough_hangul():
    counts = langid.script_counts("The committee met on Tuesday to discuss the new budget 이번")
    assert langid.script_decision([("ko", 0.6), ("en", 0.3)], counts, CFG) == ("en", 0.3)
    assert langid.script_decision([("ko", 0.6)], langid.script_counts("福娘童話集"), CFG) == ("", 0.0)


def test_kana_text_is_never_korean_by_script():
    counts = langid.script_counts("カード 한국 ひらがな")  # some Hangul, but a kana-heavy line
    assert langid.script_decision([("ja", 0.7)], counts, CFG)[0] == "ja"


def test_script_rules_off_is_lid176_alone(lid_model_path):
    short = "좋아요."  # lid.176 calls this English
    plain = LangIdConfig(model_path=str(lid_model_path), script_rules=False)
    aware = LangIdConfig(model_path=str(lid_model_path))
    assert langid.identify(short, plain)[0] != "ko"
    assert langid.identify(short, aware) == ("ko", 1.0)


@pytest.mark.parametrize(
    "text",
    ["ㅋㅋㅋㅋㅋ", "잼있어요.", "너무너무 좋아요!!", "선체(船體)는 고페르나무로 되고 안쪽에는 역청(瀝靑)을 칠하였다."],
)
def test_short_and_hanja_korean_kept_by_the_stage(stage, text):
    doc = run_one(stage, text)
    assert doc.metadata[Meta.LANGUAGE] == "ko"
    assert doc.metadata.get(Meta.OUTCOME, "kept") == "kept"


@pytest.mark.parametrize("text", [JAPANESE, "图注：奥尔德林的圣餐杯回到了地球上", "欲張りなイヌ"])
def test_chinese_and_japanese_never_called_korean(stage, text):
    assert run_one(stage, text).metadata[Meta.LANGUAGE] != "ko"


def test_line_level_removes_lines_of_languages_not_kept(lid_model_path):
    cfg = LangIdConfig(model_path=str(lid_model_path), granularity="line")
    text = f"{KOREAN}\n{JAPANESE}\n2024.03.04 10:31\n{KOREAN}"
    doc = run_one(LangIdStage(cfg), text)
    assert doc.metadata[Meta.LANGUAGE] == "ko"
    assert doc.text == f"{KOREAN}\n2024.03.04 10:31\n{KOREAN}"  # the date has no language: kept
    # document level keeps the text as it is
    assert run_one(LangIdStage(LangIdConfig(model_path=str(lid_model_path))), text).text == text


def test_line_level_language_is_the_one_with_most_characters(lid_model_path):
    cfg = LangIdConfig(model_path=str(lid_model_path), granularity="line")
    lang, score, lines = langid.identify_lines(f"{ENGLISH}\n\n{ENGLISH}\n안녕하세요", cfg)
    assert lang == "en" and score > 0.9
    assert [lab for _, lab, _ in lines] == ["en", "", "en", "ko"]


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [("granularity", "page", "langid.granularity"), ("hangul_min_share", 1.5, "langid.hangul_min_share")],
)
def test_bad_langid_settings_are_refused(lid_model_path, key, value, match):
    cfg = LangIdConfig(model_path=str(lid_model_path), **{key: value})
    with pytest.raises(ValueError, match=match):
        LangIdStage(cfg)
