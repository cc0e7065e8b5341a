"""Korean quality stage: fast word statistics vs Kiwi, decision agreement and throughput.

Run: ``flock /tmp/bench.lock .venv/bin/python bench/bench_quality_ko.py`` (Kiwi on every document:
3-6 minutes on 2 busy cores; ``--every 10`` keeps every 10th document of each set, for iteration).
``--calibrate`` instead fits the extra-token tables of ``korean_words`` (``_EXTRA_BY_SHAPE``, ``_LAST_TABLE``)
on Kiwi's words and prints, per percentile level, the bounds (what ``quality_ko.KIWI_BOUNDS`` is set from),
their agreement and Kiwi share, in sample and across halves of the sources (fit on one half, checked on the
other).

Documents (read-only, ../shared/testdata, SOURCES.md; and the demo corpus): every Korean set, as
single records and as documents of k consecutive records (k = 5, 20, 60, joined by newlines), so
that the word counts, list ratios and stop-word counts straddle FineWeb-2's thresholds instead of
all being far below the 50-word minimum:

* KorQuAD v1 dev paragraphs and whole articles (Wikipedia); konlpy's constitution and bills
  (legal register), whole and in 20-line blocks; NSMC raw movie reviews (informal, spacing
  errors, ㅋㅋ); korean-hate-speech comments and news titles; KorNLI and KorSTS sentences
  (translated); the Korean side of the parallel news/JHE sets and the North-Korean news set;
* the demo corpus: Korean documents after extraction, normalization, boilerplate removal and
  language ID, as the pipeline hands them to ``quality_ko``.

For each document: Kiwi mode's decision (datatrove's filters on Kiwi morphemes, the reference),
fast mode's decision, and whether fast mode settled it without Kiwi. Throughput is measured in
the same run, on the same documents, one process: MB/s of UTF-8 input.
"""

from __future__ import annotations

import argparse
import bisect
import glob
import gzip
import json
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datatrove.data import Document  # noqa: E402

from dataflow.document import Meta  # noqa: E402
from dataflow.stages.korean_words import Bounds  # noqa: E402
from dataflow.stages.quality_ko import KoreanQualityStage  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
KT = TESTDATA / "korean_text"
GROUPS = (5, 20, 60)


def grouped(name: str, records: list[str]) -> dict[str, list[str]]:
    """The records one by one, and as documents of k consecutive records for each k in GROUPS."""
    records = [r.strip() for r in records if r.strip()]
    out = {f"{name} (single)": records}
    for k in GROUPS:
        out[f"{name} (x{k})"] = ["\n".join(records[i : i + k]) for i in range(0, len(records) - k + 1, k)]
    return out


def korean_sets(testdata: Path = TESTDATA) -> dict[str, list[str]]:
    """Every Korean text set under testdata, by name (see module docstring)."""
    kt = testdata / "korean_text"
    sets: dict[str, list[str]] = {}
    with gzip.open(kt / "korquad_v1/KorQuAD_v1.0_dev.json.gz") as f:
        articles = json.load(f)["data"]
    sets["korquad paragraphs"] = list(dict.fromkeys(p["context"] for a in articles for p in a["paragraphs"]))
    sets["korquad articles"] = ["\n".join(p["context"] for p in a["paragraphs"]) for a in articles]
    legal = [p.read_text("utf-8") for p in sorted((kt / "konlpy_corpus").rglob("*.txt"))]
    sets["konlpy legal (whole)"] = legal
    lines = [line for t in legal for line in t.splitlines()]
    sets["konlpy legal (x20 lines)"] = ["\n".join(lines[i : i + 20]) for i in range(0, len(lines) - 19, 20)]
    reviews = []
    for path in sorted(glob.glob(str(kt / "nsmc_raw_sample/*.json"))):
        reviews += [r["review"] for r in json.loads(Path(path).read_text("utf-8"))]
    sets |= grouped("nsmc reviews", reviews)
    hate = (kt / "korean_hate_speech/labeled/dev.tsv").read_text("utf-8").splitlines()[1:]
    unlabeled = (kt / "korean_hate_speech/unlabeled_comments_5.first3000.txt").read_text("utf-8").splitlines()
    sets |= grouped("hate-speech comments", [r.split("\t")[0] for r in hate] + unlabeled)
    sets |= grouped(
        "news titles", (kt / "korean_hate_speech/news_title/dev.news_title.txt").read_text("utf-8").splitlines()
    )
    nli = (kt / "kornli_korsts/KorNLI/xnli.dev.ko.tsv").read_text("utf-8").splitlines()[1:]
    sts = []
    for split in ("dev", "test"):
        sts += (kt / f"kornli_korsts/KorSTS/sts-{split}.tsv").read_text("utf-8").splitlines()[1:]
    sents = [c for r in nli for c in r.split("\t")[:2]] + [c for r in sts for c in r.split("\t")[5:7]]
    sets |= grouped("kornli+korsts sentences", list(dict.fromkeys(sents)))
    par = kt / "parallel_ko_en"
    ko_lines = []
    for split in ("dev", "test"):
        with tarfile.open(par / f"korean-english-news-v1/korean-english-park.{split}.tar.gz") as tar:
            ko_lines += tar.extractfile(f"korean-english-park.{split}.ko").read().decode("utf-8").splitlines()
    for split in ("dev", "eval"):
        ko_lines += (par / f"korean-english-jhe/jhe-koen-{split}.ko").read_text("utf-8").splitlines()
    sets |= grouped("parallel ko news+jhe", ko_lines)
    nk = (par / "northkorean-english-news-v1/northkorean-english.dev.nk").read_text("utf-8").splitlines()
    sets |= grouped("north-korean news", nk)
    return sets


