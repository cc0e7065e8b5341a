"""Drift alerts: a run's filtering profile against the trailing runs, and two runs side by side.

A nightly job that suddenly behaves differently is usually broken input or a broken stage, not a
different internet: a crawl that came back as mostly English, a language-ID model that now
removes three times as much, a source that vanished. ``profile`` turns one run's ``stage_stats``
rows into shares (nothing recomputed from documents or logs):

* ``stage_removed/<stage>``: documents the stage removed, of the documents entering it;
* ``language/<lang>``: share of the run's kept documents by language;
* ``source/<kind>``: share of the run's kept documents by source kind;
* ``reason/<stage>/<reason>``: documents dropped or failed for the reason, of the documents read.

``alerts`` compares each share with the median of the same share over the trailing runs (absent =
0) and flags it when both hold (``DriftRules``): it moved by at least ``min_delta`` (absolute, so
a reason going from 0.1 % to 0.4 % of the input is not news) and by at least ``factor`` relative to
the median (the issue's "three times as much"; 2x is the default, so also "half as much"). With
fewer than ``min_runs`` trailing runs there is no baseline and nothing is flagged.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from schemas import KEPT


@dataclass(frozen=True)
class DriftRules:
    trailing: int = 7  # runs in the baseline: a week of nightly runs
    min_runs: int = 3  # fewer trailing runs than this: no baseline, no alerts
    min_delta: float = 0.05  # 5 percentage points: smaller moves are night-to-night noise on 10k documents
    factor: float = 2.0  # relative move (up or down) that counts as drift


@dataclass(frozen=True)
class Alert:
    metric: str  # e.g. "language/en", "stage_removed/langid"
    value: float  # this run's share
    baseline: float  # median over the trailing runs
    runs: int  # trailing runs in the baseline

    @property
    def message(self) -> str:
        move = "x" + (f"{self.value / self.baseline:.1f}" if self.baseline > 0 else "∞")
        return f"{self.metric}: {self.value:.1%} vs {self.baseline:.1%} median of {self.runs} runs ({move})"


def _shares(counts: dict[str, int], total: int, prefix: str) -> dict[str, float]:
    return {f"{prefix}/{k}": n / total for k, n in counts.items()} if total > 0 else {}


def profile(stats_rows: Iterable[dict]) -> dict[str, float]:
    """One run's shares by metric name (module docstring), from its stage_stats rows."""
    rows = list(stats_rows)
    if not rows:
        return {}
    stage_in: dict[str, int] = defaultdict(int)
    stage_out: dict[str, int] = defaultdict(int)
    reasons: dict[str, int] = defaultdict(int)
    last = max(int(r["stage_index"]) for r in rows)
    langs: dict[str, int] = defaultdict(int)
    kinds: dict[str, int] = defaultdict(int)
    read = 0
    for r in rows:
        n = int(r["docs_in"])
        stage_in[r["stage"]] += n
        if r["outcome"] == KEPT:
            stage_out[r["stage"]] += n
            if int(r["stage_index"]) == last:
                langs[r["language"] or "?"] += n
                kinds[r["source_kind"] or "?"] += n
        else:
            reasons[f"{r['stage']}/{r['reason']}"] += n
        if int(r["stage_index"]) == 0:
            read += n
    out: dict[str, float] = {}
    for stage, n in stage_in.items():
        if n:
            out[f"stage_removed/{stage}"] = 1 - stage_out[stage] / n
    kept = sum(langs.values())
    out |= _shares(langs, kept, "language") | _shares(kinds, kept, "source") | _shares(reasons, read, "reason")
    return out


def alerts(
    current: dict[str, float], trailing: list[dict[str, float]], rules: DriftRules = DriftRules()
) -> list[Alert]:
    """Metrics of ``current`` that moved beyond ``rules`` against the trailing runs (oldest first)."""
    base_runs = trailing[-rules.trailing :]
    if len(base_runs) < rules.min_runs:
        return []
    out = []
    for metric in sorted(set(current) | {m for p in base_runs for m in p}):
        value = current.get(metric, 0.0)
        baseline = statistics.median(p.get(metric, 0.0) for p in base_runs)
        delta = abs(value - baseline)
        low, high = min(value, baseline), max(value, baseline)
        relative = high >= rules.factor * low  # also true when the baseline (or the value) is 0
        if delta >= rules.min_delta and relative:
            out.append(Alert(metric, value, baseline, len(base_runs)))
    return out


