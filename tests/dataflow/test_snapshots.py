"""Snapshots: one commit per run id, tags and ids read exactly what was committed, crashes leave
the last snapshot intact."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dataflow.config import SnapshotConfig
from dataflow.snapshots import SnapshotNotFound, commit_tables, list_snapshots, read_snapshot, tag


def doc(i: int, run: str) -> dict:
    text = f"문서 번호 {i}"
    return dict(
        id=f"{i:016x}",
        text=text,
        source_kind="web",
        source_uri="file:///corpus/a.html",
        url=None,
        language="ko",
        language_score=0.99,
        quality_signals={"hangul_ratio": 0.9},
        quality_score=None,
        pii_counts={"email": 1},
        dedup_cluster=None,
        n_bytes=len(text.encode()),
        n_chars=len(text),
        metadata="{}",
        run_id=run,
    )


def stats_row(run: str) -> dict:
    return dict(
        run_id=run,
        stage_index=0,
        stage="read",
        source_kind="web",
        language="",
        outcome="kept",
        reason="",
        docs_in=1,
        docs_out=1,
        bytes_in=10,
        bytes_out=10,
        chars_in=0,
        chars_out=0,
    )


def ids(snapshot) -> list[str]:
    return sorted(snapshot.to_arrow(columns=["id"]).column("id").to_pylist())


def test_commit_is_idempotent_per_run_id(tmp_path):
    first = commit_tables({"documents": [doc(1, "r1"), doc(2, "r1")]}, "r1", data_root=tmp_path)
    again = commit_tables({"documents": [doc(1, "r1"), doc(2, "r1")]}, "r1", data_root=tmp_path)
    assert not first.already_committed and again.already_committed
    assert again.snapshot_ids == first.snapshot_ids
    assert ids(read_snapshot(data_root=tmp_path)) == [f"{1:016x}", f"{2:016x}"]
    assert len(list_snapshots(data_root=tmp_path)) == 1


def test_tag_and_id_read_exactly_the_committed_rows(tmp_path):
    r1 = commit_tables({"documents": [doc(1, "r1")], "stage_stats": [stats_row("r1")]}, "r1", data_root=tmp_path)
    tag("run:r1", "release-1", data_root=tmp_path)
    commit_tables({"documents": [doc(2, "r2"), doc(3, "r2")]}, "r2", data_root=tmp_path)

    old = read_snapshot("release-1", data_root=tmp_path)
    assert old.snapshot_id == r1.snapshot_ids["documents"] and old.tags == ["release-1"]
    assert ids(old) == [f"{1:016x}"]
    assert ids(read_snapshot(r1.snapshot_ids["documents"], data_root=tmp_path)) == [f"{1:016x}"]
    assert ids(read_snapshot(data_root=tmp_path)) == [f"{i:016x}" for i in (1, 2, 3)]
    row = read_snapshot("release-1", data_root=tmp_path).to_arrow().to_pylist()[0]
    assert row["text"] == "문서 번호 1" and dict(row["pii_counts"]) == {"email": 1}
    stats = read_snapshot("run:r1", table="stage_stats", data_root=tmp_path).to_arrow()
    assert stats.num_rows == 1 and stats.column("stage").to_pylist() == ["read"]


def test_tags_are_not_moved_silently(tmp_path):
    commit_tables({"documents": [doc(1, "r1")]}, "r1", data_root=tmp_path)
    tag(None, "v1", data_root=tmp_path)
    commit_tables({"documents": [doc(2, "r2")]}, "r2", data_root=tmp_path)
    with pytest.raises(ValueError, match="already names"):
        tag(None, "v1", data_root=tmp_path)
    moved = tag(None, "v1", data_root=tmp_path, force=True)
    assert read_snapshot("v1", data_root=tmp_path).snapshot_id == moved


def test_overwrite_mode_replaces_documents(tmp_path):
    cfg = SnapshotConfig(mode="overwrite")
    commit_tables({"documents": [doc(1, "r1")]}, "r1", data_root=tmp_path, config=cfg)
    commit_tables({"documents": [doc(2, "r2")]}, "r2", data_root=tmp_path, config=cfg)
    assert ids(read_snapshot(data_root=tmp_path)) == [f"{2:016x}"]
    assert ids(read_snapshot("run:r1", data_root=tmp_path)) == [f"{1:016x}"]


def test_unknown_refs_raise_clear_errors(tmp_path):
    commit_tables({"documents": [doc(1, "r1")]}, "r1", data_root=tmp_path)
    with pytest.raises(SnapshotNotFound, match="no tag or branch 'nope'"):
        read_snapshot("nope", data_root=tmp_path)
    with pytest.raises(SnapshotNotFound, match="no run"):
        read_snapshot("run:missing", data_root=tmp_path)


def test_killed_commit_leaves_last_snapshot_and_rerun_completes_once(tmp_path):
    commit_tables({"documents": [doc(1, "r1")]}, "r1", data_root=tmp_path)
    before = read_snapshot(data_root=tmp_path).snapshot_id
    # A real SIGKILL in the middle of run r2's commit: after inputs/stage_stats/rejects, before documents.
    script = textwrap.dedent(f"""
        import os, signal
        import dataflow.snapshots.commit as commit
        from tests.dataflow.test_snapshots import doc
        real = commit._commit_one
        def dying(table, files, props, overwrite):
            if table.name()[-1] == "documents":
                os.kill(os.getpid(), signal.SIGKILL)
            return real(table, files, props, overwrite)
        commit._commit_one = dying
        from dataflow.snapshots import commit_tables
        commit_tables({{"documents": [doc(2, "r2")], "rejects": []}}, "r2", data_root={str(tmp_path)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=str(_repo_root()), capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]

    assert read_snapshot(data_root=tmp_path).snapshot_id == before
    assert ids(read_snapshot(data_root=tmp_path)) == [f"{1:016x}"]
    with pytest.raises(SnapshotNotFound):
        read_snapshot("run:r2", data_root=tmp_path)

    rerun = commit_tables({"documents": [doc(2, "r2")], "rejects": []}, "r2", data_root=tmp_path)
    assert not rerun.already_committed
    assert ids(read_snapshot(data_root=tmp_path)) == [f"{1:016x}", f"{2:016x}"]
    runs = [s["run_id"] for s in list_snapshots("inputs", data_root=tmp_path)]
    assert runs == ["r1", "r2"]  # the table committed before the kill was not committed twice


def _repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]