def demo_korean(demo: Path = ROOT / "samples" / "demo") -> list[str]:
    """Korean documents of the demo corpus as the pipeline hands them to quality_ko."""
    from dataflow.config import load_config
    from dataflow.document import is_live
    from dataflow.pipeline import ShardRunner
    from dataflow.readers.discover import discover

    cfg = load_config(ROOT / "configs" / "default.yaml")
    cfg.quality.korean, cfg.quality.english, cfg.pii.enabled = False, False, False
    cfg.langid.model_path = str(ROOT / cfg.langid.model_path)
    runner = ShardRunner(cfg)
    docs = runner.run(discover([str(demo)]))
    return [d.text for d in docs if is_live(d) and d.metadata.get(Meta.LANGUAGE) == "ko"]


def ko_doc(text: str, i: int) -> Document:
    return Document(text=text, id=str(i), metadata={Meta.LANGUAGE: "ko"})


def decisions(stage: KoreanQualityStage, texts: list[str]) -> tuple[list[str | None], float, float]:
    """(reason or None per text, CPU seconds of this process, bytes of the texts Kiwi was asked for) for one
    stage over the texts."""
    out, asked = [], 0
    start = time.process_time()
    for i, t in enumerate(texts):
        before = stage.kiwi_calls
        out.append(stage.apply(ko_doc(t, i)))
        if stage.kiwi_calls != before:
            asked += len(t.encode())
    return out, time.process_time() - start, asked


