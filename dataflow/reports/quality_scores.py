"""Quality-model score distribution of kept and dropped documents, per language (a report section).

Read from the run's tables, not from logs: ``documents.quality_score`` for kept documents and
``rejects.quality_score`` for dropped ones (the model's own ``low_quality_score`` drops and anything
a later stage removed). Documents no model scored are left out; a run without the quality model
has no rows and the section is not shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BINS = 10  # score histogram bins of width 0.1 over [0, 1]


@dataclass(frozen=True)
class ScoreRow:
    language: str
    outcome: str  # kept or dropped
    docs: int
    mean: float
    p10: float
    p50: float
    p90: float
    histogram: list[int]  # documents per 0.1-wide score bin, [0, 0.1) ... [0.9, 1.0]


def quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values, nearest rank below (also the model card's score quantiles)."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def score_rows(scored: Iterable[tuple[str, str, float]]) -> list[ScoreRow]:
    """(language, outcome, score) triples -> one row per (language, outcome), languages sorted, kept first."""
    groups: dict[tuple[str, str], list[float]] = {}
    for lang, outcome, score in scored:
        if score is not None:
            groups.setdefault((lang or "", outcome), []).append(float(score))
    rows = []
    for (lang, outcome), values in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != "kept", kv[0][1])):
        values.sort()
        hist = [0] * BINS
        for v in values:
            hist[min(BINS - 1, max(0, int(v * BINS)))] += 1
        rows.append(
            ScoreRow(
                lang,
                outcome,
                len(values),
                sum(values) / len(values),
                *(quantile(values, q) for q in (0.1, 0.5, 0.9)),
                hist,
            )
        )
    return rows


HEADERS = ["lang", "outcome", "docs", "mean", "p10", "p50", "p90", "histogram 0.0 .. 1.0 (docs per 0.1)"]


def cells(row: ScoreRow) -> list[str]:
    """One table row, shared by the text and Markdown renderers."""
    return [
        row.language or "—",
        row.outcome,
        f"{row.docs:,}",
        *(f"{v:.3f}" for v in (row.mean, row.p10, row.p50, row.p90)),
        " ".join(str(n) for n in row.histogram),
    ]
