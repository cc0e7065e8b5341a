"""Operator mistakes are refused before any input is read or anything is committed, as one line naming
the key or path, with exit code 2; failures exit 1; locks name their holder and outlive no process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dataflow.cli import main
from dataflow.config import ConfigError, SnapshotConfig, load_config, validate
from dataflow.locks import LockHeld, hold
from dataflow.run import run_pipeline
from dataflow.snapshots import commit_tables, list_snapshots

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("한 줄의 글입니다.", encoding="utf-8")
    return src


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "lid.ftz"  # only its existence is checked before a run; the refusals come first
    path.write_bytes(b"not loaded")
    return path


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    "args, key",
    [
        (["--workers", "0"], "engine.workers"),
        (["--workers", "-2"], "engine.workers"),
        (["--set", "engine.tasks=-1"], "engine.tasks"),
        (["--set", "snapshot.mode=apend"], "snapshot.mode"),
        (["--set", "engine.name=sparky"], "engine.name"),
        (["--set", "read.max_record_bytes=0"], "read.max_record_bytes"),
        (["--set", "read.follow_symlinks=always"], "read.follow_symlinks"),
        (["--set", "langid.min_score=1.5"], "langid.min_score"),
        (["--set", "dedup.unit=syllable"], "dedup.unit"),
        (["--set", "pii.types=[email,ssn]"], "pii.types"),
        (["--set", "extract.formats=[html,docx]"], "extract.formats"),
        (["--run-id", "../../etc"], "run_id"),
        (["--tag", "main"], "snapshot.tag"),
        (["--set", "engine.workers=two"], "engine.workers"),
    ],
)
def test_bad_values_are_refused_before_anything_is_read(capsys, tmp_path, inputs, model, args, key):
    data = tmp_path / "data"
    code, err = _run(
        capsys, "run", "--input", str(inputs), "--data-root", str(data), "--set", f"langid.model_path={model}", *args
    )
    assert code == 2
    assert err.startswith("dataflow: error: ") and err.count("\n") == 1 and key in err
    assert "Traceback" not in err
    assert not data.exists()  # nothing created, nothing committed


def test_missing_inputs_model_and_a_data_root_that_is_a_file(capsys, tmp_path, inputs, model):
    code, err = _run(capsys, "run", "--input", str(tmp_path / "typo"), "--set", f"langid.model_path={model}")
    assert code == 2 and "typo" in err and "matches no file" in err
    code, err = _run(capsys, "run", "--input", str(inputs), "--set", f"langid.model_path={tmp_path / 'nope.ftz'}")
    assert code == 2 and "langid.model_path" in err and "nope.ftz" in err
    afile = tmp_path / "root-file"
    afile.write_text("x")
    code, err = _run(
        capsys, "run", "--input", str(inputs), "--data-root", str(afile), "--set", f"langid.model_path={model}"
    )
    assert code == 2 and "data_root" in err and str(afile) in err and afile.read_text() == "x"


def test_an_existing_tag_is_refused_before_any_commit(tmp_path, inputs, model):
    data = tmp_path / "data"
    commit_tables({}, "run-old", data_root=data, config=SnapshotConfig(tag="release-1"))
    before = [s["snapshot_id"] for s in list_snapshots(data_root=data)]
    cfg = load_config(
        None,
        {
            "read.inputs": [str(inputs)],
            "data_root": str(data),
            "langid.model_path": str(model),
            "snapshot.tag": "release-1",
            "run_id": "run-new",
        },
    )
    with pytest.raises(ConfigError, match=r"snapshot.tag: 'release-1' already names snapshot \d+ \(run run-old\)"):
        run_pipeline(cfg)
    assert [s["snapshot_id"] for s in list_snapshots(data_root=data)] == before
    assert not (data / "runs" / "run-new").exists()  # the engine never started


def test_read_only_commands_create_nothing_and_say_so(capsys, tmp_path):
    root = tmp_path / "absent"
    for argv in (["snapshots", "list"], ["report"], ["snapshots", "show", "release-1"]):
        code, err = _run(capsys, *argv, "--data-root", str(root))
        assert code == 2 and "no catalog" in err and err.count("\n") == 1
    assert not root.exists()


def test_a_corrupt_catalog_is_one_line_and_a_traceback_only_with_verbose(capsys, tmp_path):
    data = tmp_path / "data"
    commit_tables({}, "run-a", data_root=data)
    (data / "catalog.db").write_bytes(b"")
    code, err = _run(capsys, "snapshots", "list", "--data-root", str(data))
    assert code == 2 and err.count("\n") == 1 and "catalog.db" in err and "warehouse" in err
    code, err = _run(capsys, "-v", "snapshots", "list", "--data-root", str(data))
    assert code == 2 and "Traceback" in err and err.rstrip().splitlines()[-1].startswith("dataflow: error:")


def test_validate_names_every_bad_key_on_one_line():
    cfg = load_config(None, {"engine.workers": 0, "snapshot.mode": "apend"})
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    assert "engine.workers" in str(err.value) and "snapshot.mode" in str(err.value) and "\n" not in str(err.value)
    validate(load_config(ROOT / "configs" / "default.yaml"))  # the documented default is valid


_HOLDER = """
import sys
from dataflow.locks import hold
with hold(sys.argv[1], "run r1"):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes stdin or kills this process
"""


def test_a_lock_names_its_live_holder_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    lock = tmp_path / "runs" / "r1.lock"
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    try:
        assert child.stdout.readline().strip() == "held"
        held = rf"run r1 is in progress \(pid {child.pid} on .+, started at .+\)"
        with pytest.raises(LockHeld, match=held), hold(lock, "run r1"):
            pass
        child.kill()  # SIGKILL: no cleanup runs in the holder
        child.wait()
        assert str(child.pid) in lock.read_text()  # its holder line is still there ...
        with hold(lock, "run r1"):  # ... but the kernel dropped its flock: not stale
            pass
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_progress_counts_across_tasks_and_is_quiet_off_a_terminal(tmp_path, capsys):
    from dataflow.engines.progress import ProgressBar, TaskProgress, read_progress

    a, b = TaskProgress(tmp_path, 0), TaskProgress(tmp_path, 1)
    for uri in ["f1", "f1", "f2"]:
        a.record(uri)
    b.record("f3")
    a.done(2)
    b.flush()
    assert read_progress(tmp_path) == (2, 4)  # task 1's file is not done until the next file or done()
    b.done(1)
    assert read_progress(tmp_path) == (3, 4)
    (tmp_path / "00002.json").write_text("{cut")  # a counter file mid-rewrite is skipped, not fatal
    assert read_progress(tmp_path) == (3, 4)
    with ProgressBar(tmp_path, 3) as bar:  # pytest's stderr is not a terminal
        assert bar.bar.disable
    assert capsys.readouterr().err == ""


def test_a_data_root_inside_the_inputs_is_refused(capsys, tmp_path, inputs, model):
    data = inputs / "data"  # the run would read its own catalog and warehouse on the next run
    code, err = _run(
        capsys, "run", "--input", str(inputs), "--data-root", str(data), "--set", f"langid.model_path={model}"
    )
    assert code == 2 and "data_root" in err and "inside input" in err and not data.exists()
    glob_input = str(tmp_path / "*")
    code, err = _run(
        capsys, "run", "--input", glob_input, "--data-root", str(data), "--set", f"langid.model_path={model}"
    )
    assert code == 2 and "inside input" in err
    # a glob that cannot match the data root is fine: the run is refused only for the missing model
    code, err = _run(
        capsys, "run", "--input", str(inputs / "*.txt"), "--data-root", str(data), "--set", "langid.model_path=x"
    )
    assert code == 2 and "inside input" not in err and "langid.model_path" in err


def test_extract_command_reads_a_container_record_by_record(capsys, tmp_path):
    import json

    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "a", "text": "첫째 줄"}\n{"id": "b", "text": 3}\n', encoding="utf-8")
    code = main(["extract", str(path)])
    out = capsys.readouterr().out
    head, *rows = out.split("\n}\n", 1)
    assert code == 0 and json.loads(head + "}")["reason"] == "container"
    records = [json.loads(line) for line in rows[0].splitlines()]
    assert [(r["text"], r["reason"]) for r in records] == [("첫째 줄", None), (None, "bad_record")]
    code, err = _run(capsys, "extract", str(tmp_path / "missing.html"))
    assert code == 2 and "missing.html" in err and err.count("\n") == 1
    code, err = _run(capsys, "extract", str(tmp_path))
    assert code == 2 and "not a file" in err
