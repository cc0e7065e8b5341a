"""HTML extraction quality and speed: our ``dataflow.extract`` against trafilatura's settings, on public benchmarks.

Run: ``.venv/bin/python bench/bench_extraction.py`` (prints Markdown tables; ``--json PATH`` also saves them).

* **(a) ScrapingHub article-extraction benchmark** (181 English news/blog pages with their article body;
  https://github.com/scrapinghub/article-extraction-benchmark). Scored exactly as its ``evaluate.py``:
  ``\\w+`` tokens (case kept), 4-token shingles counted with multiplicity, per page TP/FP/FN normalized to
  sum 1, precision averaged over pages with TP+FP > 0, recall over pages with TP+FN > 0, F1 of those two
  means; ± is 1.96 standard deviations of 1,000 bootstrap resamples of the pages (seeded). trafilatura
  baselines get the page as the benchmark's own runner gives it (UTF-8 text, ``include_comments=False``);
  ours gets the raw bytes and the page URL, as a WARC record would hand them over.
  The stored reference output (``reference_outputs/trafilatura.json``, trafilatura 2.0.0) is scored too.
* **(b) trafilatura's evaluation pages** (160-page subset of trafilatura's ``tests/eval``): share of the
  ``with`` snippets found in the output and share of the ``without`` snippets (boilerplate) absent, after
  collapsing whitespace; all systems get the raw bytes, as in trafilatura's own comparison.
* **(c) The Korean goose3 page** (``test_donga_korean``): the same shingle F1 against ``cleaned_text``.
* **(d) WCXB dev subset** (408 pages of the Web Content Extraction Benchmark's dev split, 7 page types;
  ``wcxb_dev_subset/SOURCES.md``): WCXB's metric, word-level F1 (lower-cased ``\\w+`` bags) per page,
  averaged over all pages and per labelled page type; the project against trafilatura 2.3.1 default in
  the same run, rows with one default setting off, the page-type detector's agreement with the labels,
  and word F1 by detected type with each strategy given to every type (``HtmlConfig.strategies``' evidence).
* **(e) Parsers**: one parse of each WCXB page with lxml (what trafilatura builds), selectolax's lexbor
  back end and resiliparse, CPU time per page: why the page-type path parses with lexbor.
* **Speed**: pages/s and MB/s of HTML per core (CPU time of the single process, so other jobs on a shared
  box distort it less), decoding included, each system's ratio to trafilatura default. The systems are
  timed interleaved, page by page (``interleaved``), so a burst of load on a shared box falls on all of
  them alike; (a) keeps each page's best of two passes, (d) makes one pass over WCXB.
  ``--sections a,d`` runs only some sections (while iterating; the recorded numbers come from all).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402
from timing import best_of  # noqa: E402  (bench/ is on sys.path when run as a script)

from dataflow.config import ExtractConfig, HtmlConfig  # noqa: E402
from dataflow.extractors import extract  # noqa: E402

WEB = ROOT.parent / "shared" / "testdata" / "web"
SCRAPINGHUB = WEB / "scrapinghub_article_extraction_benchmark"
EVAL_SUBSET = WEB / "trafilatura_eval_subset"
DONGA = WEB / "goose3_content_tests" / "test_donga_korean"
WCXB = WEB / "wcxb_dev_subset"
N_BOOTSTRAP = 1000
SPEED_RUNS = 2  # best of two passes: the first pays for lazy imports and cold caches

# system name -> function(raw bytes, page URL) -> extracted text or None
System = Callable[[bytes, "str | None"], "str | None"]


def _ours(config: ExtractConfig) -> System:
    return lambda raw, url: extract(raw, url, config=config).text


def _trafilatura(as_text: bool, **kwargs) -> System:
    def run(raw: bytes, url: str | None) -> str | None:
        page = raw.decode("utf-8", errors="replace") if as_text else raw
        return trafilatura.extract(page, include_comments=False, **kwargs)

    return run


def _off() -> ExtractConfig:
    """The settings before page types: trafilatura with favor_precision on every page."""
    config = ExtractConfig()
    config.html.page_types = False
    return config


def _with(**settings: object) -> ExtractConfig:
    """The default config with some ``extract.html`` settings changed."""
    config = ExtractConfig()
    for key, value in settings.items():
        setattr(config.html, key, value)
    return config


def systems(as_text: bool) -> dict[str, System]:
    return {
        "dataflow.extract (default config)": _ours(ExtractConfig()),
        "dataflow.extract, html.page_types off (trafilatura favor_precision)": _ours(_off()),
        "dataflow.extract, html.with_metadata": _ours(_with(with_metadata=True)),
        "dataflow.extract, html.fast": _ours(_with(fast=True)),
        # the article path's speed settings one at a time: the speed/F1 curve of issue 10
        "dataflow.extract, html.precision_fast off": _ours(_with(precision_fast=False)),
        "dataflow.extract, html.precision_main_root off": _ours(_with(precision_main_root=False)),
        "dataflow.extract, html.precision_main_root and precision_fast off": _ours(
            _with(precision_main_root=False, precision_fast=False)
        ),
        # no trafilatura on articles at all: the speed end of the curve
        "dataflow.extract, html.strategies.article: dom": _ours(
            _with(strategies={**HtmlConfig().strategies, "article": "dom"})
        ),
        "trafilatura default": _trafilatura(as_text),
        "trafilatura favor_precision": _trafilatura(as_text, favor_precision=True),
        "trafilatura favor_recall": _trafilatura(as_text, favor_recall=True),
        "trafilatura fast": _trafilatura(as_text, fast=True),
    }


def interleaved(
    named: dict[str, System], pages: list[tuple[bytes, str | None]], passes: int
) -> tuple[dict[str, list[str | None]], dict[str, float]]:
    """Every system's outputs (of the last pass) and CPU seconds over ``pages``: each page is run by every
    system in turn, and a page's time is its best of ``passes``, so load on a shared box that comes and
    goes during the run weighs on every system alike instead of on whichever ran at that moment."""
    outputs: dict[str, list[str | None]] = {name: [None] * len(pages) for name in named}
    best: dict[str, list[float]] = {name: [float("inf")] * len(pages) for name in named}
    for _ in range(passes):
        for i, (raw, url) in enumerate(pages):
            for name, system in named.items():
                start = time.process_time()  # CPU time of this process: other jobs on the box count less
                outputs[name][i] = system(raw, url)
                best[name][i] = min(best[name][i], time.process_time() - start)
    return outputs, {name: sum(times) for name, times in best.items()}


# -- the ScrapingHub metric, as in its evaluate.py ------------------------------------------------

_TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def _shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN_RE.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    truth, guess = _shingles(true), _shingles(pred)
    tp = float(sum((truth & guess).values()))
    fp = float(sum((guess - truth).values()))
    fn = float(sum((truth - guess).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total > 0 else (tp, fp, fn)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def metrics(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    precision = statistics.mean(_precision(*r) for r in rows if r[0] + r[1] > 0)
    recall = statistics.mean(_recall(*r) for r in rows if r[0] + r[2] > 0)
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall)}


def bootstrap_ci(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    rng = random.Random(0)
    samples: dict[str, list[float]] = {}
    for _ in range(N_BOOTSTRAP):
        for key, value in metrics([rows[rng.randrange(len(rows))] for _ in rows]).items():
            samples.setdefault(key, []).append(value)
    return {f"{k}_ci": 1.96 * statistics.stdev(v) for k, v in samples.items()}


# -- the three evaluations ------------------------------------------------------------------------


def scrapinghub() -> list[dict]:
    truth = json.loads((SCRAPINGHUB / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {key: gzip.decompress((SCRAPINGHUB / "html" / f"{key}.html.gz").read_bytes()) for key in truth}
    megabytes = sum(len(p) for p in pages.values()) / 1e6
    keys = list(pages)
    outputs, cpu = interleaved(systems(as_text=True), [(pages[k], truth[k].get("url")) for k in keys], SPEED_RUNS)
    results = []
    for name, texts in outputs.items():
        rows = [tp_fp_fn(truth[k].get("articleBody", ""), text or "") for k, text in zip(keys, texts, strict=True)]
        speed = {"pages_s": len(pages) / cpu[name], "mb_s": megabytes / cpu[name]}
        results.append({"system": name, **metrics(rows), **bootstrap_ci(rows), **speed})
    _speed_ratios(results)
    reference = json.loads((SCRAPINGHUB / "reference_outputs" / "trafilatura.json").read_text(encoding="utf-8"))
    stored = reference.get("output", reference)
    rows = [tp_fp_fn(truth[k].get("articleBody", ""), (stored.get(k) or {}).get("articleBody") or "") for k in truth]
    name = f"trafilatura {reference.get('version', '?')}, stored reference output"
    results.append({"system": name, **metrics(rows), **bootstrap_ci(rows)})
    return results


def _squash(text: str) -> str:
    return " ".join(text.split())


def snippets() -> list[dict]:
    entries = json.loads((EVAL_SUBSET / "evaldata_subset.json").read_text(encoding="utf-8"))
    pages = {url: gzip.decompress((EVAL_SUBSET / "html" / e["file"]).read_bytes()) for url, e in entries.items()}
    results = []
    for name, system in systems(as_text=False).items():
        found = total_with = absent = total_without = 0
        for url, entry in entries.items():
            text = _squash(system(pages[url], url if url.startswith("http") else None) or "")
            found += sum(_squash(s) in text for s in entry.get("with", []))
            absent += sum(_squash(s) not in text for s in entry.get("without", []))
            total_with += len(entry.get("with", []))
            total_without += len(entry.get("without", []))
        tp, fn, fp = found, total_with - found, total_without - absent
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        results.append(
            {
                "system": name,
                "with_found": found / total_with,
                "without_absent": absent / total_without,
                "f1": 2 * precision * recall / (precision + recall),
                "snippets": f"{total_with}+{total_without}",
            }
        )
    return results


def korean() -> list[dict]:
    expected = json.loads(DONGA.with_suffix(".json").read_text(encoding="utf-8"))
    raw = gzip.decompress(DONGA.with_suffix(".html.gz").read_bytes())
    results = []
    for name, system in systems(as_text=True).items():
        row = tp_fp_fn(expected["expected"]["cleaned_text"], system(raw, expected["url"]) or "")
        precision, recall = _precision(*row), _recall(*row)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        results.append({"system": name, "precision": precision, "recall": recall, "f1": f1})
    return results


# -- (d) WCXB: word F1 per page type ----------------------------------------------------------------

_WORD_RE = re.compile(r"\w+")


def word_f1(truth: str, pred: str) -> float:
    """WCXB's metric for one page: F1 of the lower-cased word bags (1 when both are empty)."""
    a, b = Counter(_WORD_RE.findall(truth.lower())), Counter(_WORD_RE.findall((pred or "").lower()))
    if not a or not b:
        return float(not a and not b)
    tp = sum((a & b).values())
    return 2 * tp / (sum(a.values()) + sum(b.values()))


