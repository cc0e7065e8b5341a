"""Korean-first end to end: the default pipeline vs datatrove running FineWeb-2's Korean filters, same input.

Issue 15: "the default pipeline on a 9:1 Korean:English corpus >= 3x a datatrove pipeline running
FineWeb-2's Korean filters on the same input". The corpus is counted in **UTF-8 bytes of main text**
(the text each page was built from, or its ground truth), 9 Korean to 1 English, every page once:

* Korean (real text from ../shared/testdata/korean_text, each put in a plain web page with a site
  header, navigation and footer, as a crawl would find it): the 140 KorQuAD v1 dev articles (Korean
  Wikipedia, one page per article, its paragraphs as <p>), the 130 NSMC movie-review pages (the
  reviews of one movie as a list, with scores, masked authors and dates) and the 11 konlpy documents
  (the Constitution and ten National Assembly bills, one <p> per line); plus the real Korean pages
  (goose3's donga.com article, counted by its ground truth, and the four korean_pages, which have no
  main-text ground truth and are not counted);
* English: ScrapingHub article pages (real HTML, counted by their ground-truth article bodies),
  taken in file order until English is a tenth of the Korean bytes.

Both pipelines read the same WARC.gz files, each in a fresh process (``bench_pipeline.run_child``):

* baseline: datatrove ``WarcReader -> Trafilatura(favour_precision, deduplicate=False) ->
  LanguageFilter(en, ko; lid.176 offline)``, then FineWeb-2's setup per language: on Korean
  documents its three Korean filters (Gopher repetition, FineWeb quality, Gopher quality with
  ``configs/kor_Hang.yml``'s thresholds, as ``quality_ko.korean_filters`` builds them) on datatrove's
  ``KiwiTokenizer`` (the "cong" model: datatrove's default "sbg" is not shipped by kiwipiepy 0.24;
  one Kiwi per process, ``quality_ko.SharedKiwiTokenizer``, as datatrove's cache gives "en"), on
  English documents FineWeb's English chain (datatrove examples/fineweb.py: Gopher repetition, Gopher
  quality, C4 without the terminal-punctuation rule, FineWeb quality; spaCy words) -> ``JsonlWriter``;
* ours: the default pipeline (``bench_pipeline.child_ours``: extract, normalize, boilerplate, langid,
  the English chain, the Korean rules in the default fast mode, PII, exact + near dedup, Iceberg commit).

Rates per document, per MB of HTML and per MB of main text taken in, per core, and per CPU-second
(the machine is shared). The main-text rate is the one to compare: datatrove's WarcReader silently
skips some pages (most of the English ones here, whose HTML is large), so HTML bytes would weigh the
two inputs differently. Usage:

    python bench/bench_pipeline_ko.py                 # both pipelines, one run
    python bench/bench_pipeline_ko.py --only ours     # one of them
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from datatrove.pipeline.filters.base_filter import BaseFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_pipeline import (  # noqa: E402
    LID,
    ROOT,
    child_ours,
    cpu_seconds,
    header,
    jsonl_rows,
    report,
    run_children,
    step_times,
    write_warcs,
)

TESTDATA = ROOT.parent / "shared" / "testdata"
KO_TEXT = TESTDATA / "korean_text"
WEB = TESTDATA / "web"
KO_SHARE = 0.9  # of the main-text bytes

PAGE = """<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>{title} - {site}</title></head>
<body><header><a href="/">{site}</a><nav><a href="/">홈</a> | <a href="/news">뉴스</a> | <a href="/rank">랭킹</a>
| <a href="/login">로그인</a> | <a href="/join">회원가입</a></nav></header>
<main><article><h1>{title}</h1>
{body}
</article></main>
<aside><h2>많이 본 글</h2><ul><li><a href="/a/1">오늘의 인기 글 모음</a></li>
<li><a href="/a/2">이번 주 추천</a></li></ul></aside>
<footer><p>{site} | 고객센터 1588-0000 | <a href="/privacy">개인정보처리방침</a> | <a href="/terms">이용약관</a></p>
<p>Copyright © {site}. All rights reserved. 무단 전재 및 재배포 금지.</p></footer></body></html>
"""


REVIEW = (
    '<li><span class="score">{rating}</span> <p class="review">{review}</p>'
    ' <span class="author">{author}</span> <span class="date">{date}</span></li>'
)


def page(site: str, title: str, body: str) -> bytes:
    return PAGE.format(site=site, title=html.escape(title), body=body).encode()


def korean_pages() -> list[tuple[str, bytes, int]]:
    """(url, HTML, main-text bytes) of the Korean pages; bytes 0 = not counted (no ground truth)."""
    out = []
    with gzip.open(KO_TEXT / "korquad_v1/KorQuAD_v1.0_dev.json.gz") as f:
        for i, article in enumerate(json.load(f)["data"]):
            paras = list(dict.fromkeys(p["context"] for p in article["paragraphs"]))
            title = article["title"]
            body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)
            text = len("\n".join([title, *paras]).encode())
            out.append((f"https://ko.wiki.example/wiki/{i}", page("위키백과", title, body), text))
    for path in sorted((KO_TEXT / "nsmc_raw_sample").glob("*.json")):
        reviews = json.loads(path.read_text(encoding="utf-8"))
        items = "\n".join(REVIEW.format(**{k: html.escape(v) for k, v in r.items()}) for r in reviews)
        text = len("\n".join(r["review"] for r in reviews).encode())
        title = f"영화 {path.stem} 네티즌 평점과 리뷰"
        out.append((f"https://movie.example/{path.stem}/reviews", page("영화 리뷰", title, f"<ul>{items}</ul>"), text))
    for path in sorted((KO_TEXT / "konlpy_corpus").glob("*/*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        body = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines[1:])
        out.append(
            (f"https://law.example/{path.stem}", page("법령정보", lines[0], body), len("\n".join(lines).encode()))
        )
    donga = json.loads((WEB / "goose3_content_tests/test_donga_korean.json").read_text(encoding="utf-8"))
    body = gzip.decompress((WEB / "goose3_content_tests/test_donga_korean.html.gz").read_bytes())
    out.append((donga["url"], body, len(donga["expected"]["cleaned_text"].encode())))
    for path in sorted((WEB / "korean_pages").glob("*.html.gz")):
        out.append((f"https://{path.name.removesuffix('.html.gz')}.example/", gzip.decompress(path.read_bytes()), 0))
    return out


def english_pages(budget: int) -> list[tuple[str, bytes, int]]:
    """ScrapingHub pages in file order until their ground-truth bytes reach ``budget``."""
    root = WEB / "scrapinghub_article_extraction_benchmark"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    out, total = [], 0
    for key in sorted(truth):
        if total >= budget:
            break
        n = len(truth[key]["articleBody"].encode())
        out.append((truth[key]["url"], gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()), n))
        total += n
    return out


def corpus() -> tuple[list[tuple[str, bytes]], dict]:
    """The interleaved records (Korean and English spread over every file) and the corpus' make-up
    (``text_bytes``: main-text bytes per URL)."""
    ko = korean_pages()
    ko_bytes = sum(n for _, _, n in ko)
    en = english_pages(round(ko_bytes * (1 - KO_SHARE) / KO_SHARE))
    en_bytes = sum(n for _, _, n in en)
    step = len(ko) / max(len(en), 1)  # one English page after every `step` Korean ones
    records = [(url, body) for url, body, _ in ko]
    for j, (url, body, _) in enumerate(en):
        records.insert(round((j + 1) * step) + j, (url, body))
    text_bytes = {url: n for url, _, n in ko + en}
    info = dict(ko_pages=len(ko), en_pages=len(en), ko_text_bytes=ko_bytes, en_text_bytes=en_bytes)
    return records, info | {"text_bytes": text_bytes, "english": {url for url, _, _ in en}}


def datatrove_reads(inputs: Path) -> set[str]:
    """URLs of the records datatrove's WarcReader turns into documents (it skips, silently, records
    libmagic does not call HTML and records it cannot decode)."""
    from datatrove.pipeline.readers import WarcReader
    from loguru import logger

    logger.disable("datatrove")  # its per-file progress lines
    return {doc.metadata.get("url") for doc in WarcReader(str(inputs), glob_pattern="*.warc.gz").run()}


class OnLanguage(BaseFilter):
    """A datatrove filter that judges only documents LID labelled ``language`` (FineWeb-2 runs one
    pipeline per language; this corpus mixes two); the others pass. Counted and timed under ``name``."""

    def __init__(self, inner: BaseFilter, language: str, name: str) -> None:
        self.name = name  # before the base class names its stats after it
        super().__init__()
        self.inner, self.language = inner, language

    def filter(self, doc):
        return doc.metadata.get("language") != self.language or self.inner.filter(doc)


def child_baseline(inputs: Path, work: Path, workers: int, tasks: int) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    from bench.baseline_lid import LocalFT176
    from dataflow.stages.quality_ko import SharedKiwiTokenizer, korean_filters

    lang = LanguageFilter(languages=["en", "ko"])
    lang.model = LocalFT176(["en", "ko"])
    # datatrove's KiwiTokenizer ("cong" model), its Kiwi loaded once per process: a plain KiwiTokenizer object
    # is deep-copied into every task and reloads Kiwi there (2.6 CPU-s each, 8 tasks here), which would
    # flatter ours; datatrove's English filters get the process-wide tokenizer for "en" from its own cache
    korean = korean_filters(SharedKiwiTokenizer())  # repetition, FineWeb quality, Gopher quality
    english = {
        "gopher_rep_en": GopherRepetitionFilter(),
        "gopher_en": GopherQualityFilter(),
        "c4_en": C4QualityFilter(filter_no_terminal_punct=False),
        "fineweb_en": FineWebQualityFilter(),
    }
    pipeline = [
        WarcReader(str(inputs), glob_pattern="*.warc.gz"),
        Trafilatura(favour_precision=True, deduplicate=False),
        lang,
        *(
            OnLanguage(f, "ko", f"quality_ko/{name}")
            for f, name in zip(korean, ("rep", "fineweb", "gopher"), strict=True)
        ),
        *(OnLanguage(f, "en", name) for name, f in english.items()),
        JsonlWriter(str(work / "out")),
    ]
    t, cpu = time.perf_counter(), cpu_seconds()
    LocalPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=str(work / "logs")).run()
    seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    stats = json.loads((work / "logs" / "stats.json").read_text())
    reader = stats[0]["stats"]
    kept = jsonl_rows(work / "out")
    steps = step_times(work / "logs" / "stats.json")
    docs_in, bytes_in = reader["documents"]["total"], reader["doc_len"]["total"]
    return dict(seconds=seconds, cpu_s=cpu, steps=steps, docs_in=docs_in, bytes_in=bytes_in, docs_out=kept)


__all__ = ["child_baseline", "child_ours"]  # run_child imports both from here


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--only", help="comma-separated subset of baseline,ours")
    ap.add_argument("--json", help="also write the raw results to this file")
    args = ap.parse_args()
    if not KO_TEXT.is_dir() or not LID.is_file():
        sys.exit(f"test data ({KO_TEXT}) or the LID model ({LID}) not found")
    chosen = args.only.split(",") if args.only else ["baseline", "ours"]
    records, info = corpus()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        raw = write_warcs(inputs, records, args.files)
        share = info["ko_text_bytes"] / (info["ko_text_bytes"] + info["en_text_bytes"])
        print(
            f"input: {len(records)} pages ({info['ko_pages']} Korean, {info['en_pages']} English), "
            f"{raw / 1e6:.1f} MB of HTML in {args.files} WARC.gz files; main text {info['ko_text_bytes'] / 1e6:.2f} MB "
            f"Korean + {info['en_text_bytes'] / 1e6:.2f} MB English (UTF-8 bytes; Korean {share:.1%}); "
            f"workers={args.workers}; {header()}\n"
        )
        results = run_children(chosen, inputs, Path(tmp), args.workers, args.files, module="bench.bench_pipeline_ko")
        report(results, len(records), args.workers)
        # main-text bytes of what each pipeline took in: the baseline skips some pages (mostly English ones,
        # whose HTML is large), so HTML bytes alone would weigh the two inputs differently
        taken = {"baseline": datatrove_reads(inputs), "ours": {url for url, _ in records}}
        print()
        for which, r in results.items():
            r["text_mb_in"] = sum(info["text_bytes"][u] for u in taken[which]) / 1e6
            r["en_pages_in"] = len(taken[which] & info["english"])
            r["text_mb_per_s_core"] = r["text_mb_in"] / r["seconds"] / min(args.workers, os.cpu_count() or 1)
            r["text_mb_per_cpu_s"] = r["text_mb_in"] / r["cpu_s"]
            print(
                f"{which}: took in {r['text_mb_in']:.2f} MB of main text ({r['en_pages_in']} of "
                f"{info['en_pages']} English pages): {r['text_mb_per_s_core']:.3f} MB/s per core, "
                f"{r['text_mb_per_cpu_s']:.3f} MB per CPU-s"
            )
        if {"baseline", "ours"} <= results.keys():
            b, o = results["baseline"], results["ours"]
            print(
                f"ratio ours / baseline, MB of main text per second per core: "
                f"{o['text_mb_per_s_core'] / b['text_mb_per_s_core']:.2f}x (per CPU-second: "
                f"{o['text_mb_per_cpu_s'] / b['text_mb_per_cpu_s']:.2f}x); documents per second: "
                f"{o['docs_in'] / o['seconds'] / (b['docs_in'] / b['seconds']):.2f}x"
            )
        if args.json:
            info = {k: v for k, v in info.items() if k not in ("text_bytes", "english")}
            Path(args.json).write_text(json.dumps(results | {"corpus": info}, indent=1))


if __name__ == "__main__":
    main()
