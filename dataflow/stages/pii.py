"""PII redaction: emails, phone numbers, Korean resident registration numbers, card numbers, IPs.

Each type has a candidate regex and, where a checksum or structure exists, a validator, so
a bare run of digits is never enough: resident registration numbers (주민등록번호) need a real
birth date and (by default) the check digit, card numbers need the Luhn check and a plausible
issuer prefix, IP addresses must parse with the stdlib ``ipaddress``. Matches are replaced by
typed placeholders (``<EMAIL>``, ``<PHONE>``, ``<RRN>``, ``<CARD>``, ``<IP>``) and counted
per type into ``doc.metadata[Meta.PII_COUNTS]``.

datatrove's ``PIIFormatter`` covers emails and IPv4 only and swaps in fake addresses rather
than typed placeholders without counting them, so it is not reused; its choice of redacting
public IPs only (FineWeb's setting) is kept as ``PIIConfig.ip_public_only``.

Sources:
* RRN layout and check digit: Ministry of the Interior rules as summarised in
  https://en.wikipedia.org/wiki/Resident_registration_number and python-stdnum's ``kr.rrn``;
  the foreigner variant ``(13 - s % 11) % 10`` follows Microsoft Presidio's ``KrFrnRecognizer``.
  Numbers issued since October 2020 have random trailing digits (no check digit), hence
  ``PIIConfig.rrn_require_checksum``.
* Luhn: ISO/IEC 7812-1 Annex B.
* Korean numbering plan: area codes 02, 031-033, 041-044, 051-055, 061-064; 070 (VoIP);
  mobile 010, 011, 016-019 (KCC telecommunications numbering rules).

Decisions:
* Service numbers such as 1588-1234 are not redacted: they are published business numbers,
  not personal data, and ``15xx-xxxx`` collides with year ranges such as 1592-1598.
* Landline numbers need separators (02-123-4567, (02) 123-4567); a bare 9-10 digit run is too
  often an order or account number. Mobile numbers may be unseparated (01012345678): the
  010 prefix plus exactly 11 digits is distinctive enough.
* International numbers need the leading ``+`` and 8-15 digits in all (E.164 allows at most 15).
* Overlaps resolve by type priority (email, rrn, card, ip, phone), then position, then length,
  so a card number or RRN is never half-eaten by a looser phone pattern.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from dataclasses import dataclass

from datatrove.data import Document

from dataflow.config import PIIConfig
from dataflow.document import Meta
from dataflow.stages.base import Stage

PII_TYPES = ("email", "rrn", "card", "ip", "phone")  # also the overlap priority, first wins
PLACEHOLDERS = {t: f"<{t.upper()}>" for t in PII_TYPES}
_RANK = {t: i for i, t in enumerate(PII_TYPES)}
_ANY_DIGIT = re.compile("[0-9]")


@dataclass(frozen=True, order=True)
class Match:
    """One validated PII span ``text[start:end]``."""

    type: str
    start: int
    end: int


# Boundaries on ASCII letters and digits only: Hangul particles attach directly to numbers
# ("010-1234-5678로", "192.0.2.1입니다"), so \b and \w (which count Hangul as word characters) would
# miss them. A neighbouring ".5" or "-5" also blocks a match, so 1.2.3.4.5 is no IP and
# 2024-010-1234-5678 no phone. Every pattern opens with a lookahead on its first character so that
# the regex engine can skip ahead to candidates (4x faster than opening with the lookbehinds), and
# digits are ASCII [0-9] (\d would also take other scripts' digits, which ipaddress and int reject).
_L = r"(?<![0-9A-Za-z_])(?<![0-9][.\-])"
_R = r"(?![0-9A-Za-z_])(?![.\-][0-9])"

_EMAIL = re.compile(
    r"(?=[A-Za-z0-9._%+\-])(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)
_RRN = re.compile(r"(?=[0-9])" + _L + r"([0-9]{6})-?([1-8][0-9]{6})" + _R)
# contiguous 13-19 digits, or the printed groupings: 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4
_CARD = re.compile(
    r"(?=[0-9])"
    + _L
    + r"(?:[0-9]{13,19}"
    + r"|[0-9]{4}([ \-])[0-9]{4}\1[0-9]{4}\1[0-9]{4}(?:\1[0-9]{1,3})?"
    + r"|[0-9]{4}([ \-])[0-9]{6}\2[0-9]{4,5})"
    + _R
)
_IPV4 = re.compile(r"(?=[0-9])" + _L + r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}" + _R)
# a run of hex digits, colons and dots with at least two colons; validated by ipaddress
_IPV6 = re.compile(
    r"(?=[0-9A-Fa-f:])(?<![0-9A-Za-z_:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{3,45}(?![0-9A-Za-z_:])"
)
_PHONE_KR = re.compile(
    r"(?=[0(])"
    + _L
    + r"(?:"
    # mobile: one consistent separator (or none): 010-1234-5678, 010.1234.5678, 010 1234 5678, 01012345678
    + r"01[016-9](?P<s>[\-. ]?)[0-9]{3,4}(?P=s)[0-9]{4}"
    # landline with a separator: 02-123-4567, 031.1234.5678, (02) 123-4567, 070-1234-5678
    + r"|(?:0(?:2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70)[\-. ]|\(0(?:2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70)\)[ \-]?)"
    + r"[0-9]{3,4}[\-. ][0-9]{4}"
    + r")"
    + _R
)
# +CC then groups of digits separated by a space, dot or dash, optionally "(0)" or "(415)"
_PHONE_INTL = re.compile(r"\+(?<![0-9A-Za-z_+]\+)[1-9][0-9]{0,2}(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})){2,6}" + _R)

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_RRN_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}


def rrn_checksum(digits: str) -> int:
    """Check digit of a citizen RRN from its first 12 digits: ``(11 - sum(w*d) % 11) % 10``."""
    return (11 - sum(w * int(d) for w, d in zip(_RRN_WEIGHTS, digits[:12], strict=True)) % 11) % 10


def valid_rrn(number: str, require_checksum: bool = True) -> bool:
    """True for a plausible resident (or foreigner) registration number ``YYMMDD-GNNNNNN``.

    The gender digit G (1-8) gives the century (1, 2, 5, 6: 1900s; 3, 4, 7, 8: 2000s; 5-8 are
    foreigners) and YYMMDD must be a real date in it. With ``require_checksum`` the last digit
    must be the check digit: ``(11 - s % 11) % 10`` for citizens, ``(13 - s % 11) % 10`` for
    foreigners, where ``s`` is the weighted sum of the first 12 digits. Dates are not compared
    with today, so the same text always gives the same answer.
    """
    digits = number.replace("-", "")
    if len(digits) != 13 or not digits.isdigit() or digits[6] not in _RRN_CENTURY:
        return False
    try:
        datetime.date(_RRN_CENTURY[digits[6]] + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:  # 13th month, 30 February, 29 February outside a leap year, ...
        return False
    if not require_checksum:
        return True
    if digits[6] in "5678":
        total = sum(w * int(d) for w, d in zip(_RRN_WEIGHTS, digits[:12], strict=True))
        return (13 - total % 11) % 10 == int(digits[12])
    return rrn_checksum(digits) == int(digits[12])


def luhn_ok(digits: str) -> bool:
    """Luhn check (ISO/IEC 7812): double every second digit from the right, the sum must end in 0."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def plausible_card(number: str) -> bool:
    """Luhn-valid, 13-19 digits, and an issuer prefix used by real cards.

    Major industry identifiers 3 (Amex, JCB, Diners), 4 (Visa), 5 (Mastercard, Korean domestic
    cards), 6 (Discover, UnionPay) and 9 (Korean domestic BC cards), plus Mastercard's 2221-2720
    range. 13-digit numbers starting 978/979 are ISBN-13 (which happen to pass Luhn 1 time in 10).
    """
    digits = re.sub(r"[ \-]", "", number)
    if not (13 <= len(digits) <= 19 and digits.isdigit()):
        return False
    if len(digits) == 13 and digits[:3] in ("978", "979"):
        return False
    if not (digits[0] in "34569" or 2221 <= int(digits[:4]) <= 2720):
        return False
    return luhn_ok(digits)


