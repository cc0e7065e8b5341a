"""Issue 13, end to end on the local engine: nightly runs by content, dedup against what is published,
drift alerts with --strict, two processes committing at once.

Inputs are JSONL files of synthetic Korean (and, for the drift case, English) documents written by
the tests: random words, so distinct documents are never near duplicates. Quality filters are off
(they would judge random words); everything else is the default pipeline.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dataflow.config import load_config
from dataflow.run import run_pipeline
from dataflow.snapshots import read_snapshot
from schemas.corpus import INPUT_READ, INPUT_UNCHANGED

ROOT = Path(__file__).resolve().parents[2]
LID = ROOT / "models" / "lid.176.ftz"

pytestmark = [
    pytest.mark.slow,  # each run starts datatrove's executor and loads lid.176: a few seconds
    pytest.mark.skipif(not LID.is_file(), reason="models/lid.176.ftz missing: run `make setup`"),
]

SYLLABLES = "가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주기니디리미비시이지치"
ENGLISH = [
    "river",
    "garden",
    "window",
    "market",
    "teacher",
    "morning",
    "bridge",
    "letter",
    "station",
    "winter",
    "village",
    "doctor",
    "paper",
    "music",
    "summer",
    "forest",
    "engine",
    "number",
    "silver",
    "kitchen",
    "mountain",
    "island",
    "harbor",
    "lesson",
    "planet",
    "yellow",
    "circle",
    "family",
]
SETTINGS = {"engine.workers": 1, "quality.english": False, "quality.korean": False}


def korean(rng: random.Random, words: int = 60) -> str:
    out = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(words)]
    return " ".join(w + ("다." if i % 8 == 7 else "") for i, w in enumerate(out))


def english(rng: random.Random, words: int = 60) -> str:
    return " ".join(rng.choice(ENGLISH) + ("." if i % 9 == 8 else "") for i in range(words)).capitalize()


def write_jsonl(path: Path, texts: list[str], mode: str = "w") -> None:
    with open(path, mode, encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")


def config(data: Path, inputs: list[Path], **overrides):
    values = {"read.inputs": [str(p) for p in inputs], "data_root": str(data), "langid.model_path": str(LID)}
    return load_config(None, values | SETTINGS | overrides)


def rows(data: Path, table: str = "documents", ref: str | None = None) -> list[dict]:
    return read_snapshot(ref, table=table, data_root=data).to_arrow().to_pylist()


def test_touch_recopy_change_and_near_copy(tmp_path):
    rng = random.Random(1)
    src, data = tmp_path / "in", tmp_path / "data"
    src.mkdir()
    texts = [korean(rng) for _ in range(6)]
    write_jsonl(src / "a.jsonl", texts)
    first = run_pipeline(config(data, [src]))
    first_snapshot = first.commit.snapshot_ids["documents"]
    assert len(rows(data)) == 6

    # touch: same content, same run id: nothing to do
    os.utime(src / "a.jsonl", (1_000_000_000, 1_000_000_000))
    touched = run_pipeline(config(data, [src]))
    assert touched.run_id == first.run_id and touched.commit.already_committed

    # re-copy under another name: a new run that reads nothing and says so
    shutil.copy(src / "a.jsonl", src / "b.jsonl")
    recopy = run_pipeline(config(data, [src]))
    assert recopy.run_id != first.run_id and not recopy.commit.already_committed
    assert len(rows(data)) == 6
    inputs = [r for r in rows(data, "inputs") if r["run_id"] == recopy.run_id]
    assert sorted((Path(r["uri"]).name, r["status"]) for r in inputs) == [
        ("a.jsonl", INPUT_UNCHANGED),
        ("b.jsonl", INPUT_UNCHANGED),
    ]
    assert all(r["content_hash"] and r["records"] == 0 for r in inputs)
    assert recopy.report.run["inputs_unchanged"] == "2"
    from dataflow.reports import render_text

    assert "2 file(s) unchanged" in render_text(recopy.report)

    # a changed file: only its new records are published; the old ones name themselves as published
    write_jsonl(src / "a.jsonl", [korean(rng), korean(rng)], mode="a")
    changed = run_pipeline(config(data, [src]))
    docs = rows(data)
    assert len(docs) == 8 and len({d["id"] for d in docs}) == 8
    dups = [r for r in rows(data, "rejects") if r["run_id"] == changed.run_id]
    assert len(dups) == 6 and {r["reason"] for r in dups} == {"exact_duplicate"}
    assert all(r["duplicate_of"] == r["id"] and r["duplicate_snapshot"] == first_snapshot for r in dups)
    read = [r for r in rows(data, "inputs") if r["run_id"] == changed.run_id and r["status"] == INPUT_READ]
    assert [Path(r["uri"]).name for r in read] == ["a.jsonl"]

    # a near copy of a document published two snapshots ago, in a new file: dropped, naming it
    original = next(d for d in docs if d["text"] == texts[2])
    words = texts[2].split()
    words[10], words[30] = "새로운", "광고문구"
    write_jsonl(src / "c.jsonl", [" ".join(words), korean(rng)])
    near = run_pipeline(config(data, [src]))
    (dup,) = [r for r in rows(data, "rejects") if r["run_id"] == near.run_id]
    assert dup["reason"] == "near_duplicate" and dup["duplicate_of"] == original["id"]
    assert dup["duplicate_snapshot"] == first_snapshot
    docs = rows(data)
    assert len(docs) == 9

    # the index holds exactly the published documents
    index = rows(data, "dedup_index")
    assert sorted(r["id"] for r in index) == sorted(d["id"] for d in docs)

    # --full reads everything again and publishes nothing twice
    full = run_pipeline(config(data, [src], **{"read.incremental": False}))
    assert full.run_id != near.run_id
    assert len(rows(data)) == 9
    statuses = {r["status"] for r in rows(data, "inputs") if r["run_id"] == full.run_id}
    assert statuses == {INPUT_READ}


def test_run_scope_dedups_within_the_run_only(tmp_path):
    rng = random.Random(2)
    src, data = tmp_path / "in", tmp_path / "data"
    src.mkdir()
    text = korean(rng)
    write_jsonl(src / "a.jsonl", [text])
    run_pipeline(config(data, [src], **{"dedup.scope": "run"}))
    other = korean(rng)
    write_jsonl(src / "b.jsonl", [text, other])  # the same text again in a file of new content
    run_pipeline(config(data, [src], **{"dedup.scope": "run"}))
    assert sorted(d["text"] for d in rows(data)) == sorted([text, text, other])


def _night(directory: Path, rng: random.Random, ko: int, en: int) -> Path:
    directory.mkdir()
    write_jsonl(directory / "night.jsonl", [korean(rng) for _ in range(ko)] + [english(rng) for _ in range(en)])
    return directory


def test_language_mix_shift_is_flagged_and_strict_exits_non_zero(tmp_path, capsys):
    from dataflow.cli import main
    from dataflow.reports.drift import alerts_of

    rng = random.Random(3)
    data = tmp_path / "data"
    runs = [run_pipeline(config(data, [_night(tmp_path / f"n{i}", rng, 9, 1)])) for i in range(3)]
    assert all(alerts_of(r.report.run) == [] for r in runs)  # no baseline yet, then a stable mix

    shifted = _night(tmp_path / "n3", rng, 3, 7)  # English 10 % -> 70 %: a broken crawl
    args = ["run", "--strict", "--input", str(shifted), "--data-root", str(data), "--set", f"langid.model_path={LID}"]
    args += [a for k, v in SETTINGS.items() for a in ("--set", f"{k}={str(v).lower()}")]
    assert main(args) == 3
    out = capsys.readouterr().out
    assert "DRIFT" in out and "language/en" in out
    flagged = alerts_of({"drift": read_snapshot(data_root=data).summary["dataflow.drift"]})  # in the snapshot summary
    assert {a["metric"] for a in flagged} >= {"language/en", "language/ko"}

    # the report of that run, also strict; without --strict the exit is 0
    assert main(["report", "--strict", "--data-root", str(data)]) == 3
    assert main(["report", "--data-root", str(data)]) == 0
    last = read_snapshot(data_root=data).run_id
    capsys.readouterr()
    assert main(["report", "--compare", runs[0].run_id, last, "--data-root", str(data)]) == 0
    table = capsys.readouterr().out
    assert "language/en" in table and "+60.00pt" in table


def _run_script(inputs: Path, data: Path) -> str:
    return textwrap.dedent(f"""
        from dataflow.config import load_config
        from dataflow.run import run_pipeline
        cfg = load_config(None, {{"read.inputs": [{str(inputs)!r}], "data_root": {str(data)!r},
                                  "langid.model_path": {str(LID)!r}, **{SETTINGS!r}}})
        r = run_pipeline(cfg)
        print("RUN", r.run_id, r.commit.already_committed)
    """)


def test_two_processes_at_once_lose_and_duplicate_nothing(tmp_path):
    rng = random.Random(4)
    data = tmp_path / "data"
    shared = korean(rng)  # in both batches (different files): must be published once
    inputs = []
    for name in ("x", "y"):
        d = tmp_path / name
        d.mkdir()
        write_jsonl(d / f"{name}.jsonl", [korean(rng) for _ in range(5)] + [shared])
        inputs.append(d)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _run_script(d, data)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for d in inputs
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][-2000:] + outs[1][-2000:]
    docs = rows(data)
    tails = "\n".join(o[-1500:] for o in outs)  # what each process logged, should this fail
    assert len(docs) == 11 and len({d["id"] for d in docs}) == 11, tails
    assert sum(d["text"] == shared for d in docs) == 1, tails
    index = rows(data, "dedup_index")
    assert sorted(r["id"] for r in index) == sorted(d["id"] for d in docs)
    assert {r["run_id"] for r in rows(data, "inputs")} == {d["run_id"] for d in docs}


def test_an_overwrite_rebuilds_and_later_runs_ignore_what_it_deleted(tmp_path):
    rng = random.Random(5)
    a, b, data = tmp_path / "a", tmp_path / "b", tmp_path / "data"
    a.mkdir(), b.mkdir()
    only_before = korean(rng)
    write_jsonl(a / "a.jsonl", [only_before, korean(rng)])
    run_pipeline(config(data, [a]))
    write_jsonl(b / "b.jsonl", [korean(rng), korean(rng)])
    # overwrite: reads b (new) only as given, dedups within itself, replaces the table
    rebuilt = run_pipeline(config(data, [b], **{"snapshot.mode": "overwrite"}))
    assert {d["run_id"] for d in rows(data)} == {rebuilt.run_id} and len(rows(data)) == 2
    # a copy of a document the overwrite deleted is new again: the index of deleted runs does not count
    c = tmp_path / "c"
    c.mkdir()
    write_jsonl(c / "c.jsonl", [only_before])
    again = run_pipeline(config(data, [c]))
    assert [d["text"] for d in rows(data) if d["run_id"] == again.run_id] == [only_before]


def test_a_layout_change_is_refused_until_reindex_then_dedups_against_the_old_runs(tmp_path):
    from dataflow.config import ConfigError
    from dataflow.nightly import REINDEXED, maintain

    rng = random.Random(4)
    src, data = tmp_path / "in", tmp_path / "data"
    src.mkdir()
    texts = [korean(rng) for _ in range(5)]
    write_jsonl(src / "a.jsonl", texts)
    old = {"dedup.bands": 14, "dedup.rows": 8, "dedup.verify": 0}  # the layout before verification
    first = run_pipeline(config(data, [src], **old))
    words = texts[1].split()
    words[5], words[20] = "새로운", "광고문구"  # a near copy for the next night, under the new layout
    write_jsonl(src / "b.jsonl", [" ".join(words), korean(rng)])
    with pytest.raises(ConfigError, match="char/5/14x8/seed1.*snapshots reindex"):
        run_pipeline(config(data, [src]))

    assert maintain(config(data, [src]), "reindex", None, True, None, None)[0].startswith("dedup_index: would rebuild")
    assert {r["layout"] for r in rows(data, "dedup_index")} == {"char/5/14x8/seed1"}  # a dry run changes nothing
    (line,) = maintain(config(data, [src]), "reindex", None, False, None, None)
    assert "5 row(s) of char/5/14x8/seed1 -> 5 row(s) of char/5/50x3/seed1" in line
    index = rows(data, "dedup_index")
    assert sorted(r["id"] for r in index) == sorted(d["id"] for d in rows(data))
    assert {r["layout"] for r in index} == {"char/5/50x3/seed1"} and {r["run_id"] for r in index} == {first.run_id}
    assert read_snapshot(table="dedup_index", data_root=data).summary[REINDEXED] == "char/5/50x3/seed1"

    night = run_pipeline(config(data, [src]))  # the new layout now finds the old night's document
    (dup,) = [r for r in rows(data, "rejects") if r["run_id"] == night.run_id]
    original = next(d for d in rows(data) if d["text"] == texts[1])
    assert dup["reason"] == "near_duplicate" and dup["duplicate_of"] == original["id"]
    assert len(rows(data)) == 6
