"""Measure language ID on the project's test data: lid.176 alone and the Korean-aware decision.

    python -m quality_models.lid_eval [--testdata ../shared/testdata] [--model models/lid.176.ftz]
                                      [--json out.json] [--errors 10]

For every set (``quality_models.lid_sets``): accuracy over all texts and over texts of 20+
characters, accuracy per length bucket, how many texts were called Korean (for the Chinese,
Japanese and other-language sets: the false-Korean rate the targets bound) and which labels the
errors went to. "other" sets count a text right when it is called neither Korean nor English.
Texts with no letter at all (page numbers, rules of dashes in the bills) have no language and are
left out, and counted. Both methods run in the same process on the same texts, so the table
compares them directly.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from dataflow.config import LangIdConfig
from dataflow.stages.langid import identify
from quality_models.lid_sets import LENGTH_BUCKETS, EvalSet, length_bucket, load_sets

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TESTDATA = ROOT.parent / "shared" / "testdata"
LONG_CHARS = 20  # the parallel-line target is over lines of 20+ characters
METHODS = ("lid176", "korean_aware")


def has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def correct(expected: str, predicted: str) -> bool:
    if expected == "other":
        return predicted not in ("ko", "en")
    return predicted == expected


def evaluate_set(s: EvalSet, cfg: LangIdConfig) -> dict:
    """Accuracy and error breakdown of one set under one config."""
    texts = [t for t in s.texts if has_letter(t)]
    preds = [identify(t, cfg)[0] for t in texts]
    ok = [correct(s.language, p) for p in preds]
    buckets: dict[str, list[bool]] = {}
    for t, o in zip(texts, ok, strict=True):
        buckets.setdefault(length_bucket(len(t)), []).append(o)
    long_ok = [o for t, o in zip(texts, ok, strict=True) if len(t) >= LONG_CHARS]
    order = [length_bucket(b) for b in LENGTH_BUCKETS]
    return {
        "set": s.name,
        "expected": s.language,
        "n": len(texts),
        "no_letters": len(s.texts) - len(texts),
        "accuracy": sum(ok) / len(ok) if ok else None,
        "n_20plus": len(long_ok),
        "accuracy_20plus": sum(long_ok) / len(long_ok) if long_ok else None,
        "called_ko": sum(p == "ko" for p in preds) / len(preds) if preds else None,
        "buckets": {
            b: {"n": len(buckets[b]), "accuracy": sum(buckets[b]) / len(buckets[b])} for b in order if b in buckets
        },
        "errors_to": dict(Counter(p or "none" for p, o in zip(preds, ok, strict=True) if not o).most_common(6)),
        "error_examples": [t[:80] for t, o in zip(texts, ok, strict=True) if not o][:10],
    }


def evaluate(testdata: Path, model: Path) -> dict[str, list[dict]]:
    base = LangIdConfig(model_path=str(model))
    configs = {"lid176": replace(base, script_rules=False), "korean_aware": base}
    sets = load_sets(testdata)
    return {name: [evaluate_set(s, cfg) for s in sets] for name, cfg in configs.items()}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def markdown(results: dict[str, list[dict]]) -> str:
    """The BENCHMARKS.md tables: accuracy per set for both methods, then per length bucket."""
    a, b = results["lid176"], results["korean_aware"]
    out = [
        "| set | expected | n | lid.176 % | Korean-aware % | lid.176 20+ chars % | Korean-aware 20+ % "
        "| called ko: lid.176 / aware % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x, y in zip(a, b, strict=True):
        out.append(
            f"| {x['set']} | {x['expected']} | {x['n']} | {_pct(x['accuracy'])} | {_pct(y['accuracy'])} | "
            f"{_pct(x['accuracy_20plus'])} | {_pct(y['accuracy_20plus'])} | "
            f"{_pct(x['called_ko'])} / {_pct(y['called_ko'])} |"
        )
    order = [length_bucket(lo) for lo in LENGTH_BUCKETS]
    out += [
        "",
        "| set: lid.176 -> Korean-aware % by length (chars) | " + " | ".join(order) + " |",
        "|---" * (len(order) + 1) + "|",
    ]
    for x, y in zip(a, b, strict=True):
        cells = []
        for k in order:
            if k in x["buckets"]:
                n = x["buckets"][k]["n"]
                cells.append(f"{_pct(x['buckets'][k]['accuracy'])} -> {_pct(y['buckets'][k]['accuracy'])} ({n})")
            else:
                cells.append("")
        out.append(f"| {x['set']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--testdata", type=Path, default=DEFAULT_TESTDATA)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "lid.176.ftz")
    ap.add_argument("--json", type=Path, help="also write the full results here")
    ap.add_argument("--errors", action="store_true", help="print error examples of the Korean-aware decision")
    args = ap.parse_args(argv)
    if not args.testdata.is_dir():
        print(f"lid_eval: test data not found at {args.testdata}", file=sys.stderr)
        return 2
    results = evaluate(args.testdata, args.model)
    print(markdown(results))
    if args.errors:
        for r in results["korean_aware"]:
            print(f"\n{r['set']}: errors to {r['errors_to']}\n  " + "\n  ".join(r["error_examples"]))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