def wcxb_pages() -> list[tuple[str, str, str, bytes, str]]:
    """(id, labelled page type, url, raw bytes, ground-truth main content) of every page."""
    pages = []
    for path in sorted((WCXB / "ground-truth").glob("*.json")):
        gt = json.loads(path.read_text(encoding="utf-8"))
        raw = gzip.decompress((WCXB / "html" / f"{path.stem}.html.gz").read_bytes())
        pages.append(
            (path.stem, gt["_internal"]["page_type"]["primary"], gt["url"], raw, gt["ground_truth"]["main_content"])
        )
    return pages


def _resiliparse() -> System | None:
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree
    except ImportError:  # optional: only this comparison row needs it
        return None
    return lambda raw, url: extract_plain_text(HTMLTree.parse_from_bytes(raw), main_content=True)


def wcxb(pages: list[tuple[str, str, str, bytes, str]]) -> tuple[list[dict], dict]:
    types = sorted({p[1] for p in pages})
    candidates: dict[str, System | None] = {
        "dataflow.extract (default config)": _ours(ExtractConfig()),
        "dataflow.extract, html.page_types off (trafilatura favor_precision)": _ours(_off()),
        "dataflow.extract, html.precision_main_root and precision_fast off": _ours(
            _with(precision_main_root=False, precision_fast=False)
        ),
        # one default setting off at a time: what each adds (HtmlConfig's comments quote these rows)
        "dataflow.extract, html.recall_guard 0": _ours(_with(recall_guard=0.0)),
        "dataflow.extract, html.product_json_ld off": _ours(_with(product_json_ld=False)),
        "dataflow.extract, html.min_block_words none": _ours(_with(min_block_words={})),
        "dataflow.extract, html.fallback_strategy dom": _ours(_with(fallback_strategy="dom")),
        "dataflow.extract, html.trafilatura_fast off": _ours(_with(trafilatura_fast=False)),
        "dataflow.extract, html.description_fallback off": _ours(_with(description_fallback=False)),
        "trafilatura default": _trafilatura(False),
        "trafilatura favor_precision": _trafilatura(False, favor_precision=True),
        "resiliparse main_content": _resiliparse(),
    }
    named = {name: system for name, system in candidates.items() if system is not None}
    outputs, cpu = interleaved(named, [(p[3], p[2]) for p in pages], 1)
    results = []
    for name, texts in outputs.items():
        scores: dict[str, list[float]] = {t: [] for t in ["all", *types]}
        empty = 0
        for (_, kind, _, _, truth), text in zip(pages, texts, strict=True):
            empty += not (text or "").strip()
            score = word_f1(truth, text or "")
            scores[kind].append(score)
            scores["all"].append(score)
        row = {"system": name, **{k: statistics.mean(v) for k, v in scores.items()}}
        results.append({**row, "empty": str(empty), "pages_s": len(pages) / cpu[name]})
    _speed_ratios(results)
    detected = _detected(pages)
    return results, {**detection(pages, detected), "strategies": by_detected_type(pages, detected, outputs)}


