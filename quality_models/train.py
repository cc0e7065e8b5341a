"""Train and evaluate the fastText quality classifier.

    python -m quality_models.train                              # default set built from ../shared/testdata
    python -m quality_models.train --data mine.jsonl [--eval held_out.parquet] [--text-field text --label-field label]
    options: --out models/ --link models/quality.bin --quantize --testdata DIR --threshold 0.5 --no-heuristics
             --seed N (the training file's sampling and order; quality_data.SEED by default)

With no ``--data``, the training set is the default one (``quality_models.quality_data``): train
sources only, hand-labelled units excluded, drawn into equal (language, label) cells and shuffled
(``quality_data.balanced``, seeded by ``--seed``); it is evaluated on the source-disjoint split and on
the hand-labelled set, beside the pipeline's heuristic filters (Gopher/C4/FineWeb for English,
FineWeb-2 Korean) used as a pass/fail classifier on the same documents. With ``--data`` (JSONL or
Parquet, users' own labels), ``--eval`` names held-out data; without it, 10% of the records
(seeded) are held out.

Writes ``<out>/quality-<sha256[:12]>.bin`` (``.ftz`` with ``--quantize``) and beside it
``quality-<hash>.json``: the model card's numbers (data, sizes, parameters, metrics, threshold,
score quantiles of the training texts, which ``keep_top_fraction`` reads). ``--link`` points a
stable path (what configs name) at the new model.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from dataflow.reports.quality_scores import quantile
from quality_models import classifier, handlabels, labelled, metrics, quality_data

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TESTDATA = ROOT.parent / "shared" / "testdata"
QUANTILES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)  # keep_top_fraction = 1 - q reads these thresholds
HELD_OUT = 0.1  # share of a user's records held out when no --eval is given


def heuristic_pass(texts: list[str], languages: list[str]) -> list[int]:
    """1 where the pipeline's heuristic quality stages keep the document (judged as a web page), else 0."""
    from datatrove.data import Document

    from dataflow.config import QualityConfig
    from dataflow.document import Meta, is_live
    from dataflow.stages.base import run_stages
    from dataflow.stages.quality import quality_stages

    docs = [
        Document(text=t, id=str(i), metadata={Meta.LANGUAGE: lang, Meta.SOURCE_KIND: "web"})
        for i, (t, lang) in enumerate(zip(texts, languages, strict=True))
    ]
    return [int(is_live(d)) for d in run_stages(quality_stages(QualityConfig()), docs)]


def evaluate(model, texts: list[str], labels: list[int], languages: list[str], threshold: float, heur: bool) -> dict:
    """Metrics overall and per language; with ``heur``, the heuristic filters' as a 0/1 classifier too."""
    scores = classifier.scores(model, texts)
    out = {"model": metrics.summary(labels, scores, threshold), "by_language": {}}
    passed = heuristic_pass(texts, languages) if heur else None
    if passed is not None:
        out["heuristics"] = metrics.summary(labels, passed, 0.5)
    for lang in sorted(set(languages)):
        idx = [i for i, x in enumerate(languages) if x == lang]
        ys = [labels[i] for i in idx]
        if len(set(ys)) < 2:
            continue
        row = {"model": metrics.summary(ys, [scores[i] for i in idx], threshold)}
        if passed is not None:
            row["heuristics"] = metrics.summary(ys, [passed[i] for i in idx], 0.5)
        out["by_language"][lang] = row
    return out


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {str(q): quantile(ordered, q) for q in QUANTILES}


def default_data(testdata: Path) -> tuple[list, list, list[dict]]:
    """(train examples, source-disjoint eval examples, hand-labelled records with text)."""
    testdata = testdata.resolve()  # extraction names each file by its file:// URI, which needs an absolute path
    exclude = handlabels.excluded_units()
    train, held = quality_data.split_examples(quality_data.build_examples(testdata, exclude=exclude))
    return train, held, handlabels.resolved(testdata)


