"""PII redaction: positives and negatives per type on literal strings; check digits derived by hand."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from dataflow.config import PIIConfig
from dataflow.document import Meta
from dataflow.stages.pii import (
    Match,
    PIIStage,
    find_pii,
    luhn_ok,
    plausible_card,
    redact,
    rrn_checksum,
    valid_rrn,
)

# 900101-123456?: weights 2,3,4,5,6,7,8,9,2,3,4,5 over 9,0,0,1,0,1,1,2,3,4,5,6
#   = 18+0+0+5+0+7+8+18+6+12+20+30 = 124; 124 % 11 = 3; (11 - 3) % 10 = 8
RRN_OK = "900101-1234568"
RRN_BAD_CHECK = "900101-1234567"
# 040229-312345?: 0,4,0,2,2,9,3,1,2,3,4,5 -> 0+12+0+10+12+63+24+9+4+9+16+25 = 184; 184 % 11 = 8; 11 - 8 = 3
RRN_LEAP_2004 = "040229-3123453"
# 000229-312345?: 0,0,0,2,2,9,3,1,2,3,4,5 -> 0+0+0+10+12+63+24+9+4+9+16+25 = 172; 172 % 11 = 7; 11 - 7 = 4.
# 2000 is a leap year (divisible by 400), so gender digit 3 (born 2000s) makes 29 Feb valid.
RRN_LEAP_2000 = "000229-3123454"
# same digits with gender 1 (1900s): sum 172 - 2*8 = 156; 156 % 11 = 2; 11 - 2 = 9 -> checksum right,
# but 1900 is not a leap year (divisible by 100, not by 400), so the date is impossible
RRN_1900_NOT_LEAP = "000229-1123459"
# foreigner, gender 5: 9,0,0,1,0,1,5,2,3,4,5,6 -> 18+0+0+5+0+7+40+18+6+12+20+30 = 156; 156 % 11 = 2;
# foreigner check (13 - 2) % 10 = 1 (the citizen formula would give (11 - 2) % 10 = 9)
FRN_OK = "900101-5234561"
FRN_CITIZEN_FORMULA = "900101-5234569"


def types_of(text: str, **kw) -> list[str]:
    return [m.type for m in find_pii(text, **kw)]


# ---- resident registration numbers ------------------------------------------------------------


def test_rrn_checksum_by_hand():
    assert rrn_checksum("900101123456") == 8
    assert rrn_checksum("040229312345") == 3


@pytest.mark.parametrize("number", [RRN_OK, RRN_OK.replace("-", ""), RRN_LEAP_2004, RRN_LEAP_2000, FRN_OK])
def test_valid_rrn(number):
    assert valid_rrn(number)


@pytest.mark.parametrize(
    "number",
    [
        RRN_BAD_CHECK,
        RRN_1900_NOT_LEAP,
        FRN_CITIZEN_FORMULA,
        "050229-3123453",  # 2005 is not a leap year
        "901301-1234568",  # month 13
        "900132-1234568",  # day 32
        "900101-9234568",  # gender digit 9 (1800s) is outside 1-8
        "900101-123456",  # 12 digits
    ],
)
def test_invalid_rrn(number):
    assert not valid_rrn(number)


def test_rrn_without_checksum_still_needs_a_date():
    assert valid_rrn(RRN_BAD_CHECK, require_checksum=False)  # post-2020 numbers have no check digit
    assert not valid_rrn("901301-1234567", require_checksum=False)


def test_rrn_in_text():
    text = f"주민번호 {RRN_OK}를 적고, 잘못된 번호 {RRN_BAD_CHECK}는 그대로 둔다."
    out, counts = redact(text)
    assert out == f"주민번호 <RRN>를 적고, 잘못된 번호 {RRN_BAD_CHECK}는 그대로 둔다."
    assert counts == {"rrn": 1}
    out, counts = redact(text, rrn_require_checksum=False)
    assert out == "주민번호 <RRN>를 적고, 잘못된 번호 <RRN>는 그대로 둔다."
    assert counts == {"rrn": 2}


def test_rrn_inside_longer_digit_run_is_not_matched():
    assert types_of(f"1{RRN_OK.replace('-', '')}9") == []


# ---- cards ---------------------------------------------------------------------------------------


def test_luhn_by_hand():
    # 4111111111111111: from the right, digits at odd positions doubled: seven 1s -> 14, the leading 4 -> 8;
    # undoubled: eight 1s -> 8; 14 + 8 + 8 = 30, divisible by 10
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    # 378282246310005 reversed 5,0,0,0,1,3,6,4,2,2,8,2,8,7,3; doubled 0,0,6,8,4,4,14->5 = 27;
    # kept 5,0,1,6,2,8,8,3 = 33; 27 + 33 = 60
    assert luhn_ok("378282246310005")


@pytest.mark.parametrize(
    "text", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "3782 822463 10005"]
)
def test_card_positive(text):
    assert redact(f"카드번호: {text} 입니다") == ("카드번호: <CARD> 입니다", {"card": 1})


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "4111 1111-1111 1111",  # mixed separators are no printed card format
        "1111 1111 1111 1117",  # Luhn passes (see test_plausible_card_prefixes), no issuer starts with 1
        "9788966261234",  # ISBN-13 shaped; excluded by the 978 prefix whatever its Luhn
        "978-89-6626-123-4",  # ISBN with hyphens
    ],
)
def test_card_negative(text):
    assert types_of(text, types=["card"]) == []


def test_plausible_card_prefixes():
    # 1111111111111117 reversed: 7 kept, eight 1s doubled -> 16, seven 1s kept -> 7; 7 + 16 + 7 = 30
    assert luhn_ok("1111111111111117")
    assert not plausible_card("1111111111111117")  # no card issuer's number starts with 1
    assert plausible_card("4111111111111111")


# ---- phones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "010-1234-5678",
        "01012345678",
        "010.1234.5678",
        "010 1234 5678",
        "011-123-4567",
        "+82 10-1234-5678",
        "+82-10-1234-5678",
        "02-123-4567",
        "02-1234-5678",
        "031-1234-5678",
        "(02) 123-4567",
        "070-1234-5678",
        "+1 415 555 2671",
        "+44 20 7946 0958",
        "+14155552671",
    ],
)
def test_phone_positive(text):
    assert redact(f"문의: {text}로 연락") == ("문의: <PHONE>로 연락", {"phone": 1})


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-15",  # ISO date
        "2024.01.15",  # Korean dotted date
        "1,234,567원",  # price
        "₩12,345,678",
        "버전 10.2.1234.5678",  # version number
        "1588-1234",  # service number: business, not personal (documented decision)
        "임진왜란(1592-1598)",  # year range
        "0212345678",  # landline without separators is not matched (too ambiguous)
        "010-1234-56789",  # too many digits
        "주문번호 2024010123456789",
        "+12 34",  # too few digits for E.164
    ],
)
def test_phone_negative(text):
    assert types_of(text) == []


# ---- emails and IPs ------------------------------------------------------------------------------


def test_email():
    out, counts = redact("홍길동 기자 gildong@example.com / 문의 help.desk+kr@news.example.co.kr로")
    assert out == "홍길동 기자 <EMAIL> / 문의 <EMAIL>로"
    assert counts == {"email": 2}
    assert types_of("트위터 @handle 과 user@localhost 는 주소가 아니다") == []


@pytest.mark.parametrize("text", ["8.8.8.8", "121.78.45.203", "2404:6800:4004:80a::200e", "::ffff:8.8.4.4"])
def test_ip_positive(text):
    assert redact(f"접속 IP {text}에서") == ("접속 IP <IP>에서", {"ip": 1})


def test_ip_sentence_final_full_stop_is_kept():
    assert redact("서버는 8.8.8.8.") == ("서버는 <IP>.", {"ip": 1})


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.4.5",  # longer dotted number (version)
        "v1.2.3.4",  # version with a prefix
        "256.1.1.1",  # octet out of range
        "12:30:45",  # time
        "00:1A:2B:3C:4D:5E",  # MAC address
        "std::vector",
    ],
)
def test_ip_negative(text):
    assert types_of(text, ip_public_only=False) == []


def test_private_ips_follow_config():
    assert types_of("공유기 192.168.0.1") == []  # FineWeb's default: private addresses identify no one
    assert types_of("공유기 192.168.0.1", ip_public_only=False) == ["ip"]


# ---- overlaps, counts, idempotence, the stage ---------------------------------------------------


def test_overlap_rrn_before_card_and_phone():
    # 13 contiguous digits: a valid RRN; no phone or card may claim part of it
    assert find_pii(RRN_OK.replace("-", "")) == [Match("rrn", 0, 13)]


def test_types_filter_and_unknown_type():
    text = f"a@b.co 010-1234-5678 {RRN_OK}"
    assert types_of(text, types=["phone"]) == ["phone"]
    with pytest.raises(ValueError, match="unknown PII type"):
        find_pii(text, types=["passport"])


MIXED = (
    "작성자 김철수 (chulsoo.kim@example.com, 010-9876-5432). "
    f"주민등록번호 {RRN_OK}, 카드 4111-1111-1111-1111, 서버 8.8.8.8, 사무실 02-123-4567. "
    "2024-01-15 기준 가격은 1,234,567원이며 대표번호는 1588-1234."
)


def test_counts_and_idempotence():
    out, counts = redact(MIXED)
    assert counts == {"email": 1, "phone": 2, "rrn": 1, "card": 1, "ip": 1}
    assert "2024-01-15" in out and "1,234,567원" in out and "1588-1234" in out
    assert redact(out) == (out, {})


def test_stage_redacts_counts_and_never_drops():
    stage = PIIStage(PIIConfig())
    doc = Document(text=MIXED, id="d1", metadata={})
    out = stage.process(doc)
    assert out.metadata.get(Meta.OUTCOME, "kept") == "kept"
    assert out.metadata[Meta.PII_COUNTS] == {"email": 1, "phone": 2, "rrn": 1, "card": 1, "ip": 1}
    assert "<RRN>" in out.text and RRN_OK not in out.text
    assert stage.stats["pii_phone"].total == 2
    assert stage.stats["pii_rrn"].total == 1


def test_stage_disabled_and_empty():
    doc = Document(text=MIXED, id="d2", metadata={})
    assert PIIStage(PIIConfig(enabled=False)).apply(doc) is None
    assert doc.text == MIXED
    empty = Document(text="", id="d3", metadata={})
    assert PIIStage().apply(empty) is None


def test_stage_rejects_unknown_type_in_config():
    with pytest.raises(ValueError, match="pii.types"):
        PIIStage(PIIConfig(types=["email", "ssn"]))