def valid_ip(candidate: str, public_only: bool = True) -> bool:
    """A parseable IPv4/IPv6 address; with ``public_only`` only globally routable ones (FineWeb's choice)."""
    try:
        addr = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return addr.is_global if public_only else True


def _phone_ok(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    if text.startswith("+"):
        return 8 <= digits <= 15  # E.164: at most 15 digits with the country code
    return digits in (9, 10, 11)  # 02-123-4567 (9) .. 010-1234-5678 (11)


def find_pii(
    text: str,
    types: list[str] | tuple[str, ...] = PII_TYPES,
    *,
    rrn_require_checksum: bool = True,
    ip_public_only: bool = True,
) -> list[Match]:
    """Validated, non-overlapping PII spans of ``types`` in ``text``, sorted by position."""
    unknown = set(types) - set(PII_TYPES)
    if unknown:
        raise ValueError(f"unknown PII type(s) {sorted(unknown)}; known: {list(PII_TYPES)}")
    found: list[Match] = []
    # cheap guards: every email holds "@", every other type but IPv6 a digit, every IPv6 ":"
    digits = _ANY_DIGIT.search(text) is not None
    if "email" in types and "@" in text:
        found += [Match("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    if "rrn" in types and digits:
        found += [
            Match("rrn", m.start(), m.end()) for m in _RRN.finditer(text) if valid_rrn(m.group(0), rrn_require_checksum)
        ]
    if "card" in types and digits:
        found += [Match("card", m.start(), m.end()) for m in _CARD.finditer(text) if plausible_card(m.group(0))]
    if "ip" in types:
        patterns = ((_IPV4,) if digits else ()) + ((_IPV6,) if ":" in text else ())
        for pattern in patterns:
            for m in pattern.finditer(text):
                span = m.group(0).rstrip(".")  # a sentence-final full stop is not part of the address
                if valid_ip(span, ip_public_only):
                    found.append(Match("ip", m.start(), m.start() + len(span)))
    if "phone" in types and digits:
        for pattern in (_PHONE_KR, _PHONE_INTL):
            found += [Match("phone", m.start(), m.end()) for m in pattern.finditer(text) if _phone_ok(m.group(0))]
    return resolve_overlaps(found)


def resolve_overlaps(matches: list[Match]) -> list[Match]:
    """Keep the first of overlapping spans by (type priority, start, longest); return them by position."""
    if len(matches) < 2:
        return matches
    kept: list[Match] = []
    for m in sorted(matches, key=lambda m: (_RANK[m.type], m.start, m.start - m.end)):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


def redact(
    text: str,
    types: list[str] | tuple[str, ...] = PII_TYPES,
    *,
    rrn_require_checksum: bool = True,
    ip_public_only: bool = True,
) -> tuple[str, dict[str, int]]:
    """Replace every PII span with its typed placeholder; return the text and the count per type."""
    matches = find_pii(text, types, rrn_require_checksum=rrn_require_checksum, ip_public_only=ip_public_only)
    parts: list[str] = []
    counts: dict[str, int] = {}
    pos = 0
    for m in matches:
        parts += [text[pos : m.start], PLACEHOLDERS[m.type]]
        counts[m.type] = counts.get(m.type, 0) + 1
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts), counts


class PIIStage(Stage):
    """Redact PII in place and count it; never drops a document."""

    name = "pii"

    def __init__(self, cfg: PIIConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or PIIConfig()
        unknown = set(self.cfg.types) - set(PII_TYPES)
        if unknown:
            raise ValueError(f"pii.types: unknown type(s) {sorted(unknown)}; known: {list(PII_TYPES)}")

    def apply(self, doc: Document) -> str | None:
        if not self.cfg.enabled or not doc.text:
            return None
        doc.text, counts = redact(
            doc.text,
            self.cfg.types,
            rrn_require_checksum=self.cfg.rrn_require_checksum,
            ip_public_only=self.cfg.ip_public_only,
        )
        total = dict(doc.metadata.get(Meta.PII_COUNTS) or {})
        for pii_type, n in counts.items():
            total[pii_type] = total.get(pii_type, 0) + n
            self.stat_update(f"pii_{pii_type}", value=n)
        doc.metadata[Meta.PII_COUNTS] = total
        return None