def alerts_json(found: list[Alert]) -> str:
    """The snapshot summary property ``dataflow.drift``: a JSON list of alerts (``[]`` = none)."""
    return json.dumps([asdict(a) | {"message": a.message} for a in found], ensure_ascii=False)


def alerts_of(run_meta: dict) -> list[dict]:
    """The alerts a committed run recorded (its ``dataflow.drift`` summary property, in ``Report.run``)."""
    raw = run_meta.get("drift") or "[]"
    try:
        found = json.loads(raw) if isinstance(raw, str) else list(raw)
    except ValueError:
        return []
    return [a for a in found if isinstance(a, dict)]


def compare(a: dict[str, float], b: dict[str, float]) -> list[tuple[str, float | None, float | None]]:
    """(metric, share in run A, share in run B) for every metric of either, largest move first."""
    metrics = set(a) | set(b)
    rows = [(m, a.get(m), b.get(m)) for m in metrics]
    return sorted(rows, key=lambda r: (-abs((r[1] or 0.0) - (r[2] or 0.0)), r[0]))


def render_compare(run_a: str, run_b: str, rows: list[tuple[str, float | None, float | None]]) -> str:
    """Two runs side by side as a terminal table (``dataflow report --compare A B``)."""

    def cell(x: float | None) -> str:
        return "—" if x is None else f"{x:.2%}"

    width = max([len("metric")] + [len(m) for m, _, _ in rows])
    lines = [f"COMPARE  A = {run_a}  B = {run_b}", f"{'metric':<{width}}  {'A':>8}  {'B':>8}  {'B - A':>8}"]
    for m, x, y in rows:
        diff = "—" if x is None and y is None else f"{((y or 0.0) - (x or 0.0)) * 100:+.2f}pt"
        lines.append(f"{m:<{width}}  {cell(x):>8}  {cell(y):>8}  {diff:>8}")
    return "\n".join(lines)


def published_runs_in_order(documents) -> list[str]:
    """Run ids of the documents table's snapshots, oldest first, each once (an Iceberg ``Table``)."""
    seen: dict[str, None] = {}
    for snap in sorted(documents.metadata.snapshots, key=lambda s: s.sequence_number):
        run = snap.summary.get("dataflow.run_id") if snap.summary is not None else None
        if run:
            seen.setdefault(run)
    return list(seen)


def run_profiles(stage_stats, runs: list[str]) -> dict[str, dict[str, float]]:
    """``profile`` of each run in ``runs`` from the ``stage_stats`` table (one scan)."""
    from pyiceberg.expressions import In

    if not runs or stage_stats.current_snapshot() is None:
        return {}
    rows = stage_stats.scan(row_filter=In("run_id", set(runs))).to_arrow().to_pylist()
    by_run: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_run[r["run_id"]].append(r)
    return {run: profile(by_run[run]) for run in runs if run in by_run}


def trailing_profiles(documents, stage_stats, before: str | None, rules: DriftRules = DriftRules()) -> list[dict]:
    """Profiles of the ``rules.trailing`` published runs before run ``before`` (or the latest), oldest first."""
    runs = published_runs_in_order(documents)
    if before in runs:
        runs = runs[: runs.index(before)]
    runs = runs[-rules.trailing :]
    profiles = run_profiles(stage_stats, runs)
    return [profiles[r] for r in runs if r in profiles]


def nightly_lines(run_meta: dict) -> list[str]:
    """Report lines for the nightly facts of a run: unchanged inputs skipped, drift alerts."""
    out = []
    unchanged = int(run_meta.get("inputs_unchanged") or 0)
    if unchanged:
        out.append(f"INPUTS      {unchanged:,} file(s) unchanged since a published run: skipped (--full reads them)")
    found = alerts_of(run_meta)
    if found:
        out.append(f"DRIFT       {len(found)} alert(s) against the trailing runs:")
        out += [f"  - {a.get('message', a.get('metric', '?'))}" for a in found]
    elif "drift" in run_meta:
        runs = int(run_meta.get("drift_baseline_runs") or 0)
        rules = DriftRules()
        if runs < rules.min_runs:
            out.append(f"DRIFT       no baseline yet ({runs} of {rules.min_runs} trailing runs needed)")
        else:
            out.append(f"DRIFT       none against the {runs} trailing runs")
    return out
