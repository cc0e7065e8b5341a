"""The project-authored demo corpus (samples/demo) holds the cases samples/README.md promises.

These tests read the files with the standard library only (no pipeline stage), so they check
the corpus itself, not the code that will process it.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
import zlib
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dataflow.stages.pii import luhn_ok, valid_ip, valid_rrn

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DEMO = SAMPLES / "demo"
WEB = DEMO / "web"


class _Paragraphs(HTMLParser):
    """Text inside <p> elements: the article paragraphs, without most site chrome."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag == "p"

    def handle_endtag(self, tag):
        self.depth -= tag == "p"

    def handle_data(self, data):
        if self.depth > 0:
            self.parts.append(data.strip())


def paragraphs(raw: bytes, encoding: str = "utf-8") -> list[str]:
    parser = _Paragraphs()
    parser.feed(raw.decode(encoding))
    return [p for p in parser.parts if p]


def warc_responses(path: Path) -> list[tuple[str, str, bytes]]:
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as f:
        return [
            (
                r.rec_headers.get_header("WARC-Target-URI"),
                r.http_headers.get_header("Content-Type"),
                r.content_stream().read(),
            )
            for r in ArchiveIterator(f)
            if r.rec_type == "response"
        ]


def documents() -> dict[str, str]:
    """name -> paragraph text of every readable document (HTML, gz, WARC record, JSONL record, text)."""
    docs: dict[str, str] = {}
    for path in sorted(DEMO.rglob("*")):
        name = str(path.relative_to(DEMO))
        raw = path.read_bytes() if path.is_file() else b""
        if name.endswith(".html") and raw and name != "junk/binary_junk.html":
            encoding = "cp949" if b'charset="euc-kr"' in raw[:400] else "utf-8"
            docs[name] = "\n".join(paragraphs(raw, encoding))
        elif name.endswith(".html.gz") and "truncated" not in name:
            docs[name] = "\n".join(paragraphs(gzip.decompress(raw)))
        elif name.endswith(".warc.gz"):
            for uri, ctype, body in warc_responses(path):
                if ctype.startswith("text/html"):
                    encoding = "cp949" if "euc-kr" in ctype else "utf-8"
                    docs[f"{name}#{uri}"] = "\n".join(paragraphs(body, encoding))
        elif name.endswith(".jsonl"):
            for line in raw.decode("utf-8").splitlines():
                record = json.loads(line)
                docs[f"{name}#{record['id']}"] = record["text"]
        elif name.endswith(".txt"):
            docs[name] = raw.decode("utf-8")
    return docs