def _speed_ratios(results: list[dict]) -> None:
    """Each timed row's pages/s as a ratio to trafilatura default's in the same run."""
    base = next(r["pages_s"] for r in results if r["system"] == "trafilatura default")
    for row in results:
        if "pages_s" in row:
            row["speed_ratio"] = f"{row['pages_s'] / base:.2f}x"


def _detected(pages: list[tuple[str, str, str, bytes, str]]) -> list[str]:
    """Each page's detected type, "(no evidence)" added where nothing spoke for any type."""
    from dataflow.extractors import html_dom
    from dataflow.extractors.page_type import detect
    from dataflow.readers.decode import decode_html

    found = [detect(html_dom.read_facts(html_dom.parse(decode_html(p[3], {})[0])), p[2]) for p in pages]
    return [kind.name if kind.evidence else f"{kind.name} (no evidence)" for kind in found]


def detection(pages: list[tuple[str, str, str, bytes, str]], detected: list[str]) -> dict:
    """The detector against WCXB's labels: accuracy and the confusion counts (label -> detected)."""
    confusion: dict[str, Counter] = {}
    for page, name in zip(pages, detected, strict=True):
        confusion.setdefault(page[1], Counter())[name] += 1
    right = sum(c[k] for k, c in confusion.items())
    return {"accuracy": right / len(pages), "confusion": {k: dict(c) for k, c in sorted(confusion.items())}}


