"""Human validation: a stratified review sample out, the decisions back in, judge-human agreement.

The sample is drawn from the judged examples of one run, stratified by the judge's decision
(keep = went into SFT, drop = scored below the threshold) and language, in equal shares per
stratum (a stratum smaller than its share gives all it has), reproducibly (``review.seed``).
Reviewers fill ``human_label`` with keep or drop (and optionally ``note``, ``reviewer``) in the
CSV or JSONL. Agreement is Cohen's kappa over the rows with a decision, with the 2 x 2 confusion
matrix; MT-Bench-style judge-human agreement (over 80 %) and published judge-human kappas (mostly
0.1-0.6) are the yardsticks. The decisions are committed to ``instruct.reviews`` with the kappa in
the snapshot summary.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from pathlib import Path

from pyiceberg.catalog.sql import SqlCatalog

from dataflow.instruct.tables import open_instruct_table
from dataflow.snapshots.commit import _commit_one
from dataflow.snapshots.files import PartWriter, run_data_dir
from schemas.corpus import KEPT
from schemas.instruct import TABLES

KEEP, DROP = "keep", "drop"
LABELS = (KEEP, DROP)
COLUMNS = (
    "id",
    "run_id",
    "source",
    "language",
    "judge_overall",
    "judge_label",
    "prompt",
    "completion",
    "human_label",
    "reviewer",
    "note",
)


def cohen_kappa(pairs: list[tuple[str, str]], labels: tuple[str, ...] = LABELS) -> tuple[float | None, dict]:
    """(kappa, confusion) for (judge, human) label pairs: kappa = (p_o - p_e) / (1 - p_e) with p_o the
    observed agreement and p_e the agreement expected from the two marginals (Cohen, 1960); None when
    p_e = 1 (both raters used one label only). confusion[judge][human] = count."""
    confusion = {a: dict.fromkeys(labels, 0) for a in labels}
    for judge, human in pairs:
        confusion[judge][human] += 1
    n = len(pairs)
    if not n:
        return None, confusion
    p_o = sum(confusion[a][a] for a in labels) / n
    p_e = sum((sum(confusion[a].values()) / n) * (sum(confusion[b][a] for b in labels) / n) for a in labels)
    return (None if p_e == 1 else (p_o - p_e) / (1 - p_e)), confusion


def _run_rows(catalog: SqlCatalog, ns: str, table: str, run_id: str, columns: list[str]) -> list[dict]:
    t = open_instruct_table(catalog, ns, table)
    return t.scan(row_filter=f"run_id == '{run_id}'", selected_fields=tuple(columns)).to_arrow().to_pylist()


def sample(verdicts: list[dict], size: int, seed: int) -> list[dict]:
    """Stratified by (judge label, language), equal shares, leftovers to the strata that have more."""
    strata: dict[tuple, list[dict]] = defaultdict(list)
    for v in sorted(verdicts, key=lambda r: r["id"]):
        strata[(v["judge_label"], v["language"])].append(v)
    rng = random.Random(seed)
    for rows in strata.values():
        rng.shuffle(rows)
    picked: list[dict] = []
    keys = sorted(strata)
    while len(picked) < size and any(strata[k] for k in keys):
        for k in keys:
            if strata[k] and len(picked) < size:
                picked.append(strata[k].pop())
    return picked


def export_review(catalog: SqlCatalog, ns: str, run_id: str, out: str | Path, size: int, seed: int) -> int:
    """Write the review sample of ``run_id`` to ``out`` (.csv or .jsonl); returns the rows written."""
    verdicts = [
        r | {"judge_label": KEEP if r["outcome"] == KEPT else DROP}
        for r in _run_rows(catalog, ns, "verdicts", run_id, ["id", "source", "language", "outcome", "overall"])
        if r["overall"] is not None
    ]
    if not verdicts:
        raise LookupError(f"run {run_id!r} has no judged examples to review")
    picked = sample(verdicts, size, seed)
    ids = {r["id"] for r in picked}
    texts = {
        r["id"]: r for r in _run_rows(catalog, ns, "examples", run_id, ["id", "prompt", "completion"]) if r["id"] in ids
    }
    rows = [
        dict(
            id=r["id"],
            run_id=run_id,
            source=r["source"],
            language=r["language"],
            judge_overall=r["overall"],
            judge_label=r["judge_label"],
            prompt=texts[r["id"]]["prompt"],
            completion=texts[r["id"]]["completion"],
            human_label="",
            reviewer="",
            note="",
        )
        for r in picked
    ]
    out = Path(out)
    if out.suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(rows)
    elif out.suffix == ".jsonl":
        with out.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        raise ValueError(f"review file {out} must end in .csv or .jsonl")
    return len(rows)


def read_decisions(path: str | Path) -> list[dict]:
    path = Path(path)
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    raise ValueError(f"review file {path} must end in .csv or .jsonl")


def import_review(catalog: SqlCatalog, ns: str, path: str | Path, reviewer: str = "") -> dict:
    """Commit the decisions in ``path`` to instruct.reviews; returns kappa, confusion and counts."""
    rows = read_decisions(path)
    decided, undecided = [], 0
    for i, r in enumerate(rows, start=1):
        label = (r.get("human_label") or "").strip().lower()
        if not label:
            undecided += 1
            continue
        if label not in LABELS or r.get("judge_label") not in LABELS:
            raise ValueError(f"{path}: row {i}: human_label and judge_label must be keep or drop, got {label!r}")
        decided.append(r | {"human_label": label})
    if not decided:
        raise ValueError(f"{path}: no row has a human_label (keep or drop)")
    runs = {r["run_id"] for r in decided}
    if len(runs) != 1:
        raise ValueError(f"{path}: rows come from several runs {sorted(runs)}; import one run's sample at a time")
    (run_id,) = runs
    kappa, confusion = cohen_kappa([(r["judge_label"], r["human_label"]) for r in decided])
    agree = sum(confusion[a][a] for a in LABELS) / len(decided)
    table = open_instruct_table(catalog, ns, "reviews")
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    commit_id = f"{run_id}/review-{digest}"  # one commit per distinct decisions file
    w = PartWriter(TABLES["reviews"], run_data_dir(table.location(), commit_id.replace("/", "_")))
    for r in decided:
        w.append(
            dict(
                id=r["id"],
                run_id=run_id,
                reviewer=r.get("reviewer") or reviewer,
                judge_label=r["judge_label"],
                human_label=r["human_label"],
                note=r.get("note") or None,
            )
        )
    summary = {
        "dataflow.run_id": commit_id,
        "dataflow.reviewed_run": run_id,
        "dataflow.review.n": str(len(decided)),
        "dataflow.review.agreement": f"{agree:.4f}",
        "dataflow.review.kappa": "" if kappa is None else f"{kappa:.4f}",
        "dataflow.review.confusion": json.dumps(confusion, sort_keys=True),
    }
    snapshot_id = _commit_one(table, w.close(), summary, overwrite=False)
    return dict(
        run_id=run_id,
        n=len(decided),
        undecided=undecided,
        agreement=agree,
        kappa=kappa,
        confusion=confusion,
        snapshot_id=snapshot_id,
    )


def latest_agreement(catalog: SqlCatalog, ns: str, run_id: str) -> dict | None:
    """The newest review import of ``run_id``, from the reviews snapshot summaries."""
    table = open_instruct_table(catalog, ns, "reviews")
    found = None
    for snap in table.metadata.snapshots:
        props = snap.summary.additional_properties if snap.summary else {}
        if props.get("dataflow.reviewed_run") == run_id:
            found = props
    if found is None:
        return None
    kappa = found.get("dataflow.review.kappa")
    return dict(
        n=int(found["dataflow.review.n"]),
        agreement=float(found["dataflow.review.agreement"]),
        kappa=float(kappa) if kappa else None,
        confusion=json.loads(found["dataflow.review.confusion"]),
    )