def test_corpus_size_and_count():
    files = [p for p in DEMO.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1_000_000
    # readable documents plus the two files that cannot be read at all (zero bytes, binary junk),
    # the truncated gzip and the WARC's image record
    assert len(documents()) + 4 >= 40


def test_korean_share_of_characters():
    """Roughly the recipe's 9:1 Korean:English mix among documents meant to be kept."""
    chars: dict[str, int] = defaultdict(int)
    for name, text in documents().items():
        if name.startswith(("junk/", "other_lang/")):
            continue
        hangul = len(re.findall(r"[가-힣]", text))
        latin = len(re.findall(r"[A-Za-z]", text))
        chars["ko" if hangul > latin else "en"] += len(text)
    assert chars["en"] > 0
    assert chars["ko"] / (chars["ko"] + chars["en"]) >= 0.80


def test_planted_rrns():
    text = "\n".join(paragraphs((WEB / "ko_explainer_rrn_privacy.html").read_bytes()))
    found = re.findall(r"\d{6}-\d{7}", text)
    assert found == ["780422-1520915", "640918-2381042"]
    # 7,8,0,4,2,2,1,5,2,0,9,1 x 2,3,4,5,6,7,8,9,2,3,4,5 = 14+24+0+20+12+14+8+45+4+0+36+5 = 182;
    # 182 % 11 = 6; (11 - 6) % 10 = 5 -> the last digit 5 checks
    assert valid_rrn("780422-1520915")
    # 6,4,0,9,1,8,2,3,8,1,0,4 -> 12+12+0+45+6+56+16+27+16+3+0+20 = 213; 213 % 11 = 4; 11 - 4 = 7 != 2
    assert not valid_rrn("640918-2381042")


def test_planted_card_phone_email_ip():
    scam = "\n".join(paragraphs((WEB / "ko_news_used_market_scam.html").read_bytes()))
    assert "5424 1802 7979 1732" in scam and luhn_ok("5424180279791732")
    wifi = "\n".join(paragraphs((WEB / "ko_explainer_public_wifi.html").read_bytes()))
    assert valid_ip("121.78.45.203") and "121.78.45.203" in wifi
    assert "192.168.0.1" in wifi and not valid_ip("192.168.0.1")  # private: stays with the default config
    festival = "\n".join(paragraphs((WEB / "ko_news_lantern_festival.html").read_bytes()))
    for planted in ("031-8012-3456", "010-3141-5926", "festival.office@example.org", "1588-0000"):
        assert planted in festival
    english = "\n".join(paragraphs((WEB / "en_news_bike_lanes.html").read_bytes()))
    assert "+1 415 555 2671" in english


def test_korean_boilerplate_inside_article_bodies():
    body = "\n".join(paragraphs((WEB / "ko_news_library_hours.html").read_bytes()))
    assert "김한빛 기자 hanbit.kim@example.com" in body
    assert "무단전재 및 재배포 금지" in body


def test_exactly_one_exact_duplicate_pair():
    by_hash: dict[str, list[str]] = defaultdict(list)
    for path in DEMO.rglob("*.html"):
        if path.stat().st_size:
            by_hash[hashlib.sha256(path.read_bytes()).hexdigest()].append(str(path.relative_to(DEMO)))
    dupes = [sorted(names) for names in by_hash.values() if len(names) > 1]
    assert dupes == [["web/ko_blog_laundry.html", "web/mirror/laundry-tips-copy.html"]]


@pytest.mark.parametrize(
    "original, repost",
    [
        ("ko_news_library_hours.html", "ko_news_library_hours_portal_repost.html"),
        ("ko_blog_hangang_ride.html", "ko_blog_hangang_ride_scraped.html"),
        ("ko_explainer_recycling.html", "ko_explainer_recycling_updated.html"),
    ],
)
def test_near_duplicates_share_most_paragraphs(original, repost):
    a = paragraphs((WEB / original).read_bytes())
    b = paragraphs((WEB / repost).read_bytes())
    assert a != b and (WEB / original).read_bytes() != (WEB / repost).read_bytes()
    shared = set(a) & set(b)
    assert len(shared) >= 3  # all but the edited paragraph and the added lines


def test_legacy_encoded_page():
    raw = (WEB / "ko_blog_coffee_beans_euckr.html").read_bytes()
    assert b'<meta charset="euc-kr">' in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("euc-kr")  # 똠 is a CP949 extension outside EUC-KR
    assert "똠얌꿍" in raw.decode("cp949")


def test_junk_files():
    assert (DEMO / "junk" / "empty.html").stat().st_size == 0
    junk = (DEMO / "junk" / "binary_junk.html").read_bytes()
    assert len(junk) > 1000
    with pytest.raises(UnicodeDecodeError):
        junk.decode("utf-8")
    assert paragraphs((DEMO / "junk" / "nav_only.html").read_bytes()) == []
    assert len("".join(paragraphs((DEMO / "junk" / "too_short.html").read_bytes()))) < 20
    with pytest.raises((EOFError, zlib.error)):
        gzip.decompress((DEMO / "archives" / "truncated_page.html.gz").read_bytes())


def test_other_languages_are_not_korean():
    ja = "".join(paragraphs((DEMO / "other_lang" / "ja_blog_rainy_season.html").read_bytes()))
    zh = "".join(paragraphs((DEMO / "other_lang" / "zh_article_tea.html").read_bytes()))
    assert re.search(r"[ぁ-ん]", ja) and not re.search(r"[가-힣]", ja + zh)
    assert len(zh) > 200


def test_containers():
    responses = warc_responses(DEMO / "archives" / "demo_crawl.warc.gz")
    assert [ctype for _, ctype, _ in responses] == [
        "text/html; charset=utf-8",
        "text/html; charset=euc-kr",
        "text/html; charset=utf-8",
        "image/png",
    ]
    assert b"charset" not in responses[1][2]  # the charset is only in the HTTP header
    records = [json.loads(line) for line in (DEMO / "extracted" / "notes.jsonl").read_text().splitlines()]
    assert all(set(r) == {"id", "text", "url"} for r in records) and len(records) == 4
    page = gzip.decompress((DEMO / "archives" / "ko_news_bus_routes.html.gz").read_bytes()).decode("utf-8")
    assert "시내버스" in page


def test_binary_fixtures_regenerate_identically(tmp_path):
    spec = importlib.util.spec_from_file_location("make_binary_fixtures", SAMPLES / "make_binary_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(generated) == 8
    for rel in generated:
        assert (tmp_path / rel).read_bytes() == (DEMO / rel).read_bytes(), rel


def test_readme_lists_every_file():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    missing = [str(p.relative_to(DEMO)) for p in DEMO.rglob("*") if p.is_file() and p.name not in readme]
    assert missing == []
