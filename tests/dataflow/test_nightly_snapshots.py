"""Issue 13 on the catalog alone: two processes committing at once (Iceberg optimistic concurrency and
the bounded retry), retention that never expires a release, orphan removal, release tags, drift maths."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from dataflow.config import DedupConfig, SnapshotConfig
from dataflow.reports.drift import DriftRules, alerts, profile
from dataflow.snapshots import commit_tables, read_snapshot, tag
from dataflow.snapshots.catalog import open_catalog, open_table
from dataflow.snapshots.retention import expire, release, remove_orphans
from schemas import TABLES
from tests.dataflow.test_snapshots import doc

ROOT = Path(__file__).resolve().parents[2]


def index_row(i: int, run: str) -> dict:
    # 2 band keys, recorded as made by 2 bands x the default rows (the config the late-overlap test loads)
    layout = f"char/5/2x{DedupConfig().rows}/seed1"
    return dict(id=f"{i:016x}", exact=i.to_bytes(16, "big"), bands=[i, i + 1], n_chars=4, run_id=run, layout=layout)


def commit(data: Path, run: str, ids: list[int]) -> None:
    commit_tables(
        {"documents": [doc(i, run) for i in ids], "dedup_index": [index_row(i, run) for i in ids]}, run, data_root=data
    )


def tables(data: Path) -> dict:
    catalog = open_catalog(SnapshotConfig(), data)
    return {name: open_table(catalog, "corpus", name) for name in TABLES}


def test_two_processes_committing_at_once_lose_and_duplicate_nothing(tmp_path):
    commit(tmp_path, "seed", [0])  # tables exist: the race is on the commits, not on creating them
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        sys.path.insert(0, {tests!r})
        from test_nightly_snapshots import commit
        worker = int(sys.argv[1])
        for k in range(6):
            ids = [1000 * (worker + 1) + 10 * k + j for j in range(3)]
            commit(Path({data!r}), f"w{{worker}}-{{k}}", ids)
    """).format(tests=str(Path(__file__).parent), data=str(tmp_path))
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(w)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for w in (0, 1)
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    docs = read_snapshot(data_root=tmp_path).to_arrow(columns=["id", "run_id"]).to_pylist()
    assert len(docs) == 1 + 2 * 6 * 3 and len({d["id"] for d in docs}) == len(docs)
    index = read_snapshot(table="dedup_index", data_root=tmp_path).to_arrow(columns=["id"]).column("id").to_pylist()
    assert sorted(index) == sorted(d["id"] for d in docs)
    runs = {s.summary.get("dataflow.run_id") for s in tables(tmp_path)["documents"].metadata.snapshots}
    assert runs == {"seed"} | {f"w{w}-{k}" for w in (0, 1) for k in range(6)}


def test_expire_never_removes_a_tagged_snapshot_and_orphans_go(tmp_path):
    commit(tmp_path, "r1", [1])
    tag("run:r1", "release-2026-11-30", data_root=tmp_path)
    commit(tmp_path, "r2", [2])
    commit(tmp_path, "r3", [3])
    t = tables(tmp_path)
    done = {e.table: e for e in expire(t, datetime.now(UTC) + timedelta(seconds=1))}
    t = tables(tmp_path)
    left = {s.summary.get("dataflow.run_id") for s in t["documents"].metadata.snapshots}
    assert left == {"r1", "r3"} and len(done["documents"].expired) == 1  # r2 expired; r1 tagged, r3 current
    # the release keeps its other tables too, so its report still reads by run id
    stats_runs = {s.summary.get("dataflow.run_id") for s in t["stage_stats"].metadata.snapshots}
    assert stats_runs == {"r1", "r3"}
    assert [r["id"] for r in read_snapshot("release-2026-11-30", data_root=tmp_path).to_arrow().to_pylist()] == [
        f"{1:016x}"
    ]
    assert read_snapshot(data_root=tmp_path).to_arrow().num_rows == 3

    # an unreferenced file older than the grace period goes; a fresh one (a run in flight) stays
    docs_dir = Path(t["documents"].location().removeprefix("file://")) / "data"
    stray, fresh = docs_dir / "stray.parquet", docs_dir / "in-flight.parquet"
    stray.write_bytes(b"x")
    fresh.write_bytes(b"x")
    old = (datetime.now(UTC) - timedelta(days=10)).timestamp()
    import os

    os.utime(stray, (old, old))
    removed = remove_orphans(t["documents"])
    assert str(stray) in removed and str(fresh) not in removed and not stray.exists() and fresh.exists()
    removed_now = remove_orphans(t["documents"], datetime.now(UTC) + timedelta(seconds=5))
    assert str(fresh) in removed_now
    # every committed file is still there: all three versions read back
    assert read_snapshot(data_root=tmp_path).to_arrow().num_rows == 3
    assert read_snapshot("release-2026-11-30", data_root=tmp_path).to_arrow().num_rows == 1


