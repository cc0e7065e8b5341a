"""Write the demo corpus files that are bytes rather than hand-editable UTF-8 text.

    .venv/bin/python samples/make_binary_fixtures.py

Deterministic: the same bytes on every run (gzip mtime 0, fixed WARC dates and record ids,
a seeded random generator for the junk file), so the committed files can be regenerated and
compared. All text below was written for this project; see samples/README.md for what each
file tests.
"""

# ruff: noqa: E501  (the article paragraphs below are prose, one paragraph per line)

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

DEMO = Path(__file__).resolve().parent / "demo"

# ---- texts (original) -------------------------------------------------------------------------

COFFEE_TITLE = "원두 보관, 냉동실에 넣어도 될까"
COFFEE_PARAS = [
    "집에서 커피를 내려 마신 지 3년째입니다. 처음에는 마트에서 분쇄된 원두를 사서 썼는데, 동네 로스터리에서 갓 볶은 원두를 맛본 뒤로는 조금 번거롭더라도 원두를 직접 갈아 마시고 있습니다. 그런데 원두를 한 번에 많이 사 두면 향이 금방 날아가 버려서 보관 방법을 여러 가지로 시험해 보았습니다.",
    "원두의 가장 큰 적은 공기와 습기, 빛, 그리고 열입니다. 볶은 지 2주가 지나면 향이 눈에 띄게 약해지기 때문에 한 번에 2주 안에 마실 만큼만 사는 것이 가장 좋습니다. 봉투에 달린 작은 밸브는 원두에서 나오는 가스를 빼 주는 장치이니 봉투째 밀봉해 서늘한 곳에 두면 됩니다.",
    "냉동 보관은 오래 두어야 할 때만 추천합니다. 한 번 마실 만큼씩 나누어 밀봉한 뒤 얼리고, 꺼낸 원두는 다시 넣지 않아야 합니다. 얼었다 녹기를 반복하면 표면에 물기가 맺혀 맛이 크게 떨어집니다. 냉장실은 온도 변화가 잦고 음식 냄새가 배기 쉬워서 오히려 피하는 편이 낫습니다.",
    "어제는 저녁에 먹은 똠얌꿍의 새콤한 맛이 입에 남아 있어서 산미가 밝은 에티오피아 원두를 골라 내렸는데 궁합이 꽤 좋았습니다. 보관만 잘해도 같은 원두로 훨씬 맛있는 커피를 마실 수 있으니 한번 시도해 보세요.",
]

BUS_TITLE = "한빛시 시내버스 노선 12개 개편…출퇴근 배차 간격 줄인다"
BUS_PARAS = [
    "한빛시가 다음 달 첫째 주 월요일부터 시내버스 12개 노선을 개편한다. 새로 조성된 택지 지구와 산업단지를 오가는 수요가 늘었지만 기존 노선은 10년 넘게 그대로여서 출퇴근 시간마다 승객이 몰렸기 때문이다. 시는 지난해 교통카드 이용 자료를 분석해 승객이 적은 구간은 줄이고 혼잡한 구간에 차량을 더 배치했다.",
    "가장 큰 변화는 출퇴근 시간 배차 간격이다. 주요 간선 노선 네 곳은 오전 7시부터 9시까지 배차 간격이 15분에서 8분으로 줄어든다. 산업단지를 지나는 노선에는 교대 근무자를 위해 밤 11시 이후 막차가 새로 생긴다.",
    "반면 이용객이 적었던 일부 지선 노선은 통합되거나 수요응답형 버스로 바뀐다. 수요응답형 버스는 정해진 시간표 없이 앱이나 전화로 호출하면 가까운 정류장으로 오는 방식이다. 시는 어르신들이 불편을 겪지 않도록 마을회관과 경로당에서 이용 방법을 안내할 계획이다.",
    "바뀐 노선과 시간표는 정류장 안내판과 시 누리집, 교통 정보 앱에서 확인할 수 있다. 시는 개편 후 석 달 동안 시민 의견을 받아 불편 사항을 보완하겠다고 밝혔다.",
]

