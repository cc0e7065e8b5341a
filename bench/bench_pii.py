"""PII redaction: speed against datatrove's PIIFormatter, and what it redacts in text with no personal data.

Run: ``.venv/bin/python bench/bench_pii.py`` (about 30 s on one core). Prints Markdown tables.

Data (read-only, from ../shared/testdata; see its SOURCES.md):

* Korean: the 961 distinct KorQuAD v1 dev contexts (Korean Wikipedia paragraphs: dates, years,
  ISBNs, versions, populations, prices, but no personal data);
* English and Korean news: korean-english-park dev+test lines (sentence-aligned news);
* Korean comments: the 3,000 unlabelled korean-hate-speech comments (informal text);
* Korean web pages, all visible text with the chrome (trafilatura ``html2txt``): the four
  ``web/korean_pages`` and goose3's donga page. Their footers carry the outlets' published
  switchboard numbers and addresses: real phone and e-mail shapes, public business data.

1. Speed: ``redact`` with all five types, and with email+ip only against datatrove's
   ``PIIFormatter`` (emails and IPv4 only, public IPs only) on the same texts, single process,
   best of 3 passes over about 4 MB.
2. Hits: redactions per type on each set. The three text sets hold no personal data, so a hit
   there is a false positive or a public number; on the web pages hits are expected in the chrome.
   The matched strings are printed so a reader can judge each one.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from collections import Counter
from pathlib import Path

from timing import best_of  # bench/ is on sys.path when run as a script

from dataflow.stages.pii import PII_TYPES, find_pii, redact

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "korean_text"


def korquad() -> list[str]:
    data = json.loads(gzip.decompress((TESTDATA / "korquad_v1" / "KorQuAD_v1.0_dev.json.gz").read_bytes()))
    return sorted({p["context"] for a in data["data"] for p in a["paragraphs"]})


def park_news() -> list[str]:
    lines: list[str] = []
    for name in ("korean-english-park.dev.tar.gz", "korean-english-park.test.tar.gz"):
        path = next((TESTDATA / "parallel_ko_en").rglob(name), None)
        if path is None:
            continue
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith((".ko", ".en")):
                    lines += tar.extractfile(member).read().decode("utf-8", "replace").splitlines()
    return [line for line in lines if line.strip()]


def comments() -> list[str]:
    path = next((TESTDATA / "korean_hate_speech").rglob("unlabeled_comments_5*.txt"), None)
    return path.read_text(encoding="utf-8").splitlines() if path else []


def korean_web_pages() -> list[str]:
    import trafilatura

    web = TESTDATA.parent / "web"
    paths = sorted((web / "korean_pages").glob("*.html.gz")) + [
        web / "goose3_content_tests" / "test_donga_korean.html.gz"
    ]
    return [
        trafilatura.html2txt(gzip.decompress(p.read_bytes()).decode("utf-8", "replace")) for p in paths if p.is_file()
    ]


def seconds_over(fn, texts: list[str], passes: int = 3) -> float:
    """Best of ``passes`` wall-clock passes of ``fn`` over every text (results dropped as they come)."""

    def one_pass() -> None:
        for t in texts:
            fn(t)

    return best_of(one_pass, passes)[0]


def main() -> None:
    if not TESTDATA.is_dir():
        raise SystemExit(f"test data not found at {TESTDATA}")
    sets = {"KorQuAD contexts (ko wiki)": korquad(), "korean-english-park news (ko+en)": park_news()}
    sets["hate-speech comments (ko)"] = comments()
    sets["Korean web pages, all text incl. chrome"] = korean_web_pages()

    from datatrove.pipeline.formatters import PIIFormatter

    formatter = PIIFormatter()
    texts = [t for ts in sets.values() for t in ts]
    reps = max(1, round(4e6 / sum(len(t.encode()) for t in texts)))
    corpus = texts * reps
    mb = sum(len(t.encode()) for t in corpus) / 1e6
    rows = [
        ("dataflow redact, 5 types", seconds_over(lambda t: redact(t), corpus)),
        ("dataflow redact, email+ip", seconds_over(lambda t: redact(t, ("email", "ip")), corpus)),
        ("datatrove PIIFormatter (email+ipv4)", seconds_over(formatter.format, corpus)),
    ]
    print(f"\n### Speed ({len(corpus):,} texts, {mb:.1f} MB, 1 process)\n")
    print("| redactor | MB/s | texts/s | time (s) |\n|---|---:|---:|---:|")
    for name, secs in rows:
        print(f"| {name} | {mb / secs:.1f} | {len(corpus) / secs:,.0f} | {secs:.2f} |")

    print("\n### Redactions per set\n")
    print("| set | texts | MB | " + " | ".join(PII_TYPES) + " | hits per MB |")
    print("|---|---:|---:|" + "---:|" * (len(PII_TYPES) + 1))
    examples: dict[str, Counter] = {}
    for name, ts in sets.items():
        counts: Counter = Counter()
        for t in ts:
            for m in find_pii(t):
                counts[m.type] += 1
                examples.setdefault(m.type, Counter())[t[max(0, m.start - 12) : m.end + 6].replace("\n", " ")] += 1
        size = sum(len(t.encode()) for t in ts) / 1e6
        cells = " | ".join(str(counts[k]) for k in PII_TYPES)
        print(f"| {name} | {len(ts):,} | {size:.2f} | {cells} | {sum(counts.values()) / size:.1f} |")
    print("\nMatched strings (with a little context), by type:\n")
    for kind in PII_TYPES:
        for snippet, n in examples.get(kind, Counter()).most_common(6):
            print(f"- {kind}: `{snippet}`" + (f" x{n}" if n > 1 else ""))


if __name__ == "__main__":
    main()