def test_release_tags_are_dated_and_never_moved(tmp_path):
    commit(tmp_path, "r1", [1])
    docs = tables(tmp_path)["documents"]
    name, snap = release(docs, date(2026, 12, 1))
    assert name == "release-2026-12-01" and read_snapshot(name, data_root=tmp_path).snapshot_id == snap
    commit(tmp_path, "r2", [2])
    with pytest.raises(ValueError, match="already names"):
        release(tables(tmp_path)["documents"], date(2026, 12, 1))


def stats(run: str, kept: dict[str, int], dropped_langid: int) -> list[dict]:
    """stage_stats rows of a two-stage run: read everything, langid drops some and keeps ``kept`` by language."""
    total = sum(kept.values()) + dropped_langid
    base = dict(run_id=run, source_kind="web", bytes_in=0, bytes_out=0, chars_in=0, chars_out=0)
    rows = [base | dict(stage_index=0, stage="read", language="", outcome="kept", reason="", docs_in=total)]
    rows.append(
        base
        | dict(stage_index=1, stage="langid", language="", outcome="dropped", reason="lang", docs_in=dropped_langid)
    )
    rows += [
        base | dict(stage_index=1, stage="langid", language=lang, outcome="kept", reason="", docs_in=n)
        for lang, n in kept.items()
    ]
    return [r | {"docs_out": r["docs_in"] if r["outcome"] == "kept" else 0} for r in rows]


def test_drift_flags_a_tripled_stage_and_a_language_shift_but_not_noise():
    trailing = [profile(stats(f"r{i}", {"ko": 90 + i, "en": 10}, 5 + i)) for i in range(4)]
    steady = profile(stats("now", {"ko": 92, "en": 11}, 6))
    assert alerts(steady, trailing) == []
    tripled = profile(stats("now", {"ko": 90, "en": 10}, 30))  # langid removes ~23 % instead of ~6 %
    assert {a.metric for a in alerts(tripled, trailing)} == {"stage_removed/langid", "reason/langid/lang"}
    shifted = profile(stats("now", {"ko": 40, "en": 60}, 6))
    found = {a.metric: a for a in alerts(shifted, trailing)}
    assert set(found) == {"language/ko", "language/en"} and found["language/en"].baseline == pytest.approx(
        10 / 101.5, 0.01
    )
    assert alerts(shifted, trailing[:2]) == []  # too few runs for a baseline
    assert alerts(shifted, trailing, DriftRules(factor=10.0)) == []


def test_cli_expire_release_and_json_logs(tmp_path, capsys):
    import json
    import logging

    from dataflow.cli import main
    from dataflow.nightly import CURRENT_RUN, JsonLines

    commit(tmp_path, "r1", [1])
    commit(tmp_path, "r2", [2])
    assert main(["snapshots", "release", "run:r1", "--date", "2026-11-30", "--data-root", str(tmp_path)]) == 0
    assert "release-2026-11-30" in capsys.readouterr().out
    assert main(["snapshots", "expire", "--older-than-days", "0", "--dry-run", "--data-root", str(tmp_path)]) == 0
    assert "documents: would expire 0 snapshot(s)" in capsys.readouterr().out  # r1 tagged, r2 current
    assert main(["snapshots", "remove-orphans", "--dry-run", "--data-root", str(tmp_path)]) == 0
    assert "documents: would remove 0 orphan file(s)" in capsys.readouterr().out

    token = CURRENT_RUN.set("run-abc")
    try:
        record = logging.LogRecord("dataflow.run", logging.WARNING, __file__, 1, "drift: %s", ("language/en",), None)
        line = json.loads(JsonLines().format(record))
    finally:
        CURRENT_RUN.reset(token)
    assert line["run_id"] == "run-abc" and line["message"] == "drift: language/en" and line["level"] == "warning"