WARC_KO_TITLE = "어르신 스마트폰 교실, 손주에게 영상통화 거는 법부터 배워요"
WARC_KO_PARAS = [
    "한빛시 노인복지관이 운영하는 어르신 스마트폰 교실이 입소문을 타고 있다. 수업은 매주 월요일과 수요일 오전에 두 시간씩 열리며, 대학생 자원봉사자가 어르신 한 명 한 명의 옆에 앉아 천천히 설명해 준다. 이번 기수 수강생 30명 가운데 절반 이상이 일흔을 넘긴 어르신이다.",
    '첫 수업의 주제는 손주에게 영상통화 걸기다. 버튼의 위치를 외우기보다 화면에 나타나는 그림을 보고 스스로 찾아가는 방법을 익히게 한다. 한 수강생은 "처음으로 혼자 손녀 얼굴을 보며 통화했다"며 기뻐했다.',
    "이후 수업에서는 버스 도착 정보 확인, 병원 예약, 간편결제, 보이스피싱 문자 구별법 등 생활에 꼭 필요한 내용을 다룬다. 특히 가족을 사칭한 문자에 속지 않는 법을 배우는 시간에는 질문이 끊이지 않았다. 복지관은 수업이 끝난 뒤에도 궁금한 점을 물어볼 수 있도록 매주 금요일 오후에 상담 창구를 연다.",
]

WARC_KO2_TITLE = "층간소음, 이웃과 얼굴 붉히지 않고 푸는 법"
WARC_KO2_PARAS = [
    "공동주택에 사는 사람이라면 한 번쯤 층간소음 때문에 속을 끓여 본 적이 있을 것이다. 소음 문제는 감정이 쌓이기 시작하면 작은 소리에도 예민해지기 때문에 초기에 차분하게 대화하는 것이 무엇보다 중요하다. 직접 찾아가 항의하기보다 관리사무소를 통해 상황을 알리는 편이 다툼을 줄인다.",
    "소음을 내는 쪽도 할 수 있는 일이 많다. 아이가 있는 집은 거실에 두꺼운 매트를 깔고, 밤 10시 이후에는 세탁기나 청소기를 돌리지 않는 것이 좋다. 의자 다리에 소음 방지 패드를 붙이는 것만으로도 아래층에 전해지는 소리가 크게 줄어든다.",
    "대화로 해결되지 않을 때는 공공기관의 층간소음 상담 서비스를 이용할 수 있다. 전문 상담사가 양쪽 이야기를 듣고 필요하면 소음을 측정해 객관적인 자료를 제공한다. 감정적인 대응보다 이런 절차를 거치는 것이 결국 서로에게 이롭다.",
]

WARC_EN_TITLE = "A library of things opens in the old fire station"
WARC_EN_PARAS = [
    "Riverside's first library of things opened on Saturday in the renovated fire station on Elm Street. Instead of books, members can borrow drills, sewing machines, camping stoves, a carpet cleaner and even a pasta maker for up to one week.",
    "Volunteers collected and repaired most of the two hundred items over the winter. Borrowing is free for anyone with a public library card, and a small workshop in the back offers repair evenings twice a month.",
]

