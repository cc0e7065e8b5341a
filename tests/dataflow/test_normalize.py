"""Unicode and whitespace normalization: NFC Hangul, odd spaces, control characters, mojibake."""

from __future__ import annotations

import json
import random
import re
import unicodedata

import pytest
from datatrove.data import Document

from dataflow.config import NormalizeConfig
from dataflow.document import Meta
from dataflow.stages import normalize
from dataflow.stages.normalize import NormalizeStage, normalize_text

CFG = NormalizeConfig()


def test_decomposed_hangul_is_composed_to_syllables():
    nfd = unicodedata.normalize("NFD", "한국어 문장")
    assert len(nfd) == 15  # 5 syllables as 14 jamo, and a space
    out = normalize_text(nfd, CFG)
    assert out == "한국어 문장"
    assert len(out) == 6


def test_compatibility_jamo_survive():
    assert normalize_text("ㅋㅋㅋ 진짜 웃기다 ㅠㅠ", CFG) == "ㅋㅋㅋ 진짜 웃기다 ㅠㅠ"


def test_odd_spaces_become_plain_spaces():
    text = "가\u00a0나\u3000다\u2003라\u202f마\u3164바"
    assert normalize_text(text, CFG) == "가 나 다 라 마 바"


def test_invisible_format_characters_are_removed():
    text = "\ufeff안\u200b녕\u00adhello\u202eworld\u2060!"
    assert normalize_text(text, CFG) == "안녕helloworld!"


def test_zero_width_joiner_in_emoji_is_kept():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalize_text(f"가족 {family}", CFG) == f"가족 {family}"


def test_control_characters_removed_but_tab_and_newline_kept():
    text = "a\x00b\x07c\td\r\ne\rf\x0bg\x1bh\x7fi\x85j"
    assert normalize_text(text, NormalizeConfig(fix_mojibake=False)) == "abc\td\ne\nfg" + "hi\nj"
    # with ftfy a C1 control reads as the cp1252 byte it almost always is: 0x85 is an ellipsis
    assert normalize_text("기다려\x85", CFG) == "기다려…"


def test_lone_surrogates_never_reach_the_output():
    assert normalize_text("가\ud800나", NormalizeConfig(fix_mojibake=False)) == "가나"
    assert normalize_text("가\ud800나", CFG) == "가\ufffd나"  # ftfy marks it as a replacement character


def test_whitespace_runs_and_blank_lines():
    text = "\n\n  들여쓰기  유지   \n\n\n\n다음    문단\t \n\n\n"
    assert normalize_text(text, CFG) == "  들여쓰기 유지\n\n다음 문단"
    assert normalize_text(text, NormalizeConfig(max_blank_lines=0)) == "  들여쓰기 유지\n다음 문단"
    assert normalize_text("a\n\n\n\nb", NormalizeConfig(max_blank_lines=2)) == "a\n\n\nb"


def test_mojibake_is_repaired():
    assert normalize_text("한국어 텍스트".encode().decode("latin-1"), CFG) == "한국어 텍스트"
    assert normalize_text("café résumé".encode().decode("cp1252"), CFG) == "café résumé"


def test_correct_korean_with_curly_quotes_is_untouched():
    text = "그는 “시험인증은 준비가 전부다”라고 말했다. ‘금강’이라는 이름은 불경에서 왔다. ＡＢＣ"
    assert normalize_text(text, CFG) == text


def test_mojibake_repair_can_be_turned_off():
    broken = "한국어".encode().decode("latin-1")
    out = normalize_text(broken, NormalizeConfig(fix_mojibake=False))
    assert "한" not in out


@pytest.mark.parametrize("form", ["NFD", "NFKD", "nfc"])
def test_decomposing_forms_are_rejected(form):
    with pytest.raises(ValueError, match="NFC"):
        NormalizeStage(NormalizeConfig(form=form))


def test_stage_normalizes_and_drops_empty_documents():
    stage = NormalizeStage(CFG)
    docs = [
        Document(text="한\u00a0국", id="a"),
        Document(text=" \u200b\n\u3000\n\t", id="b"),
        Document(text="", id="c"),
    ]
    out = {d.id: d for d in stage.run(docs)}
    assert out["a"].text == "한 국"
    assert out["a"].metadata.get(Meta.OUTCOME, "kept") == "kept"
    for doc_id in ("b", "c"):
        assert out[doc_id].metadata[Meta.OUTCOME] == "dropped"
        assert out[doc_id].metadata[Meta.REASON] == "empty_after_normalize"
        assert out[doc_id].metadata[Meta.STAGE] == "normalize"
    rows = stage.ledger.to_rows("t")
    dropped = sum(r["docs_in"] for r in rows if r["reason"] == "empty_after_normalize")
    kept = sum(r["docs_out"] for r in rows)
    assert (dropped, kept, sum(r["docs_in"] for r in rows)) == (2, 1, 3)


def _ftfy_itself(text: str) -> str:
    import ftfy

    return ftfy.fix_text(text, normalize._ftfy_config())


def _mojibake_variants(text: str) -> list[str]:
    """``text`` as it reads after each wrong decoding ftfy knows, and with such a line in the middle of good ones."""
    out = []
    for codec in ("latin-1", "cp1252", "cp1251", "mac_roman", "cp437", "iso-8859-2"):
        bad = text.encode("utf-8").decode(codec, errors="replace")
        out += [bad, f"{text}\n{bad}\n{text}", f"{text}\nÃ {bad[:20]}"]
    return out


