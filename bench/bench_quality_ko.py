"""Korean quality stage: fast word statistics vs Kiwi, decision agreement and throughput.

Run: ``flock /tmp/bench.lock .venv/bin/python bench/bench_quality_ko.py`` (Kiwi on every document:
3-6 minutes on 2 busy cores). ``--calibrate`` prints the spread of Kiwi's numbers around the fast
ones (what ``korean_words.KIWI_BOUNDS`` is set from) instead of the agreement table.

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


def decisions(stage: KoreanQualityStage, texts: list[str]) -> tuple[list[str | None], float]:
    """(reason or None per text, seconds) for one stage over the texts."""
    start = time.perf_counter()
    out = [stage.apply(ko_doc(t, i)) for i, t in enumerate(texts)]
    return out, time.perf_counter() - start


def agreement(all_sets: dict[str, list[str]]) -> None:
    kiwi, fast = KoreanQualityStage(words="kiwi"), KoreanQualityStage(words="fast")
    warm = "한국어 문장입니다. 날씨가 좋아서 공원에 갔다. " * 20
    kiwi.apply(ko_doc(warm, 0)), fast.apply(ko_doc(warm, 0))  # load Kiwi outside the timings
    print(
        "| set | docs | MB | Kiwi keeps | fast keeps | decisions equal | reasons equal | asked Kiwi |"
        " Kiwi MB/s | fast MB/s | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    tot = dict(n=0, mb=0.0, eq=0, req=0, ask=0, tk=0.0, tf=0.0)
    for name, texts in all_sets.items():
        if not texts:
            continue
        mb = sum(len(t.encode()) for t in texts) / 1e6
        ref, tk = decisions(kiwi, texts)
        asked_before = fast.kiwi_calls
        got, tf = decisions(fast, texts)
        asked = fast.kiwi_calls - asked_before
        eq = sum((a is None) == (b is None) for a, b in zip(ref, got, strict=True))
        req = sum(a == b for a, b in zip(ref, got, strict=True))
        n = len(texts)
        print(
            f"| {name} | {n} | {mb:.2f} | {sum(r is None for r in ref)} | {sum(g is None for g in got)} |"
            f" {eq / n:.4f} | {req / n:.4f} | {asked / n:.3f} | {mb / tk:.2f} | {mb / tf:.2f} | {tk / tf:.1f}x |"
        )
        for k, v in dict(n=n, mb=mb, eq=eq, req=req, ask=asked, tk=tk, tf=tf).items():
            tot[k] += v
        for i, (a, b) in enumerate(zip(ref, got, strict=True)):
            if (a is None) != (b is None):
                print(f"<!-- disagreement {name} #{i}: kiwi={a} fast={b}: {texts[i][:80]!r} -->")
    n = tot["n"]
    print(
        f"| **all** | {n} | {tot['mb']:.2f} | | | {tot['eq'] / n:.4f} | {tot['req'] / n:.4f} |"
        f" {tot['ask'] / n:.3f} | {tot['mb'] / tot['tk']:.2f} | {tot['mb'] / tot['tf']:.2f} |"
        f" {tot['tk'] / tot['tf']:.1f}x |"
    )


def calibrate(all_sets: dict[str, list[str]]) -> None:
    """Spread of Kiwi's numbers around the fast ones, per percentile level, and what each level gives."""
    import numpy as np

    from dataflow.stages.korean_words import EXACT, UNSURE, Bounds, fast_words, korean_rules, word_stats
    from dataflow.stages.quality_ko import _DUP_NS, _TOP_NS, RULES, SharedKiwiTokenizer, single_spaced

    tok, stops = SharedKiwiTokenizer(), RULES["stop_words"]
    rows = []
    for texts in all_sets.values():
        for t in texts:
            v = single_spaced(Document(text=t, id="")).text
            kiwi = word_stats(v, tok.word_tokenize(v), stops, _TOP_NS, _DUP_NS)
            rows.append((v, kiwi, word_stats(v, fast_words(v), stops, _TOP_NS, _DUP_NS, exact=False)))
    ref = [korean_rules(v, k, RULES, EXACT) for v, k, _ in rows]
    near = [(k, f) for _, k, f in rows if 20 <= k.n_content <= 200]
    big = [(k, f) for _, k, f in rows if k.n_content >= 50]
    ratio = np.array([k.n_content / max(f.n_content, 1) for k, f in near])
    mean = np.array([k.mean_length - f.mean_length for k, f in big])
    alpha = np.array([k.alpha_ratio - f.alpha_ratio for k, f in big])
    frac = np.array(
        [a - b for k, f in big for a, b in zip(k.top_ngram + k.dup_ngram, f.top_ngram + f.dup_ngram, strict=True)]
    )
    stop = np.array([f.stop_words - k.stop_words for k, f in big])
    total = sum(len(v.encode()) for v, _, _ in rows)
    print("| percentiles | bounds | decisions equal | Kiwi asked (docs) | Kiwi asked (bytes) |")
    print("|---|---|---|---|---|")
    for q in (0.9, 0.95, 0.98, 0.99, 0.995):
        lo = 1 - q
        b = Bounds(
            float(np.quantile(ratio, lo)), float(np.quantile(ratio, q)), 1.0,
            float(-np.quantile(mean, lo)), float(np.quantile(mean, q)),
            float(-np.quantile(alpha, lo)), float(np.quantile(alpha, q)),
            int(np.ceil(np.quantile(stop, q))), float(-np.quantile(frac, lo)), float(np.quantile(frac, q)),
        )  # fmt: skip
        eq = ask = ask_bytes = 0
        for (v, _, f), r in zip(rows, ref, strict=True):
            got = korean_rules(v, f, RULES, b)
            if got == UNSURE:
                ask, ask_bytes, got = ask + 1, ask_bytes + len(v.encode()), r
            eq += (got is None) == (r is None)
        shown = ", ".join(f"{k}={x:.3g}" for k, x in vars(b).items())
        n = len(rows)
        print(f"| {lo:.3f}-{q:.3f} | {shown} | {eq / n:.4f} | {ask / n:.3f} | {ask_bytes / total:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calibrate", action="store_true", help="print Kiwi-vs-fast spreads per statistic")
    args = ap.parse_args()
    if not KT.is_dir():
        raise SystemExit(f"test data not found at {KT}")
    sets = korean_sets()
    sets["demo corpus (ko)"] = demo_korean()
    print(f"# Korean quality: fast words vs Kiwi ({time.strftime('%Y-%m-%d')})\n")
    if args.calibrate:
        calibrate(sets)
        return
    agreement(sets)


if __name__ == "__main__":
    main()
