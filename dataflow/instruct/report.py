"""The report of an instruct run, built from its committed tables (never from logs).

Like the corpus report: how many examples each stage and reason removed, by language and by
source; the judge's score bands; the datasets produced with KTO's balance beside its recommended
range; the cache; and judge-human agreement when a review was imported. ``render_text`` and
``render_markdown`` print it; the JSON form is the dict itself.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from pyiceberg.catalog.sql import SqlCatalog

from dataflow.instruct.review import latest_agreement
from dataflow.instruct.select import KTO_RANGE
from dataflow.instruct.tables import open_instruct_table
from dataflow.snapshots.commit import RUN_ID, run_snapshot
from schemas.corpus import OUTCOMES

BANDS = ((1.0, 2.0), (2.0, 3.0), (3.0, 4.0), (4.0, 4.5), (4.5, 5.01))  # the last band is AlpaGasus's keep band


def band_name(overall: float) -> str:
    for lo, hi in BANDS:
        if lo <= overall < hi:
            return f"{lo:g}-{min(hi, 5):g}"
    return "?"


def build_report(catalog: SqlCatalog, ns: str, run_id: str | None = None) -> dict:
    sft = open_instruct_table(catalog, ns, "sft")
    if run_id is None:
        current = sft.current_snapshot()
        if current is None or current.summary is None:
            raise LookupError(f"{ns}.sft has no snapshot yet: run `dataflow instruct run` first")
        run_id = current.summary.additional_properties[RUN_ID]
    snap_id = run_snapshot(sft, run_id)
    if snap_id is None:
        raise LookupError(f"run {run_id!r} has not committed {ns}.sft")
    summary = dict(sft.snapshot_by_id(snap_id).summary.additional_properties)
    verdicts = open_instruct_table(catalog, ns, "verdicts")
    cols = ("stage", "outcome", "reason", "language", "source", "overall", "sft", "kto_label", "cached")
    rows = verdicts.scan(row_filter=f"run_id == '{run_id}'", selected_fields=cols).to_arrow().to_pylist()

    reasons = Counter((r["stage"], r["outcome"], r["reason"]) for r in rows if r["reason"])
    by_language: dict[str, Counter] = defaultdict(Counter)
    by_source: dict[str, Counter] = defaultdict(Counter)
    by_language_reason: dict[str, Counter] = defaultdict(Counter)
    bands: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        by_language[r["language"] or "?"][r["outcome"]] += 1
        by_source[r["source"]][r["outcome"]] += 1
        if r["reason"]:
            by_language_reason[r["language"] or "?"][r["reason"]] += 1
        if r["overall"] is not None:
            bands[band_name(r["overall"])]["sft" if r["sft"] else "below"] += 1
    n_d = sum(1 for r in rows if r["kto_label"] is True)
    n_u = sum(1 for r in rows if r["kto_label"] is False)
    lam_d_u = float(summary.get("dataflow.kto_lambda_d", "nan")), float(summary.get("dataflow.kto_lambda_u", "nan"))
    ratio = summary.get("dataflow.kto_weighted_ratio") or None
    examples_in = int(summary["dataflow.examples_in"])
    judged = sum(1 for r in rows if r["stage"] in ("judge", "select") and r["outcome"] != "failed")
    cached = sum(1 for r in rows if r["cached"])
    return dict(
        run_id=run_id,
        sft_snapshot_id=snap_id,
        judge_model=summary.get("dataflow.judge_model", ""),
        rubric=summary.get("dataflow.rubric", ""),
        examples_in=examples_in,
        outcomes={o: sum(1 for r in rows if r["outcome"] == o) for o in OUTCOMES},
        accounting_ok=len(rows) == examples_in,
        reasons=[dict(stage=s, outcome=o, reason=x, examples=n) for (s, o, x), n in sorted(reasons.items())],
        by_language={k: dict(v) for k, v in sorted(by_language.items())},
        by_language_reason={k: dict(v) for k, v in sorted(by_language_reason.items())},
        by_source={k: dict(v) for k, v in sorted(by_source.items())},
        score_bands={k: dict(v) for k, v in sorted(bands.items())},
        sft_rows=int(summary.get("dataflow.sft_rows", 0)),
        kto=dict(
            n_desirable=n_d,
            n_undesirable=n_u,
            lambda_d=lam_d_u[0],
            lambda_u=lam_d_u[1],
            weighted_ratio=float(ratio) if ratio else None,
            recommended=list(KTO_RANGE),
        ),
        cache=dict(
            judged=judged,
            cached=cached,
            hit_rate=cached / judged if judged else None,
            judge_requests=int(summary.get("dataflow.judge_requests", 0)),
        ),
        agreement=latest_agreement(catalog, ns, run_id),
    )


def _counts(c: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.items())


def _dataset_lines(rep: dict) -> list[str]:
    """SFT and KTO sizes, KTO balance, cache, agreement: shared by the text and Markdown forms."""
    lines: list[str] = []
    k = rep["kto"]
    ratio = "n/a" if k["weighted_ratio"] is None else f"{k['weighted_ratio']:.3f}"
    lo, hi = k["recommended"]
    lines += [
        f"sft rows {rep['sft_rows']}",
        f"kto desirable {k['n_desirable']}, undesirable {k['n_undesirable']}: lambda_D*n_D/(lambda_U*n_U) = {ratio} "
        f"(lambda_D {k['lambda_d']:g}, lambda_U {k['lambda_u']:g}; KTO recommends [{lo:g}, {hi:.3f}])",
    ]
    c = rep["cache"]
    rate = "n/a" if c["hit_rate"] is None else f"{100 * c['hit_rate']:.1f} %"
    lines.append(
        f"cache: {c['cached']} of {c['judged']} judged examples from cache ({rate}); {c['judge_requests']} requests"
    )
    a = rep["agreement"]
    if a:
        kappa = "n/a" if a["kappa"] is None else f"{a['kappa']:.3f}"
        cm = a["confusion"]
        lines += [
            f"judge-human agreement on {a['n']} reviewed: {100 * a['agreement']:.1f} %, Cohen's kappa {kappa}",
            "  confusion (rows judge, columns human):  keep  drop",
            f"    keep {cm['keep']['keep']:>30} {cm['keep']['drop']:>5}",
            f"    drop {cm['drop']['keep']:>30} {cm['drop']['drop']:>5}",
        ]
    return lines


def render_text(rep: dict) -> str:
    o = rep["outcomes"]
    lines = [
        f"instruct run {rep['run_id']}  (sft snapshot {rep['sft_snapshot_id']}; judge {rep['judge_model']}, "
        f"rubric {rep['rubric']})",
        f"examples in {rep['examples_in']}: kept {o['kept']}, dropped {o['dropped']}, failed {o['failed']}"
        + ("" if rep["accounting_ok"] else "  ACCOUNTING MISMATCH"),
        "",
        "removed by stage and reason:",
    ]
    for r in rep["reasons"]:
        lines.append(f"  {r['stage']:<7} {r['outcome']:<8} {r['reason']:<24} {r['examples']:>7}")
    lines += ["", "by language:"] + [f"  {k:<4} {_counts(v)}" for k, v in rep["by_language"].items()]
    lines += ["", "reasons by language:"] + [f"  {k:<4} {_counts(v)}" for k, v in rep["by_language_reason"].items()]
    lines += ["", "by source:"] + [f"  {k:<28} {_counts(v)}" for k, v in rep["by_source"].items()]
    lines += ["", "judge score bands (overall):"] + [f"  {k:<8} {_counts(v)}" for k, v in rep["score_bands"].items()]
    lines += [""] + _dataset_lines(rep)
    return "\n".join(lines) + "\n"


def render_markdown(rep: dict) -> str:
    o = rep["outcomes"]
    out = [
        f"# Instruct run `{rep['run_id']}`",
        "",
        f"Judge `{rep['judge_model']}`, rubric `{rep['rubric']}`, sft snapshot `{rep['sft_snapshot_id']}`.",
        "",
        f"Examples in **{rep['examples_in']}**: kept {o['kept']}, dropped {o['dropped']}, failed {o['failed']}.",
        "",
        "| stage | outcome | reason | examples |",
        "|---|---|---|---:|",
    ]
    out += [f"| {r['stage']} | {r['outcome']} | {r['reason']} | {r['examples']} |" for r in rep["reasons"]]
    out += ["", "| language | outcomes |", "|---|---|"]
    out += [f"| {k} | {_counts(v)} |" for k, v in rep["by_language"].items()]
    out += ["", "| source | outcomes |", "|---|---|"]
    out += [f"| {k} | {_counts(v)} |" for k, v in rep["by_source"].items()]
    out += ["", "| overall band | outcomes |", "|---|---|"]
    out += [f"| {k} | {_counts(v)} |" for k, v in rep["score_bands"].items()]
    out += ["", "```", *_dataset_lines(rep), "```", ""]
    return "\n".join(out)


def render_json(rep: dict) -> str:
    return json.dumps(rep, indent=2, ensure_ascii=False) + "\n"
