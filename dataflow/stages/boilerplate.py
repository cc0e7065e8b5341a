"""Line-level removal of web chrome that HTML extraction leaves in Korean (and English) pages.

trafilatura keeps the article body but often also the byline, the copyright notice, share and
login buttons, timestamps and footer lines of Korean news and blog pages. Document-level
filters cannot remove those lines, and left in they teach a model to end every article with
"무단전재 및 재배포 금지". Each rule below removes a whole line (``dateline`` only strips a
prefix); every rule has a length cap and, where a real sentence could use the same words, a
sentence guard, so "이 신문은 기사마다 무단전재 및 재배포 금지 문구를 붙인다." stays.

Rules, in the order they are tried (``RULES``; names are stable and counted per document):

* ``chrome``: the line consists only of interface words (share/print/font-size buttons, SNS
  names, login/sign-up, comment/like/subscribe counters, previous/next/list/top links, footer
  menus such as 이용약관 | 개인정보처리방침) plus separators, counts and dates;
* ``byline``: reporter lines ("홍길동 기자 hong@example.com", "글·사진=홍길동 기자",
  "By Jane Doe"), or a lone e-mail address;
* ``dateline``: the agency prefix of a lead paragraph ("(서울=연합뉴스) 홍길동 기자 = ",
  "[OO일보=홍길동 기자] "); only the prefix goes, the sentence stays;
* ``copyright``: "ⓒ/©/Copyright/저작권자" with a year, "All rights reserved" or 무단·재배포
  wording; or 무단 전재/복제/재배포 wording in a short line that is not a sentence about it;
* ``timestamp``: "입력 2024.01.01 12:00 수정 …", "2024/01/01 12:00 송고", "Updated: Jan 2, 2024";
* ``news_tip``: "▶ 제보는 카카오톡 okjebo", "기사제보: jebo@example.com";
* ``promo``: arrow-bulleted calls to action ("▶ 네이버에서 OO일보 구독하기");
* ``photo_credit``: "사진=연합뉴스", "[자료: 통계청]";
* ``site_footer``: publisher imprint lines naming two or more of 발행인, 편집인, 등록번호,
  대표전화, 사업자등록번호, 청소년보호책임자, 통신판매업;
* ``nav_link``: "이전 포스트: https://…", "다음글 ▶ …";
* ``hashtags``: a line of tags only ("#우유,#인류,#고인류학");
* ``symbols``: a short line without a letter or digit ("▼", "* * *").

A reporter byline glued to the end of the last paragraph ("…처리했다.부산=홍길동 기자
hong@example.com") is cut off as ``trailing_byline`` when it ends with an e-mail address.

The stage records ``boilerplate_lines`` and ``boilerplate_chars`` in ``Meta.QUALITY_SIGNALS``
and drops ``boilerplate_only`` when no line is left.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from datatrove.data import Document

from dataflow.config import BoilerplateConfig
from dataflow.document import Meta
from dataflow.stages.base import Stage

# Interface words of Korean and English pages. A line is chrome only when it is made of these
# words and separators alone, so a sentence that merely mentions 로그인 or 구독 never matches.
CHROME_PHRASES_KO = """
공유|공유하기|스크랩|인쇄|인쇄하기|프린트|메일|이메일|메일보내기|기사보내기|글자크기|글자 크기|글씨크기|가|크게|작게
|페이스북|트위터|카카오톡|카톡|카카오스토리|카카오|밴드|네이버|블로그|라인|텔레그램|링크복사|링크 복사|URL복사|주소복사
|로그인|로그아웃|회원가입|아이디|비밀번호|찾기|마이페이지|댓글|댓글쓰기|댓글보기|전체댓글|답글|좋아요|싫어요|공감|추천
|비추천|찬성|반대|신고|신고하기|구독|구독하기|알림|알림설정|기사제보|제보하기|이전글|다음글|이전|다음|목록|목록으로
|맨위로|맨 위로|위로|위로가기|홈|홈으로|전체메뉴|메뉴|검색|닫기|더보기|바로가기|본문 바로가기|관련기사|관련 기사
|많이 본 뉴스|많이 본 기사|인기기사|주요뉴스|최신뉴스|실시간 뉴스|추천기사|조회|조회수|입력|수정|삭제|저장|북마크
|뉴스레터|앱 다운로드|이용약관|개인정보처리방침|개인정보 처리방침|청소년보호정책|이메일무단수집거부|고객센터|회사소개
|광고문의|광고안내|제휴문의|사이트맵|기사검색|오늘의 운세|TOP|RSS
"""
CHROME_PHRASES_EN = """
share|share this|share this article|facebook|twitter|linkedin|pinterest|reddit|whatsapp|email|e-mail|print|tweet
|copy link|log in|login|sign in|sign up|register|subscribe|subscribe now|newsletter|comments|comment|leave a comment
|reply|like|likes|menu|home|search|top|back to top|previous|next|previous post|next post|related|related articles
|related posts|read more|advertisement|sponsored|skip to content|follow us|privacy policy|terms of use|terms of service
|cookie policy|contact us|about us|sitemap
"""

_SEP = r"[\s|·•/>:()\[\]<>\-–—,]"
_NUM = r"\d+(?:[.,:/\-]\d+)*\.?"  # counts (댓글 0), dates and times (2024.01.01 12:00)


def _phrase_pattern() -> str:
    words = [p.strip() for p in (CHROME_PHRASES_KO + "|" + CHROME_PHRASES_EN).replace("\n", "").split("|")]
    phrases = sorted({re.escape(p).replace(r"\ ", r"\s+") for p in words if p}, key=len, reverse=True)
    # a phrase must end at a separator, a number or the line end: 공유 + 하기 never glue into a word
    return rf"(?:{'|'.join(phrases)})(?={_SEP}|\d|$)"


_PHRASE = _phrase_pattern()
# possessive: no backtracking between ways of splitting a line that does not match (linear time)
_CHROME_LINE = re.compile(rf"(?:{_SEP}|{_NUM}|{_PHRASE})++", re.IGNORECASE)
_HAS_PHRASE = re.compile(_PHRASE, re.IGNORECASE)

_NAME = r"[가-힣]{2,4}"
_NAMES = rf"{_NAME}(?:\s*[·,/]\s*{_NAME})*"
_TITLES = "기자 특파원 객원기자 인턴기자 선임기자 수습기자 전문기자 기상캐스터 논설위원 에디터 PD 앵커 리포터 통신원"
_TITLE = f"(?:{'|'.join(_TITLES.split())})"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_BYLINE_KO = re.compile(
    rf"[\[(<【]?\s*(?:(?:글|사진|글·사진|글/사진|영상|취재|정리|편집)\s*[=:]?\s*)?{_NAMES}\s*{_TITLE}\s*[\])>】]?"
    rf"\s*(?:[\[(<]?{_EMAIL}[\])>]?)?\s*(?:=|다른\s*기사\s*보기|기사\s*더\s*보기|\+?\s*구독(?:하기)?)?"
)
_BYLINE_EN = re.compile(r"(?:By|BY|Written by|Posted by|Author:)\s+[A-Z][\w.'’-]*,?(?:\s+(?:[A-Z][\w.'’-]*,?|and|&))*")
_LONE_EMAIL = re.compile(rf"[\[(<]?\s*{_EMAIL}\s*[\])>]?")
_DATELINE = re.compile(
    r"\s*[\[(【]\s*[가-힣A-Za-z0-9 ]{1,15}=\s*[^\[\]()【】\n]{1,25}?[\])】]"
    rf"\s*(?:{_NAMES}\s*{_TITLE}\s*=?)?\s*"
)
_OUTLET = re.compile(r"기자|특파원|뉴스|일보|신문|통신|뉴시스|방송|타임스|경제|저널|미디어|데일리|KBS|MBC|SBS|YTN|JTBC")
_COPYRIGHT_STRONG = re.compile(r"ⓒ|©|\(c\)|copyright|저작권자|all rights reserved", re.IGNORECASE)
_COPYRIGHT_CONTEXT = re.compile(r"(?:19|20)\d\d|all rights reserved|무단|재배포|전재|복제|금지", re.IGNORECASE)
_COPYRIGHT_WEAK = re.compile(r"무단\s*(?:전재|복제|배포|사용|게재)|재\s*배포\s*금지|전재\s*및\s*재\s*배포")
_COPYRIGHT_START = re.compile(rf"^[<\[(]?\s*(?:{_COPYRIGHT_WEAK.pattern})")
_COPYRIGHT_END = re.compile(r"(?:금합니다|금지합니다|금지됩니다|금지|금함)[.!>)\]]*$")
_TIMESTAMP = re.compile(
    r"(?:(?:기사\s*|최종\s*)?(?:입력|수정|등록|승인|업데이트|발행|게재|송고|작성)(?:일|시간)?\s*[:：]?\s*"
    r"\d{4}\s*[.\-/년]\s*\d{1,2}.{0,60}"
    r"|\d{4}[./-]\d{1,2}[./-]\d{1,2}\.?\s*\d{1,2}:\d{2}(?::\d{2})?\s*(?:송고|입력|수정|등록)?"
    r"|(?:Published|Updated|Posted|Last updated|Last modified)(?:\s+on)?\s*:?\s+.{0,50}\d{4}.{0,20})",
    re.IGNORECASE,
)
_NEWS_TIP = re.compile(
    r"[▶☞►▷※■□◆◇]?\s*(?:\S{1,12}\s+)?(?:기사\s*)?제보(?:는|하기)?\s*[:：]?\s*"  # outlet name first
    r"(?:카카오톡|카톡|이메일|메일|전화|☎|\S+@).*"
)
_PROMO = re.compile(
    r"[▶☞►▷→➤]\s*.{0,50}?(?:구독|바로가기|보기|클릭|다운로드|추가|참여|신청|확인하세요|무료)\S{0,6}\s*[.!]?"
)
_PHOTO = re.compile(
    r"[▲△▶■◆]?\s*[\[(]?\s*(?:사진|그래픽|자료|출처|이미지|영상|Credit|Photo|Image|Source)\s*(?:제공)?\s*[=:：]"
    r"\s*[^=\n]{1,40}",
    re.IGNORECASE,
)
_FOOTER_KEYS = re.compile(
    r"발행인|편집인|등록번호|등록일자|대표전화|사업자\s*등록번호|청소년\s*보호\s*책임자|통신판매업"
)
_NAV_LINK = re.compile(r"(?:이전|다음)\s*(?:글|포스트|기사|게시물|페이지)\s*[:：▶▷>]\s*.{0,100}")
_HASHTAGS = re.compile(r"(?:#[^\s#,]+[\s,]*)+")
_TRAILING_BYLINE = re.compile(rf"\s*(?:[가-힣]{{1,10}}=)?{_NAMES}\s*{_TITLE}\s*[\[(<]?{_EMAIL}[\])>]?\s*$")
_KO_SENTENCE = re.compile(r"(?:다|요|죠|까|니다)[.!?…]*[\"'”’)]*$")


def is_sentence(line: str) -> bool:
    """A line that reads as prose: a Korean predicate ending, or an English sentence of 6+ words."""
    words = line.split()
    if len(words) >= 3 and _KO_SENTENCE.search(line):
        return True
    return len(words) >= 6 and line.rstrip("\"'”’)").endswith((".", "!", "?"))


def _chrome(line: str) -> bool:
    # the anchored match first: it stops at a prose line's first word that is no phrase, where the phrase
    # search would try every phrase at every position of the line (0.79 -> 0.03 CPU-s on 50,826 bench lines)
    return len(line) <= 150 and _CHROME_LINE.fullmatch(line) is not None and _HAS_PHRASE.search(line) is not None


def _byline(line: str) -> bool:
    if len(line) > 80:
        return False
    return any(p.fullmatch(line) for p in (_BYLINE_KO, _LONE_EMAIL)) or (
        len(line) <= 60 and _BYLINE_EN.fullmatch(line) is not None
    )


def _copyright(line: str) -> bool:
    if _COPYRIGHT_STRONG.search(line):
        return len(line) <= 30 or (len(line) <= 160 and _COPYRIGHT_CONTEXT.search(line) is not None)
    if not _COPYRIGHT_WEAK.search(line) or len(line) > 80:
        return False
    short_notice = len(line) <= 60 and (_COPYRIGHT_START.match(line) or _COPYRIGHT_END.search(line))
    return bool(short_notice) or not is_sentence(line)


def _timestamp(line: str) -> bool:
    return len(line) <= 90 and _TIMESTAMP.fullmatch(line) is not None


def _news_tip(line: str) -> bool:
    return len(line) <= 100 and _NEWS_TIP.fullmatch(line) is not None


def _promo(line: str) -> bool:
    return len(line) <= 60 and _PROMO.fullmatch(line) is not None


def _photo_credit(line: str) -> bool:
    return len(line) <= 60 and _PHOTO.fullmatch(line) is not None and not is_sentence(line)


def _site_footer(line: str) -> bool:
    return len(line) <= 300 and len(set(_FOOTER_KEYS.findall(line))) >= 2


def _nav_link(line: str) -> bool:
    return len(line) <= 120 and _NAV_LINK.fullmatch(line) is not None


def _hashtags(line: str) -> bool:
    return _HASHTAGS.fullmatch(line) is not None


def _symbols(line: str) -> bool:
    return len(line) <= 20 and not any(c.isalnum() for c in line)


@dataclass(frozen=True)
class Rule:
    name: str
    matches: Callable[[str], bool]  # called on the stripped line


RULES: tuple[Rule, ...] = (
    Rule("chrome", _chrome),
    Rule("byline", _byline),
    Rule("copyright", _copyright),
    Rule("timestamp", _timestamp),
    Rule("news_tip", _news_tip),
    Rule("promo", _promo),
    Rule("photo_credit", _photo_credit),
    Rule("site_footer", _site_footer),
    Rule("nav_link", _nav_link),
    Rule("hashtags", _hashtags),
    Rule("symbols", _symbols),
)


def strip_dateline(line: str) -> str:
    """``line`` without a leading news-agency dateline such as "(서울=연합뉴스) 홍길동 기자 = "."""
    m = _DATELINE.match(line)
    if m is None or _OUTLET.search(m.group(0)) is None:
        return line
    return line[m.end() :]


def strip_trailing_byline(line: str) -> str:
    """``line`` without a reporter byline and e-mail glued to its end ("…했다.부산=홍길동 기자 hong@x.com")."""
    if "@" not in line:  # every match ends with an e-mail address (0.24 -> 0.01 CPU-s on 50,826 bench lines)
        return line
    m = _TRAILING_BYLINE.search(line)
    return line if m is None or m.start() == 0 else line[: m.start()].rstrip()


_PARTIAL = ("dateline", "trailing_byline")  # rules that cut part of a line, not the line


def remove_boilerplate(text: str) -> tuple[str, Counter[str]]:
    """(text without boilerplate lines, lines touched per rule name). Pure; blank lines are kept as separators."""
    kept: list[str] = []
    fired: Counter[str] = Counter()
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            kept.append("")
            continue
        for name, strip in (("dateline", strip_dateline), ("trailing_byline", strip_trailing_byline)):
            rest = strip(stripped)
            if rest != stripped:
                fired[name] += 1
                line = stripped = rest
        if not stripped:
            continue
        rule = next((r for r in RULES if r.matches(stripped)), None)
        if rule is None:
            kept.append(line)
        else:
            fired[rule.name] += 1
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    return (out if out.strip() else ""), fired


class BoilerplateStage(Stage):
    """Remove boilerplate lines in place, record how many, drop ``boilerplate_only`` when nothing is left."""

    name = "boilerplate"

    def __init__(self, cfg: BoilerplateConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def apply(self, doc: Document) -> str | None:
        if not self.cfg.enabled:
            return None
        before = len(doc.text)
        text, fired = remove_boilerplate(doc.text)
        signals = doc.metadata.setdefault(Meta.QUALITY_SIGNALS, {})
        signals["boilerplate_lines"] = float(sum(n for rule, n in fired.items() if rule not in _PARTIAL))
        signals["boilerplate_chars"] = float(before - len(text))
        doc.text = text
        return None if text else "boilerplate_only"
