"""PDF extraction benchmark: token F1 and reading order against docling's ground truth, header removal, speed.

Run: ``.venv/bin/python bench/bench_pdf.py`` (prints Markdown tables).

* **Token F1**: bag of words (``\\w+`` tokens, case-folded; multiset overlap) between the extracted text and
  docling's reviewed Markdown ground truth (``../shared/testdata/pdf/docling_with_groundtruth/*.groundtruth.md``)
  with its Markdown syntax stripped (``#``, table pipes and separator rows, emphasis, backslash escapes,
  image comments, and docling's ``SM590000`` placeholder for bullet glyphs it could not map).
* **Order**: longest common token subsequence / ground-truth tokens (difflib's matching blocks on token
  lists: an LCS-like alignment in linear memory). 1.0 means every ground-truth token appears in order.
* **Korean spacing**: docling's ground truth joins every wrapped line with a space, so a Korean word split
  across a line end ("돌\\n입하였다") is two tokens there. We also report character-bigram F1 over the text
  with all whitespace removed, which measures the same content without rewarding or punishing that choice.
* **Running headers** on the three-column Federal Register (15 pages): surviving lines that are running
  header/footer material (the "Federal Register / Vol." header, the "VerDate" production footer, the
  rotated "jbell on DSK..." margin stamp, bare five-digit page numbers).
* **Speed**: pages per second on one core (single process), best of three runs.

Baseline: plain ``page.get_text()`` per page, pages joined by newlines.
"""

from __future__ import annotations

import difflib
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataflow.config import ExtractConfig  # noqa: E402
from dataflow.extractors.pdf import extract_pdf  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata" / "pdf"
GT_DIR = TESTDATA / "docling_with_groundtruth"
FEDREG = TESTDATA / "pdfplumber_gov" / "federal-register-2020-17221.pdf"

_WORD = re.compile(r"\w+")


def strip_markdown(md: str) -> str:
    """Docling Markdown -> plain text: drop image comments, heading marks, table pipes/separators, emphasis."""
    md = re.sub(r"<!--.*?-->", " ", md, flags=re.S)
    md = re.sub(r"\bSM\d{6}\b", " ", md)  # docling's placeholder name for an unmapped bullet glyph, not text
    md = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>])", r"\1", md)  # Markdown backslash escapes: \_ -> _
    lines = []
    for line in md.splitlines():
        if re.fullmatch(r"\s*\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*", line):  # table separator row
            continue
        line = re.sub(r"^\s*#+\s*", "", line)
        line = line.replace("|", " ")
        line = re.sub(r"\*\*|__|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w)", "", line)
        line = re.sub(r"^\s*[-*+]\s+", "", line)  # list bullets
        lines.append(line)
    return "\n".join(lines)


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def bag_f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return 0.0
    overlap = sum((Counter(pred) & Counter(gold)).values())
    p, r = overlap / len(pred), overlap / len(gold)
    return 2 * p * r / (p + r) if p + r else 0.0


def order_score(pred: list[str], gold: list[str]) -> float:
    """Tokens of ``gold`` matched in order by difflib (no junk heuristic) / len(gold)."""
    matcher = difflib.SequenceMatcher(None, pred, gold, autojunk=False)
    return sum(b.size for b in matcher.get_matching_blocks()) / max(1, len(gold))


def bigram_f1(pred: str, gold: str) -> float:
    a, b = re.sub(r"\W", "", pred.casefold()), re.sub(r"\W", "", gold.casefold())
    return bag_f1([a[i : i + 2] for i in range(len(a) - 1)], [b[i : i + 2] for i in range(len(b) - 1)])


def plain_text(data: bytes) -> str:
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return "\n".join(page.get_text() for page in doc)


def ours(data: bytes, korean_line_join: str = "auto") -> str:
    config = ExtractConfig()
    config.pdf.korean_line_join = korean_line_join
    ext = extract_pdf(data, None, {}, config)
    return ext.text or ""


