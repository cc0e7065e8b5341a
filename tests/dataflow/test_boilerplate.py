"""Boilerplate lines of Korean and English pages go; sentences that mention the same words stay."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from dataflow.config import BoilerplateConfig
from dataflow.document import Meta
from dataflow.stages.boilerplate import RULES, BoilerplateStage, remove_boilerplate

BODY = "정부는 오늘 새로운 경제 정책을 발표했다. 이번 정책은 중소기업 지원에 초점을 맞췄다."

BOILERPLATE = [
    ("chrome", "공유하기"),
    ("chrome", "페이스북 트위터 카카오톡"),
    ("chrome", "카카오톡 공유 | 페이스북 공유 | URL복사"),
    ("chrome", "로그인 | 회원가입"),
    ("chrome", "댓글 0"),
    ("chrome", "좋아요 12 · 댓글(3)"),
    ("chrome", "구독"),
    ("chrome", "기사제보"),
    ("chrome", "이전글 다음글 목록"),
    ("chrome", "맨위로"),
    ("chrome", "입력 2024.01.01 12:00 수정 2024.01.02 13:05"),
    ("chrome", "회사소개 | 광고문의 | 이용약관 | 개인정보처리방침 | 청소년보호정책"),
    ("chrome", "Share Facebook Twitter Email"),
    ("chrome", "Back to top"),
    ("byline", "홍길동 기자 hong@example.com"),
    ("byline", "홍길동 기자(hong@example.com)"),
    ("byline", "김철수·이영희 기자"),
    ("byline", "글·사진=박민수 기자"),
    ("byline", "By Jane Doe"),
    ("copyright", "<저작권자 ⓒ 연합뉴스, 무단 전재-재배포 금지>"),
    ("copyright", "무단전재 및 재배포 금지"),
    ("copyright", "저작권자 © 한국일보. 무단 전재 및 재배포를 금합니다."),
    ("copyright", "Copyright © 2024 Example Inc. All rights reserved."),
    ("copyright", "Copyrights ⓒ 스포츠조선. 무단 전재 및 재배포 금지"),
    ("timestamp", "2024/01/01 12:00 송고"),
    ("timestamp", "기사입력 2024년 1월 1일 오후 3시"),
    ("timestamp", "Updated: January 2, 2024 at 10:00 a.m."),
    ("timestamp", "최종 업데이트 2024-03-18 · 생활백서 편집팀"),
    ("news_tip", "▶ 제보는 카카오톡 okjebo"),
    ("news_tip", "▶ 푸른뉴스 기사제보 newsroom@example.org"),
    ("promo", "▶ 네이버에서 한국일보 구독하기"),
    ("photo_credit", "사진=연합뉴스"),
    ("photo_credit", "(Credit: Pixabay/CC0 Public Domain)"),
    ("site_footer", "발행인: 홍길동 | 편집인: 김철수 | 등록번호: 서울 아00000 | 대표전화: 02-000-0000"),
    ("nav_link", "이전 포스트: https://blog.example.com/100207404473"),
    ("hashtags", "#우유,#인류,#고인류학"),
    ("symbols", "▼"),
]

SENTENCES = [
    "이 신문은 기사마다 무단전재 및 재배포 금지 문구를 붙인다.",
    "그는 2019년 저작권법 개정으로 무단 전재에 대한 처벌이 강화되었다고 말했다.",
    "로그인하지 않아도 댓글을 달 수 있도록 서비스가 바뀌었다.",
    "구독자 수가 100만 명을 넘었다.",
    "사용자는 페이스북, 트위터, 카카오톡 등 여러 SNS로 기사를 공유할 수 있다.",
    "홍길동 기자는 20년 동안 경제 분야를 취재했다.",
    "다음 달부터 요금이 오른다.",
    "좋아요.",
    "Copyright law protects original works of authorship.",
    "Please log in to your account before you share the file with your team.",
    "By the end of the year, prices had doubled.",
    "자료를 모아 보고서를 작성했다.",
    "2024년 1월 1일 새해가 밝았다.",
    "시민 제보를 받은 경찰은 현장에 출동해 상황을 살폈다.",
]


@pytest.mark.parametrize(("rule", "line"), BOILERPLATE)
def test_boilerplate_line_is_removed_by_its_rule(rule, line):
    text, fired = remove_boilerplate(f"{BODY}\n{line}\n{BODY}")
    assert text == f"{BODY}\n{BODY}"
    assert fired == {rule: 1}


@pytest.mark.parametrize("line", SENTENCES)
def test_sentences_mentioning_chrome_words_are_kept(line):
    text, fired = remove_boilerplate(f"{BODY}\n{line}")
    assert text == f"{BODY}\n{line}"
    assert not fired


def test_every_rule_is_tested():
    assert {r.name for r in RULES} <= {rule for rule, _ in BOILERPLATE}


@pytest.mark.parametrize(
    ("line", "rest"),
    [
        ("(서울=연합뉴스) 김철수 기자 = 서울시는 요금을 올린다고 밝혔다.", "서울시는 요금을 올린다고 밝혔다."),
        ("[한국일보=홍길동 기자] 정부는 오늘 정책을 발표했다.", "정부는 오늘 정책을 발표했다."),
        ("【서울=뉴시스】홍길동 기자 = 비가 온다.", "비가 온다."),
    ],
)
def test_news_agency_dateline_prefix_is_cut_and_sentence_kept(line, rest):
    text, fired = remove_boilerplate(line)
    assert text == rest
    assert fired == {"dateline": 1}


def test_formula_in_brackets_is_not_a_dateline():
    line = "(x=1) 일 때 함수의 값은 2이다."
    assert remove_boilerplate(line) == (line, {})


def test_byline_glued_to_last_sentence_is_cut():
    text, fired = remove_boilerplate("병살타로 처리했다.부산=선수민 기자 sunsoo@example.com")
    assert text == "병살타로 처리했다."
    assert fired == {"trailing_byline": 1}


def test_shortcuts_decide_as_the_full_rules_on_real_lines(testdata):
    """The byline cut looks for '@' before its pattern, the chrome rule matches the whole line before looking for
    a phrase: on every line of the Korean and English test texts (and each with its '@' gone) the pattern alone
    says the same."""
    import json

    from dataflow.stages import boilerplate as bp

    gt = testdata / "web/scrapinghub_article_extraction_benchmark/ground-truth.json"
    texts = [v["articleBody"] for v in json.loads(gt.read_text(encoding="utf-8")).values()]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(testdata.glob("korean_text/**/*.*"))]
    lines = [line.strip() for t in texts for line in t.split("\n") if line.strip()]
    lines += ["병살타로 처리했다.부산=선수민 기자 sunsoo@example.com", "공유하기 | 페이스북 | 트위터", "댓글 0"]
    lines += [line.replace("@", "(at)") for line in lines if "@" in line]
    assert len(lines) > 5_000 and sum("@" in line for line in lines) > 5
    cut = chrome = 0
    for line in lines:
        m = bp._TRAILING_BYLINE.search(line)
        assert bp.strip_trailing_byline(line) == (line if m is None or m.start() == 0 else line[: m.start()].rstrip())
        has_phrase, whole = bp._HAS_PHRASE.search(line) is not None, bp._CHROME_LINE.fullmatch(line) is not None
        assert bp._chrome(line) == (len(line) <= 150 and has_phrase and whole)
        cut += m is not None
        chrome += bp._chrome(line)
    assert cut and chrome  # both rules fire on some lines


def test_blank_line_runs_left_by_removals_collapse():
    text, _ = remove_boilerplate(f"{BODY}\n\n공유하기\n\n{BODY}\n\n무단전재 및 재배포 금지\n")
    assert text == f"{BODY}\n\n{BODY}"


def test_pathological_line_is_fast():
    # a chrome word followed by a long run of separators and digits that finally fails to match
    line = "공유 " + "1." * 70 + "x"
    assert remove_boilerplate(line) == (line, {})


def test_stage_records_signals_and_drops_pages_of_chrome_only():
    stage = BoilerplateStage(BoilerplateConfig())
    page = f"홍길동 기자\n{BODY}\n공유하기\n무단전재 및 재배포 금지"
    chrome = "로그인 | 회원가입\n이전글 다음글 목록\nCopyright © 2024 Example Inc. All rights reserved."
    docs = [Document(text=page, id="page"), Document(text=chrome, id="chrome")]
    out = {d.id: d for d in stage.run(docs)}
    assert out["page"].text == BODY
    signals = out["page"].metadata[Meta.QUALITY_SIGNALS]
    assert signals["boilerplate_lines"] == 3
    assert signals["boilerplate_chars"] == len(page) - len(BODY)
    assert out["chrome"].metadata[Meta.REASON] == "boilerplate_only"
    rows = stage.ledger.to_rows("t")
    assert sum(r["docs_in"] for r in rows if r["reason"] == "boilerplate_only") == 1
    assert sum(r["docs_out"] for r in rows) == 1


def test_disabled_stage_changes_nothing():
    stage = BoilerplateStage(BoilerplateConfig(enabled=False))
    (doc,) = stage.run([Document(text="공유하기\n" + BODY, id="a")])
    assert doc.text == "공유하기\n" + BODY
