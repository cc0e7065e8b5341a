"""Distil graded teacher scores (an LLM judge's, FineWeb-Edu style) into a fast fastText scorer.

    python -m quality_models.distill --data judged.jsonl [--text-field text] [--score-field score]
                                     [--threshold 3] [--held-out 0.2] [--out models/] [--link PATH]

Reads JSONL/Parquet of (text, score); several text fields join with a newline
(``--text-field prompt,completion`` reads the instruction judge's review rows, scored by
``--score-field judge_overall``). FineWeb-Edu (Penedo et al. 2024) trains a regression head on
450k Llama-3 scores 0-5 and keeps documents scoring >= 3; here fastText learns the rounded score
as a class and the distilled score is the expected value over its class probabilities, sum_k p(k) k,
which keeps the teacher's scale and ranks documents between grades. A seeded held-out part
(``--held-out``) measures Spearman's rank correlation with the teacher and, at ``--threshold``,
the precision, recall and F1 of "teacher >= threshold" (FineWeb-Edu reports F1 0.82 at 3).

The model is saved as ``distilled-<sha256[:12]>.bin`` with a card (``.json``) of these numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from quality_models import classifier, labelled, metrics

LABEL = "__label__"


def grade(score: float) -> int:
    return int(round(score))


def train(texts: list[str], scores: list[float], params: classifier.TrainParams) -> Any:
    if len({grade(s) for s in scores}) < 2:
        raise ValueError("teacher scores need at least two distinct grades")
    return classifier.train_labelled(texts, [f"{LABEL}{grade(s)}" for s in scores], params)


def predict(model: Any, texts: list[str], max_chars: int = 20_000) -> list[float]:
    """Expected grade sum_k p(k) k per text."""
    labels, probs = model.predict([classifier.prepare(t, max_chars) for t in texts], k=-1)
    return [
        float(
            sum(float(p) * int(lab.removeprefix(LABEL)) for lab, p in zip(labs, ps, strict=True)) / max(sum(ps), 1e-9)
        )
        for labs, ps in zip(labels, probs, strict=True)
    ]


def evaluate(teacher: list[float], student: list[float], threshold: float) -> dict[str, float]:
    ys = [int(t >= threshold) for t in teacher]
    out = {"n": len(teacher), "spearman": metrics.spearman(teacher, student)}
    if 0 < sum(ys) < len(ys):
        p, r = metrics.precision_recall(ys, [int(s >= threshold) for s in student])
        out |= {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "threshold": threshold}
        out["roc_auc"] = metrics.roc_auc(ys, student)
    return out


def read_scored(paths: list[Path], text_field: str, score_field: str) -> labelled.Labelled:
    """(text, score) records; ``text_field`` may name several fields, comma-separated, joined by newlines."""
    fields = [f for f in text_field.split(",") if f]
    return labelled.read(paths, fields[0] if len(fields) == 1 else tuple(fields), score_field, scores=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--score-field", default="score")
    ap.add_argument("--threshold", type=float, default=3.0, help="teacher score counted as 'keep' for P/R/F1")
    ap.add_argument("--held-out", type=float, default=0.2)
    ap.add_argument("--epoch", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path("models"))
    ap.add_argument("--link", type=Path)
    args = ap.parse_args(argv)
    data = read_scored(args.data, args.text_field, args.score_field)
    tr, te = labelled.split(len(data.texts), args.held_out)
    params = replace(classifier.TrainParams(), epoch=args.epoch)
    model = train([data.texts[i] for i in tr], [data.values[i] for i in tr], params)
    result = evaluate([data.values[i] for i in te], predict(model, [data.texts[i] for i in te]), args.threshold)
    path = classifier.save(model, args.out, prefix="distilled")
    card = {
        "version": classifier.model_version(path),
        "file": path.name,
        "data": [str(p) for p in args.data],
        "train": len(tr),
        "held_out": len(te),
        "skipped": data.skipped,
        "params": asdict(params),
        "held_out_metrics": result,
    }
    path.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    if args.link:
        from quality_models.train import link

        link(path, args.link)
    print(json.dumps({"model": str(path), **result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