def no_tables(data: bytes) -> str:
    config = ExtractConfig()
    config.pdf.tables = False
    return extract_pdf(data, None, {}, config).text or ""


def pages_per_s(fn, files: list[Path]) -> float:
    import pymupdf

    datas = [f.read_bytes() for f in files]
    pages = 0
    for d in datas:
        with pymupdf.open(stream=d, filetype="pdf") as doc:
            pages += doc.page_count
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for d in datas:
            fn(d)
        best = min(best, time.perf_counter() - t0)
    return pages / best


HEADER_PATTERNS = [
    re.compile(r"Federal Register\s*/\s*Vol\."),
    re.compile(r"VerDate"),
    re.compile(r"jbell on DSK"),
    re.compile(r"^\s*\d{5}\s*$"),
    re.compile(r"Sfmt \d+|Jkt \d+|Frm \d+"),
]


def running_lines(text: str) -> int:
    return sum(any(p.search(line) for p in HEADER_PATTERNS) for line in text.splitlines())


def main() -> None:
    if not GT_DIR.is_dir():
        sys.exit(f"test data not found at {GT_DIR}")
    rows = []
    for pdf in sorted(GT_DIR.glob("*.pdf")):
        gold_text = strip_markdown((GT_DIR / f"{pdf.stem}.groundtruth.md").read_text(encoding="utf-8"))
        gold = tokens(gold_text)
        data = pdf.read_bytes()
        base, mine = plain_text(data), ours(data)
        rows.append(
            (
                pdf.stem,
                bag_f1(tokens(base), gold),
                bag_f1(tokens(mine), gold),
                order_score(tokens(base), gold),
                order_score(tokens(mine), gold),
                bigram_f1(base, gold_text),
                bigram_f1(mine, gold_text),
            )
        )
    print("| PDF | token F1 get_text | token F1 ours | order get_text | order ours | bigram get_text | bigram ours |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | " + " | ".join(f"{v:.3f}" for v in r[1:]) + " |")
    n = len(rows)
    means = [sum(r[i] for r in rows) / n for i in range(1, 7)]
    mins = [min(r[i] for r in rows) for i in range(1, 7)]
    print("| **mean** | " + " | ".join(f"{v:.3f}" for v in means) + " |")
    print("| **worst** | " + " | ".join(f"{v:.3f}" for v in mins) + " |")

    # the Korean report with every line wrap joined by a space, as docling's ground truth was made
    korean = GT_DIR / "normal_4pages.pdf"
    if korean.is_file():
        gold_text = strip_markdown((GT_DIR / "normal_4pages.groundtruth.md").read_text(encoding="utf-8"))
        print()
        print("| normal_4pages, korean_line_join | token F1 | order | bigram F1 |")
        print("|---|---|---|---|")
        for mode in ("auto", "space"):
            text = ours(korean.read_bytes(), korean_line_join=mode)
            scores = (
                bag_f1(tokens(text), tokens(gold_text)),
                order_score(tokens(text), tokens(gold_text)),
                bigram_f1(text, gold_text),
            )
            print(f"| {mode} | " + " | ".join(f"{v:.3f}" for v in scores) + " |")

    if FEDREG.is_file():
        data = FEDREG.read_bytes()
        print()
        print("| Federal Register (15 pp, 3 columns) | get_text | ours |")
        print("|---|---|---|")
        print(f"| running header/footer lines left | {running_lines(plain_text(data))} | {running_lines(ours(data))} |")

    files = sorted(GT_DIR.glob("*.pdf")) + sorted(TESTDATA.glob("p*/*.pdf"))
    print()
    print("| speed (all test PDFs, one core, best of 3) | pages/s |")
    print("|---|---|")
    print(f"| plain get_text() | {pages_per_s(plain_text, files):.0f} |")
    print(f"| extract_pdf | {pages_per_s(ours, files):.0f} |")
    print(f"| extract_pdf, tables=False | {pages_per_s(no_tables, files):.0f} |")


if __name__ == "__main__":
    main()