JSONL_RECORDS = [
    {
        "id": "note-ko-001",
        "url": "https://notes.hanbit.example/walking",
        "text": (
            "하루 30분 걷기는 가장 손쉬운 운동이지만 꾸준히 하기는 생각보다 어렵다. 시간을 따로 내기보다 출퇴근길에 "
            "한 정거장 먼저 내려 걷거나, 점심 식사 뒤 회사 주변을 한 바퀴 도는 식으로 일상에 끼워 넣는 것이 오래가는 "
            "비결이다. 걷는 속도는 옆 사람과 대화할 수 있지만 노래를 부르기는 조금 벅찬 정도가 적당하다.\n"
            "처음부터 목표를 높게 잡으면 며칠 만에 지치기 쉽다. 첫 주에는 하루 15분으로 시작해 매주 5분씩 늘려 가면 "
            "몸이 자연스럽게 적응한다. 발에 맞는 신발을 고르고, 걷기 전후로 종아리와 허벅지를 가볍게 풀어 주면 "
            "부상을 예방할 수 있다. 걸음 수를 기록해 주는 앱을 활용하면 작은 성취감이 쌓여 동기 부여에도 도움이 된다."
        ),
    },
    {
        "id": "note-ko-002",
        "url": "https://notes.hanbit.example/water",
        "text": (
            "여름철 수도 요금이 걱정된다면 생활 습관부터 돌아보자. 양치할 때 컵을 쓰고, 설거지는 물을 받아서 하는 것만으로도 "
            "하루 사용량을 크게 줄일 수 있다. 샤워 시간을 1분만 줄여도 한 사람이 한 달에 수백 리터의 물을 아끼게 된다.\n"
            "변기 물탱크에 물을 채운 페트병을 넣어 두는 방법은 오래된 변기에서 효과가 있지만, 최근의 절수형 변기에서는 "
            "오히려 세척력이 떨어질 수 있어 주의해야 한다. 수도꼭지 끝에 절수기를 달면 물줄기의 세기는 비슷하게 느껴지면서도 "
            "사용량은 줄어든다. 누수 여부는 모든 수도꼭지를 잠근 뒤 계량기 바늘이 움직이는지 보면 쉽게 확인할 수 있다. "
            "문의 사항은 담당자 이메일 water.saving@example.com 또는 010-8765-4321로 보내면 된다."
        ),
    },
    {
        "id": "note-en-001",
        "url": "https://notes.riverside.example/bread",
        "text": (
            "Baking bread at home is mostly a matter of patience. Mix flour, water, salt and a little yeast, then let time do "
            "the work: a long, cool rise in the fridge gives the loaf more flavour than any extra ingredient. Bake it hot, "
            "let it cool completely before slicing, and keep notes so that each loaf teaches you something for the next. "
            "Most failed loaves come from impatience rather than from a bad recipe. If the dough has not doubled, give it "
            "another hour. A cheap oven thermometer is worth more than a fancy mixer."
        ),
    },
    {"id": "note-ko-003", "url": "https://notes.hanbit.example/todo", "text": "다음 주에 정리 예정."},
]

KO_TXT_NOTICE = """한빛시 작은도서관 자원봉사자 모집 안내

한빛시 작은도서관 네트워크가 올해 하반기에 함께할 자원봉사자를 모집합니다. 작은도서관은 아파트 단지와 주민센터, 마을회관 등 생활 가까운 곳에 자리한 소규모 도서관으로, 주민들이 책을 빌리고 모임을 여는 동네 사랑방 역할을 하고 있습니다.

자원봉사자는 도서 대출과 반납, 서가 정리, 어린이 책 읽어 주기 프로그램 보조 등을 맡게 됩니다. 활동은 일주일에 한 번, 세 시간 정도이며 활동 시간은 희망에 따라 조정할 수 있습니다. 처음 참여하는 분들을 위해 활동 전에 두 차례 기본 교육을 진행합니다.

책을 좋아하고 이웃과 소통하는 일에 관심 있는 주민이라면 누구나 신청할 수 있습니다. 활동 실적은 자원봉사 포털에 봉사 시간으로 인정되며, 우수 활동자에게는 연말에 감사장을 드립니다. 신청서는 가까운 작은도서관이나 시립도서관 누리집에서 받을 수 있습니다.
"""


# ---- builders ----------------------------------------------------------------------------------


def page(title: str, paras: list[str], charset: str | None = "utf-8", site: str = "한빛일보") -> str:
    meta = f'<meta charset="{charset}">\n' if charset else ""
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    return (
        f'<!DOCTYPE html>\n<html lang="ko">\n<head>\n{meta}<title>{title} - {site}</title>\n</head>\n<body>\n'
        f'<div class="gnb"><a href="/">{site}</a> <a href="/news">뉴스</a> <a href="/life">생활</a> '
        f'<a href="/login">로그인</a></div>\n<article>\n<h1>{title}</h1>\n{body}\n</article>\n'
        f'<div class="share">공유하기 · 스크랩 · 댓글 0</div>\n<footer>Copyright ⓒ {site}. All rights reserved.</footer>\n'
        "</body>\n</html>\n"
    )


def en_page(title: str, paras: list[str]) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n</head>\n<body>\n'
        f'<nav><a href="/">The Riverside Gazette</a> <a href="/local">Local</a> <a href="/signin">Sign in</a></nav>\n'
        f"<article>\n<h1>{title}</h1>\n{body}\n</article>\n<footer>© The Riverside Gazette</footer>\n</body>\n</html>\n"
    )