# the strategies compared per detected type (dom_or_precision is the fallback's: compared on the pages without
# evidence through the "html.fallback_strategy dom" row)
COMPARED_STRATEGIES = ("precision", "trafilatura", "dom", "dom_links")


def by_detected_type(
    pages: list[tuple[str, str, str, bytes, str]], detected: list[str], outputs: dict[str, list[str | None]]
) -> list[dict]:
    """Word F1 per detected type (untimed): the default config's and each strategy's given to every type,
    the evidence for ``HtmlConfig.strategies``; pages without evidence are one group ("(no evidence)")."""
    from dataflow.config import PAGE_TYPES

    groups = [g if "(no evidence)" not in g else "(no evidence)" for g in detected]
    texts = {"default": outputs["dataflow.extract (default config)"]}
    for strategy in COMPARED_STRATEGIES:
        run = _ours(_with(strategies=dict.fromkeys(PAGE_TYPES, strategy), fallback_strategy=strategy))
        texts[strategy] = [run(p[3], p[2]) for p in pages]
    rows = []
    for group in sorted(set(groups)):
        index = [i for i, g in enumerate(groups) if g == group]
        scores = {
            name: statistics.mean(word_f1(pages[i][4], out[i] or "") for i in index) for name, out in texts.items()
        }
        rows.append({"system": group, "pages": str(len(index)), **scores})
    return rows


# -- (e) parsers -------------------------------------------------------------------------------------


