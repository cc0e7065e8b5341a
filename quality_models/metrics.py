"""Classifier metrics: ROC-AUC (Mann-Whitney U from scipy's ranks), precision/recall at a threshold, Spearman."""

from __future__ import annotations

from collections.abc import Sequence


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """P(score of a random positive > score of a random negative), ties counting one half.

    AUC = (R+ - n+(n+ + 1)/2) / (n+ n-), R+ the sum of the positives' ranks (average ranks for ties).
    """
    from scipy.stats import rankdata

    pos = sum(1 for y in labels if y)
    neg = len(labels) - pos
    if not pos or not neg:
        raise ValueError("ROC-AUC needs both positive and negative examples")
    ranks = rankdata(scores)
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return float((rank_sum - pos * (pos + 1) / 2) / (pos * neg))


def precision_recall(labels: Sequence[int], predicted: Sequence[int]) -> tuple[float, float]:
    """(precision, recall) of the positive class for 0/1 predictions (0.0 where undefined)."""
    tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y and p)
    fp = sum(1 for y, p in zip(labels, predicted, strict=True) if not y and p)
    fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y and not p)
    return (tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def summary(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, float]:
    """n, positives, ROC-AUC, and precision/recall/accuracy at ``threshold``."""
    predicted = [int(s >= threshold) for s in scores]
    p, r = precision_recall(labels, predicted)
    acc = sum(1 for y, q in zip(labels, predicted, strict=True) if int(bool(y)) == q) / len(labels)
    return {
        "n": len(labels),
        "positives": int(sum(1 for y in labels if y)),
        "roc_auc": roc_auc(labels, scores),
        "precision": p,
        "recall": r,
        "accuracy": acc,
        "threshold": threshold,
    }