def tiny_png() -> bytes:
    """A valid 1x1 PNG built with zlib, so the WARC holds one non-text response."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def warc(records: list[tuple[str, str, bytes]]) -> bytes:
    """A gzipped WARC with one warcinfo record and a response per (uri, content_type, body)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    info = writer.create_warcinfo_record(
        "demo-crawl.warc.gz",
        {"software": "samples/make_binary_fixtures.py", "description": "dataflow demo crawl (project-authored)"},
    )
    info.rec_headers.replace_header("WARC-Date", "2024-06-01T00:00:00Z")
    info.rec_headers.replace_header("WARC-Record-ID", "<urn:uuid:00000000-0000-4000-8000-000000000000>")
    writer.write_record(info)
    for i, (uri, ctype, body) in enumerate(records, start=1):
        http = StatusAndHeaders("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))], "HTTP/1.1")
        rec = writer.create_warc_record(
            uri,
            "response",
            payload=io.BytesIO(body),
            http_headers=http,
            warc_headers_dict={
                "WARC-Date": f"2024-06-01T00:00:{i:02d}Z",
                "WARC-Record-ID": f"<urn:uuid:00000000-0000-4000-8000-{i:012d}>",
            },
        )
        writer.write_record(rec)
    return buf.getvalue()


def main(demo: Path = DEMO) -> None:
    """Write every generated fixture under ``demo`` (the committed corpus by default)."""
    (demo / "archives").mkdir(parents=True, exist_ok=True)
    (demo / "extracted").mkdir(parents=True, exist_ok=True)
    (demo / "junk").mkdir(parents=True, exist_ok=True)
    (demo / "web").mkdir(parents=True, exist_ok=True)

    # a Korean page in the legacy encoding, declared by a meta tag; 똠 is a CP949 extension (not in
    # EUC-KR's 2,350 syllables), so a reader must decode "euc-kr" as cp949, as browsers do
    coffee = page(COFFEE_TITLE, COFFEE_PARAS, charset="euc-kr", site="커피일기")
    (demo / "web" / "ko_blog_coffee_beans_euckr.html").write_bytes(coffee.encode("cp949"))

    # a gzipped page, and the same kind of stream cut in half
    bus = page(BUS_TITLE, BUS_PARAS).encode("utf-8")
    (demo / "archives" / "ko_news_bus_routes.html.gz").write_bytes(gzip.compress(bus, mtime=0))
    noise = page(WARC_KO2_TITLE, WARC_KO2_PARAS).encode("utf-8")
    full = gzip.compress(noise, mtime=0)
    (demo / "archives" / "truncated_page.html.gz").write_bytes(full[: len(full) // 2])

    # a small crawl: UTF-8 Korean page, Korean page in cp949 with the charset only in the HTTP header,
    # an English page, and an image
    records = [
        ("https://news.hanbit.example/senior-smartphone", "text/html; charset=utf-8",
         page(WARC_KO_TITLE, WARC_KO_PARAS).encode("utf-8")),
        ("https://life.hanbit.example/noise", "text/html; charset=euc-kr",
         page(WARC_KO2_TITLE, WARC_KO2_PARAS, charset=None, site="생활정보").encode("cp949")),
        ("https://gazette.riverside.example/library-of-things", "text/html; charset=utf-8",
         en_page(WARC_EN_TITLE, WARC_EN_PARAS).encode("utf-8")),
        ("https://news.hanbit.example/img/pixel.png", "image/png", tiny_png()),
    ]  # fmt: skip
    (demo / "archives" / "demo_crawl.warc.gz").write_bytes(warc(records))

    # already-extracted text records
    lines = [json.dumps(r, ensure_ascii=False) for r in JSONL_RECORDS]
    (demo / "extracted" / "notes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (demo / "extracted" / "ko_volunteer_notice.txt").write_text(KO_TXT_NOTICE, encoding="utf-8")

    # junk: nothing at all, and random bytes that only claim to be HTML
    (demo / "junk" / "empty.html").write_bytes(b"")
    (demo / "junk" / "binary_junk.html").write_bytes(random.Random(20240601).randbytes(3000))


if __name__ == "__main__":
    main()