def write_card(path: Path, card: dict) -> None:
    path.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def link(target: Path, link_path: Path) -> None:
    """Point ``link_path`` at ``target`` (a relative symlink, replaced atomically)."""
    tmp = link_path.with_name(link_path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, link_path.parent))
    tmp.replace(link_path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, nargs="*", help="labelled JSONL/Parquet (default: the built-in set)")
    ap.add_argument("--eval", type=Path, nargs="*", help="held-out labelled JSONL/Parquet for --data")
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--label-field", default="label")
    ap.add_argument("--lang-field", default="", help="optional language field: metrics per language")
    ap.add_argument("--testdata", type=Path, default=DEFAULT_TESTDATA)
    ap.add_argument("--out", type=Path, default=ROOT / "models")
    ap.add_argument("--link", type=Path, help="also point this path at the new model (e.g. models/quality.bin)")
    ap.add_argument("--quantize", action="store_true", help="write a quantized .ftz (a few MB; slower to score)")
    ap.add_argument("--threshold", type=float, default=0.5, help="P(high quality) at or above which a document passes")
    ap.add_argument("--no-heuristics", action="store_true", help="skip the heuristic-filter baseline")
    ap.add_argument("--epoch", type=int, help="override the fastText epochs")
    ap.add_argument(
        "--seed", type=int, default=quality_data.SEED, help="seed of the training file's sampling and order"
    )
    args = ap.parse_args(argv)

    params = classifier.TrainParams(quantize=args.quantize, **({"epoch": args.epoch} if args.epoch else {}))
    started = time.time()
    card: dict = {"params": asdict(params), "threshold": args.threshold}
    if args.data:
        data = labelled.read(args.data, args.text_field, args.label_field, args.lang_field)
        if args.eval:
            held = labelled.read(args.eval, args.text_field, args.label_field, args.lang_field)
            tr = list(range(len(data.texts)))
        else:
            tr, te = labelled.split(len(data.texts), HELD_OUT)
            held = labelled.Labelled(
                [data.texts[i] for i in te], [data.values[i] for i in te], [data.groups[i] for i in te]
            )
        random.Random(args.seed).shuffle(tr)  # fastText reads in file order: a user's file may be sorted by label
        texts, labels = [data.texts[i] for i in tr], [data.values[i] for i in tr]
        print(f"training on {len(texts)} records ({dict(data.skipped) or 'none'} skipped)", file=sys.stderr)
        model = classifier.train(texts, labels, params)
        evals = {"held_out": evaluate(model, held.texts, held.values, held.groups, args.threshold, False)}
        card["data"] = {
            "files": [str(p) for p in args.data],
            "train": len(texts),
            "held_out": len(held.texts),
            "skipped": data.skipped,
        }
    else:
        if not args.testdata.is_dir():
            print(f"train: test data not found at {args.testdata}; pass --data", file=sys.stderr)
            return 2
        train, held, hand = default_data(args.testdata)
        drawn = quality_data.balanced(train, args.seed)
        texts, labels = [e.text for e in drawn], [e.label for e in drawn]
        print(
            f"training on {len(texts)} draws of {len(train)} examples from {len({e.source for e in train})} sources",
            file=sys.stderr,
        )
        model = classifier.train(texts, labels, params)
        heur = not args.no_heuristics
        evals = {
            "source_disjoint": evaluate(
                model, [e.text for e in held], [e.label for e in held], [e.language for e in held], args.threshold, heur
            ),
            "hand_labelled": evaluate(
                model,
                [r["text"] for r in hand],
                [r["label"] for r in hand],
                [r["lang"] for r in hand],
                args.threshold,
                heur,
            ),
        }
        count, draws = Counter(e.source for e in train + held), Counter(e.source for e in drawn)
        card["data"] = {
            "sources": {
                s: {"language": lang, "label": y, "split": split, "examples": count[s], "training_draws": draws[s]}
                for s, (lang, y, split) in quality_data.SOURCES.items()
            },
            "seed": args.seed,
            "per_cell": quality_data.PER_CELL,
            "train": len(train),
            "training_draws": len(drawn),
            "source_disjoint_eval": len(held),
            "hand_labelled": len(hand),
        }
    card["metrics"] = evals
    card["score_quantiles"] = quantiles(classifier.scores(model, texts))
    path = classifier.save(model, args.out, quantized=args.quantize)
    card.update(
        version=classifier.model_version(path),
        file=path.name,
        bytes=path.stat().st_size,
        train_seconds=round(time.time() - started, 1),
    )
    write_card(path.with_suffix(".json"), card)
    if args.link:
        link(path, args.link)
    print(json.dumps({"model": str(path), **{k: v["model"] for k, v in evals.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