def agreement(all_sets: dict[str, list[str]]) -> None:
    kiwi, fast = KoreanQualityStage(words="kiwi"), KoreanQualityStage(words="fast")
    warm = "한국어 문장입니다. 날씨가 좋아서 공원에 갔다. " * 20
    kiwi.apply(ko_doc(warm, 0)), fast.apply(ko_doc(warm, 0))  # load Kiwi and compile the kernel outside the timings
    print(
        "| set | docs | MB | Kiwi keeps | fast keeps | decisions equal | reasons equal | asked Kiwi (docs / bytes) |"
        " Kiwi MB/s | fast MB/s | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    tot = dict(n=0, mb=0.0, eq=0, req=0, ask=0, ask_b=0.0, tk=0.0, tf=0.0)
    low = (2.0, "")
    for name, texts in all_sets.items():
        if not texts:
            continue
        mb = sum(len(t.encode()) for t in texts) / 1e6
        ref, tk, _ = decisions(kiwi, texts)
        asked_before = fast.kiwi_calls
        got, tf, ask_b = decisions(fast, texts)
        asked = fast.kiwi_calls - asked_before
        eq = sum((a is None) == (b is None) for a, b in zip(ref, got, strict=True))
        req = sum(a == b for a, b in zip(ref, got, strict=True))
        n = len(texts)
        low = min(low, (eq / n, name))
        print(
            f"| {name} | {n} | {mb:.2f} | {sum(r is None for r in ref)} | {sum(g is None for g in got)} |"
            f" {eq / n:.4f} | {req / n:.4f} | {asked / n:.3f} / {ask_b / 1e6 / mb:.3f} | {mb / tk:.2f} |"
            f" {mb / tf:.2f} | {tk / tf:.1f}x |"
        )
        for k, v in dict(n=n, mb=mb, eq=eq, req=req, ask=asked, ask_b=ask_b / 1e6, tk=tk, tf=tf).items():
            tot[k] += v
        for i, (a, b) in enumerate(zip(ref, got, strict=True)):
            if (a is None) != (b is None):
                print(f"<!-- disagreement {name} #{i}: kiwi={a} fast={b}: {texts[i][:80]!r} -->")
    n = tot["n"]
    print(
        f"| **all** | {n} | {tot['mb']:.2f} | | | {tot['eq'] / n:.4f} | {tot['req'] / n:.4f} |"
        f" {tot['ask'] / n:.3f} / {tot['ask_b'] / tot['mb']:.3f} | {tot['mb'] / tot['tk']:.2f} |"
        f" {tot['mb'] / tot['tf']:.2f} | {tot['tk'] / tot['tf']:.1f}x |"
    )
    print(f"\nlowest set: {low[1]} ({low[0]:.4f}); MB/s = UTF-8 bytes / CPU seconds of this process")


HALF_A = ("korquad", "nsmc", "kornli", "north-korean", "demo")  # calibration halves: whole sources, not blocks


def kiwi_units(text: str, words: list[str]) -> list[tuple[str, int]]:
    """Each Hangul run of the fast split's tokenizer with the number of Kiwi content words starting in it."""
    from datatrove.utils.text import PUNCTUATION_SET

    from dataflow.stages.korean_words import _TOKEN

    spans = [(m.start(), m.group()) for m in _TOKEN.finditer(text)]
    starts = [a for a, _ in spans]
    got = [0] * len(spans)
    pos = 0
    for w in words:  # Kiwi returns spans in order; contracted morphemes share a start
        pos = max(text.find(w, pos), pos)
        if not PUNCTUATION_SET.issuperset(w) and spans:
            got[max(bisect.bisect_right(starts, pos) - 1, 0)] += 1
    return [(u, k) for (_, u), k in zip(spans, got, strict=True) if "\uac00" <= u[0] <= "\ud7a3"]


def fit_extra(units: list[tuple[str, int]], n_last: int = 150, min_count: int = 30) -> tuple[dict, dict]:
    """Mean Kiwi-minus-fast content words per Hangul run by (length, pieces), then the residual by last
    syllable for the ``n_last`` syllables that move the totals most (seen ``min_count`` times or more)."""
    from dataflow.stages.korean_words import _SHAPE_CAP, split_eojeol

    rows = []
    shape: dict[tuple[int, int], list[float]] = {}
    for u, k in units:
        p = len(split_eojeol(u)) if len(u) > 1 else 1
        key = (min(len(u), _SHAPE_CAP[0]), min(p, _SHAPE_CAP[1]))
        rows.append((key, u[-1], k - p))
        e = shape.setdefault(key, [0.0, 0])
        e[0], e[1] = e[0] + k - p, e[1] + 1
    by_shape = {key: round(t / n, 3) for key, (t, n) in shape.items() if n >= 10}
    last: dict[str, list[float]] = {}
    for key, syl, d in rows:
        e = last.setdefault(syl, [0.0, 0])
        e[0], e[1] = e[0] + d - by_shape.get(key, 0.0), e[1] + 1
    ranked = sorted(((abs(t), syl, t / n) for syl, (t, n) in last.items() if n >= min_count), reverse=True)
    return by_shape, {syl: round(m, 2) for _, syl, m in ranked[:n_last]}


def use_extra(by_shape: dict, by_last: dict) -> None:
    """Put fitted tables into korean_words (and drop the chunk and token caches, which hold the old estimates)."""
    from dataflow.stages import korean_words as kw

    kw._EXTRA_BY_SHAPE.clear(), kw._EXTRA_BY_SHAPE.update(by_shape)
    kw._EXTRA_BY_LAST.clear(), kw._EXTRA_BY_LAST.update(by_last)
    kw.clear_caches()


def spread_bounds(pairs: list, q: float) -> Bounds:
    """Bounds from the q-th quantiles of Kiwi's numbers around the estimates (pairs: (Kiwi, estimate))."""
    import numpy as np

    near = [(k, f) for k, f in pairs if 20 <= k.n_content <= 200]
    big = [(k, f) for k, f in pairs if k.n_content >= 50]
    ratio = np.array([k.n_content / max(f.n_content, 1) for k, f in near])
    mean = np.array([k.mean_length - f.mean_length for k, f in big])
    alpha = np.array([k.alpha_ratio - f.alpha_ratio for k, f in big])
    top = np.array([a - b for k, f in big for a, b in zip(k.top_ngram, f.top_ngram, strict=True)])
    dup = np.array([a - b for k, f in big for a, b in zip(k.dup_ngram, f.dup_ngram, strict=True)])
    stop = np.array([f.stop_words - k.stop_words for k, f in big])
    lo = 1 - q
    return Bounds(
        float(np.quantile(ratio, lo)), float(np.quantile(ratio, q)), 0.0,
        max(float(-np.quantile(mean, lo)), 0.0), max(float(np.quantile(mean, q)), 0.0),
        max(float(-np.quantile(alpha, lo)), 0.0), max(float(np.quantile(alpha, q)), 0.0),
        int(np.ceil(np.quantile(stop, q))),
        max(float(-np.quantile(top, lo)), 0.0), max(float(np.quantile(top, q)), 0.0),
        max(float(-np.quantile(dup, lo)), 0.0), max(float(np.quantile(dup, q)), 0.0),
    )  # fmt: skip


def calibrate(all_sets: dict[str, list[str]], kiwi_words: dict[str, list[list[str]]] | None = None) -> None:
    """Fit the extra-token tables, then per quantile level the bounds and what they give, in sample and
    across halves (fit and bounds on one half of the sources, agreement on the other)."""
    from dataflow.stages.korean_words import EXACT, UNSURE, chunks, estimate, korean_rules, word_stats
    from dataflow.stages.quality_ko import _DUP_NS, _TOP_NS, KIWI_BOUNDS, RULES, SharedKiwiTokenizer, single_spaced

    tok, stops = SharedKiwiTokenizer(), RULES["stop_words"]
    docs = []  # (set, view text, Kiwi stats, Kiwi decision, Hangul units)
    for name, texts in all_sets.items():
        for i, t in enumerate(texts):
            v = single_spaced(Document(text=t, id="")).text
            words = kiwi_words[name][i] if kiwi_words else tok.word_tokenize(v)
            k = word_stats(v, words, stops, _TOP_NS, _DUP_NS)
            docs.append((name, v, k, korean_rules(v, k, RULES, EXACT), kiwi_units(v, words)))
    half = [name.startswith(HALF_A) for name, *_ in docs]
    print("| fit on | checked on | quantiles | decisions equal | lowest set | Kiwi asked (docs) | Kiwi asked (bytes) |")
    print("|---|---|---|---|---|---|---|")
    for fit, check in (("all", "all"), ("A", "B"), ("B", "A")):
        on = [(fit == "all" or h == (fit == "A")) for h in half]
        by_shape, by_last = fit_extra([u for d, o in zip(docs, on, strict=True) if o for u in d[4]])
        use_extra(by_shape, by_last)
        est = [estimate(v, chunks(v), _TOP_NS, _DUP_NS) for _, v, *_ in docs]
        pairs = [(d[2], e) for d, e, o in zip(docs, est, on, strict=True) if o]
        target = [check == "all" or h == (check == "A") for h in half]
        levels = [(f"{1 - q:.2f}-{q:.2f}", spread_bounds(pairs, q)) for q in (0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)]
        for label, b in levels + ([("KIWI_BOUNDS", KIWI_BOUNDS)] if fit == "all" else []):
            eq, per, ask, ask_bytes, nb = 0, {}, 0, 0, 0
            for d, e, t in zip(docs, est, target, strict=True):
                if not t:
                    continue
                got = korean_rules(d[1], e, RULES, b)
                if got == UNSURE:
                    ask, ask_bytes, got = ask + 1, ask_bytes + len(d[1].encode()), d[3]
                ok = (got is None) == (d[3] is None)
                eq, nb = eq + ok, nb + len(d[1].encode())
                c = per.setdefault(d[0], [0, 0])
                c[0], c[1] = c[0] + ok, c[1] + 1
            n = sum(target)
            low = min((a / m, s) for s, (a, m) in per.items())
            print(f"| {fit} | {check} | {label} | {eq / n:.4f} | {low[0]:.4f} ({low[1]}) | {ask / n:.4f} |"
                  f" {ask_bytes / nb:.4f} |")  # fmt: skip
            if fit == "all":
                print(f"<!-- bounds {label}: {b} -->")
        if fit == "all":
            print(f"<!-- _EXTRA_BY_SHAPE = {by_shape} -->\n<!-- _EXTRA_BY_LAST = {by_last} -->")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calibrate", action="store_true", help="print Kiwi-vs-fast spreads per statistic")
    ap.add_argument(
        "--every", type=int, default=1, help="keep every k-th document of each set (quick iteration; 1: the full bench)"
    )
    args = ap.parse_args()
    if not KT.is_dir():
        raise SystemExit(f"test data not found at {KT}")
    sets = korean_sets()
    sets["demo corpus (ko)"] = demo_korean()
    sets = {name: texts[:: args.every] for name, texts in sets.items()}
    print(f"# Korean quality: fast words vs Kiwi ({time.strftime('%Y-%m-%d')})\n")
    if args.calibrate:
        calibrate(sets)
        return
    agreement(sets)


if __name__ == "__main__":
    main()