def test_reports_show_drift_and_skipped_inputs():
    from dataflow.reports import render_html, render_markdown, render_text
    from dataflow.reports.drift import Alert, alerts_json
    from dataflow.reports.model import build_report

    drift = alerts_json([Alert("language/en", 0.7, 0.1, 4)])
    report = build_report(
        stats("r", {"ko": 3, "en": 7}, 1), [], {"run_id": "r", "drift": drift, "inputs_unchanged": "2"}
    )
    for render in (render_text, render_markdown, render_html):
        out = render(report)
        assert "language/en: 70.0% vs 10.0% median of 4 runs (x7.0)" in out and "2 file(s) unchanged" in out, render


def test_a_duplicate_published_meanwhile_forces_a_rerun_and_a_new_one_does_not(tmp_path):
    from dataflow.config import ConfigError, load_config, validate
    from dataflow.nightly import LateOverlap, check_no_late_overlap, plan_nightly
    from dataflow.snapshots.files import write_parts

    # index_row has 2 band keys and no signature: grouping by keys only
    cfg = load_config(None, {"data_root": str(tmp_path), "dedup.bands": 2, "dedup.verify": 0})
    commit(tmp_path, "r1", [1])
    plan = plan_nightly(cfg, tables(tmp_path), [], {})  # this run's base: r1
    assert plan.runs == {"r1"} and len(plan.index) == 1
    commit(tmp_path, "r2", [5])  # another run publishes while this one runs

    def ours(i: int) -> list[str]:
        return write_parts("dedup_index", (tmp_path / f"ours{i}").as_uri(), [[index_row(i, "mine") | {"id": f"m{i}"}]])

    with pytest.raises(LateOverlap, match="r2"):
        check_no_late_overlap(cfg, tables(tmp_path), plan, ours(5))  # same keys as r2's document
    check_no_late_overlap(cfg, tables(tmp_path), plan, ours(9))  # nothing in common: commit goes ahead

    with pytest.raises(ConfigError, match="dedup.scope"):
        validate(load_config(None, {"dedup.scope": "everything"}))


def test_compaction_keeps_every_row_and_every_version(tmp_path, capsys):
    from dataflow.cli import main
    from dataflow.snapshots.incremental import committed_runs

    for k in range(17):
        commit(tmp_path, f"r{k}", [k])
    before = {
        k: sorted(r["id"] for r in read_snapshot(f"run:r{k}", data_root=tmp_path).to_arrow().to_pylist())
        for k in (3, 16)
    }
    assert len(read_snapshot(data_root=tmp_path).files()) == 17
    assert main(["snapshots", "compact", "--data-root", str(tmp_path)]) == 0
    assert "documents: 17 data file(s) -> 1" in capsys.readouterr().out
    current = read_snapshot(data_root=tmp_path)
    assert len(current.files()) == 1 and current.run_id == "r16"
    assert sorted(r["id"] for r in current.to_arrow().to_pylist()) == [f"{k:016x}" for k in range(17)]
    assert {
        k: sorted(r["id"] for r in read_snapshot(f"run:r{k}", data_root=tmp_path).to_arrow().to_pylist())
        for k in (3, 16)
    } == before
    assert committed_runs(tables(tmp_path)["documents"]) == {f"r{k}" for k in range(17)}  # still all published
    commit(tmp_path, "r17", [17])  # runs commit on top as before
    assert read_snapshot(data_root=tmp_path).to_arrow().num_rows == 18