def parsers(raw_pages: list[tuple[str, str, str, bytes, str]]) -> list[dict]:
    """CPU time of one parse per WCXB page (decoded text in, a tree out), best of two passes."""
    import lxml.html
    from selectolax.lexbor import LexborHTMLParser

    from dataflow.readers.decode import decode_html

    pages = [decode_html(p[3], {})[0] for p in raw_pages]
    candidates: dict[str, Callable[[str], object]] = {
        "lxml.html (trafilatura's parser)": lxml.html.document_fromstring,
        "selectolax lexbor": LexborHTMLParser,  # (selectolax 1.0 dropped its modest back end)
    }
    try:
        from resiliparse.parse.html import HTMLTree

        candidates["resiliparse"] = HTMLTree.parse
    except ImportError:
        pass
    rows = []
    for name, parse in candidates.items():

        def one_pass(parse=parse) -> None:  # each tree dropped as soon as it is built
            for page in pages:
                parse(page)

        seconds, _ = best_of(one_pass, SPEED_RUNS, time.process_time)
        rows.append({"system": name, "ms_page": 1000 * seconds / len(pages), "pages_s": len(pages) / seconds})
    return rows


def _cell(row: dict, key: str) -> str:
    value = row.get(key, "")
    if not isinstance(value, float):
        return str(value)
    if key in ("pages_s", "mb_s", "ms_page"):
        return f"{value:.1f}" if key != "mb_s" else f"{value:.2f}"
    ci = row.get(f"{key}_ci")
    return f"{value:.3f}" + (f" ± {ci:.3f}" if ci is not None else "")


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    lines = ["| " + " | ".join(title for title, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row, key) for _, key in columns) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--sections", default="abcde", help="run only these sections, e.g. 'ad' (default: all)")
    args = parser.parse_args()
    if not WEB.is_dir():
        sys.exit(f"test data not found at {WEB}")
    print(f"trafilatura {trafilatura.__version__}; one process; speed = pages per CPU-second\n")
    out: dict = {}
    cols = [("system", "system"), ("precision", "precision"), ("recall", "recall"), ("F1", "f1")]
    if "a" in args.sections:
        out["scrapinghub"] = a = scrapinghub()
        print("### (a) ScrapingHub article-extraction benchmark, 181 pages\n")
        speed_cols = [("pages/s", "pages_s"), ("MB/s", "mb_s"), ("vs trafilatura default", "speed_ratio")]
        print(_table(a, [*cols, *speed_cols]))
    if "b" in args.sections:
        out["snippets"] = b = snippets()
        print("\n### (b) trafilatura evaluation subset, snippet hit rates\n")
        snippet_cols = [("with found", "with_found"), ("without absent", "without_absent"), ("snippet F1", "f1")]
        print(_table(b, [("system", "system"), *snippet_cols, ("snippets (with+without)", "snippets")]))
    if "c" in args.sections:
        out["korean"] = c = korean()
        print("\n### (c) Korean news page (goose3 test_donga_korean)\n")
        print(_table(c, cols))
    pages = wcxb_pages() if "d" in args.sections or "e" in args.sections else []  # read once for (d) and (e)
    if "d" in args.sections:
        d, detected = wcxb(pages)
        out.update(wcxb=d, detection=detected)
        types = [k for k in d[0] if k not in ("system", "all", "empty", "pages_s", "speed_ratio")]
        print(f"\n### (d) WCXB dev subset, {len(pages)} pages: word F1 per labelled page type\n")
        wcxb_cols = [("system", "system"), ("all", "all"), *[(t, t) for t in types], ("empty", "empty")]
        print(_table(d, [*wcxb_cols, ("pages/s", "pages_s"), ("vs trafilatura default", "speed_ratio")]))
        print(f"\npage-type detector vs the labels: accuracy {detected['accuracy']:.3f}")
        for label, counts in detected["confusion"].items():
            print(f"- {label}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))
        print("\nWord F1 by detected type: the default config, and each strategy given to every type\n")
        strategy_cols = [(f"{s} everywhere", s) for s in COMPARED_STRATEGIES]
        by_type_cols = [("detected type", "system"), ("pages", "pages"), ("default", "default"), *strategy_cols]
        print(_table(detected["strategies"], by_type_cols))
    if "e" in args.sections:
        out["parsers"] = e = parsers(pages)
        print("\n### (e) One parse per WCXB page\n")
        print(_table(e, [("parser", "system"), ("ms/page", "ms_page"), ("pages/s", "pages_s")]))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