def test_ftfy_pre_check_gives_ftfys_output_on_real_and_broken_text(testdata):
    """fix_mojibake skips ftfy where ftfy_may_change says it would change nothing: the output must be ftfy's on
    every non-ASCII text (ASCII text skipped ftfy before the pre-check too), including mojibake lines among good
    ones, line-start triggers and texts that only look bad."""
    texts = [
        p.read_text(encoding="utf-8", errors="replace")[:4000] for p in sorted(testdata.glob("korean_text/**/*.*"))
    ]
    gt = testdata / "web/scrapinghub_article_extraction_benchmark/ground-truth.json"
    texts += [v["articleBody"] for v in json.loads(gt.read_text(encoding="utf-8")).values()]
    texts = [t for t in texts if t and not t.isascii()]
    assert len(texts) > 100
    hard = ["cafÃ© au lait", "a\nÃ b", "Â c", "가\ud800나", "a\x85b", "가\x1b[31mred", "x ÃŸ\ny", "²³ ¼½", "•‹ ½"]
    cases = texts + [v for t in texts[:40] + ["café résumé", "한국어 텍스트"] for v in _mojibake_variants(t)] + hard
    skipped = 0
    for text in cases:
        assert normalize.fix_mojibake(text) == _ftfy_itself(text), text[:80]
        skipped += not normalize.ftfy_may_change(text)
    assert skipped > len(texts) / 2  # the pre-check does skip ftfy on most real text


def test_ftfy_pre_check_on_random_strings_of_the_characters_ftfy_looks_at():
    """Random strings over the characters ftfy's mojibake pattern names, line breaks, spaces, Hangul and ASCII:
    wherever the pre-check says ftfy would change nothing, ftfy indeed returns the text unchanged."""
    rng = random.Random(7)
    alphabet = list("ÃÂÅâ€™œ¢£¥¦¤¨¬¯¸ƒˆ˜†‡‰ªº©®»«¡¿•‹›²³¹±¼½¾×µÀÑØÜÝßàñα-ωаяЁЯ│┌═▀░ \n\t가나다abcXYZ.,")
    alphabet += ["\x85", "\x1b", "\ud83d"]
    checked = 0
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        if not normalize.ftfy_may_change(text):
            assert _ftfy_itself(text) == text, repr(text)
            checked += 1
    assert checked > 2_000


def _whole_text_search(text: str) -> bool:
    """The pre-check as a search over the whole text (the windows must find exactly what it finds)."""
    from ftfy.badness import BADNESS_RE

    return bool(normalize._FTFY_OTHER_TRIGGERS.search(text) or BADNESS_RE.search(text))


def test_windows_around_suspect_characters_find_what_a_whole_text_search_finds(testdata):
    """Long texts with mojibake fragments and single characters of ftfy's pattern at random places (edges, line
    starts, next to each other, far apart): the windowed search says the same as a search of the whole text."""
    gt = testdata / "web/scrapinghub_article_extraction_benchmark/ground-truth.json"
    real = [v["articleBody"] for v in json.loads(gt.read_text(encoding="utf-8")).values()]
    words = ["café", "naïve “quoted” — dash", "€5 ½", "Привет", "한국어"]
    fragments = [bad for word in words for bad in _mojibake_variants(word)]
    singles = list("ÃÂâ€™œ¢£¬ƒ•‹²³¼½×µÀÑßàñаяЁЯ│┌═▀░’“”\xa0") + ["\n", " "]
    rng = random.Random(11)
    found = 0
    for _ in range(3_000):
        base = rng.choice(real)
        text = list(base[: rng.randint(0, 300)] if rng.random() < 0.5 else "plain ascii text " * rng.randint(1, 20))
        for _ in range(rng.randint(1, 6)):
            piece = rng.choice(fragments)[: rng.randint(1, 8)] if rng.random() < 0.3 else rng.choice(singles)
            at = rng.choice([0, len(text), rng.randint(0, len(text))])
            text[at:at] = piece
        text = "".join(text)
        assert normalize.ftfy_may_change(text) == _whole_text_search(text), repr(text)
        found += _whole_text_search(text)
    assert 300 < found < 2_700  # both answers are common
    # ftfy's alternatives whose match runs furthest from its characters of the pattern: 'a Ã ' starts two before
    # its 'Ã', 'ГўВЂВ' + any + a letter ends two after its last Cyrillic letter
    far = ["text ab Ã cd", "text ab\tÃ  cd", "text ГўВЂВxa more", "ГўВЂВ a", "xГўВЂВ.b", "ГўВЂВ\na"]
    for text in real + [v for t in real[:20] for v in _mojibake_variants(t)] + far:
        assert normalize.ftfy_may_change(text) == _whole_text_search(text), text[:80]


@pytest.mark.parametrize(
    ("pattern", "reach"),
    [
        (r"ab|c[de]?", 1),
        (r"^Ã[ ]|xyz", 2),  # '^' without MULTILINE: the text's start, which pos keeps
        (r"a\b", None),  # a word boundary reads the character after the match
        (r"ab$", None),
        (r"(?=x)ab", None),
        (r"(?<=x)ab", None),
        (r"a+", None),  # unbounded
        (r"(?m:^a)", None),  # '^' after every line break
        (r"(a)\1", None),
    ],
)
def test_reach_refuses_patterns_a_window_edge_could_change(pattern, reach):
    assert normalize._reach(re.compile(pattern)) == reach


def test_reach_of_ftfys_pattern_is_small():
    from ftfy.badness import BADNESS_RE

    assert normalize._reach(BADNESS_RE) == 6  # so the windows are 13 characters around each suspect
