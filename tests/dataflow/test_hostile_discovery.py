"""Discovery with hostile trees: links out of the roots, loops, dangling links, cycles, FIFOs, hidden
and hostile names. Every path found is either read or refused with its status, and nothing outside the
input roots is ever listed as a file to read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dataflow.readers.discover import Discovery, discover_inputs, path_accounting_errors
from schemas.corpus import (
    BROKEN_LINK,
    DUPLICATE_PATH,
    HIDDEN,
    NOT_A_FILE,
    OUTSIDE_INPUTS,
    REFUSED_STATUSES,
    SYMLINK_LOOP,
    SYMLINK_NOT_FOLLOWED,
)


def _statuses(d: Discovery, root: Path) -> dict[str, str]:
    """relative path -> 'read' or the refused status."""
    out = {Path(f.path).relative_to(root).as_posix(): "read" for f in d.files}
    for r in d.refused:
        rel = Path(r.uri.removeprefix("file://")).relative_to(root).as_posix()
        assert rel not in out, f"{rel} listed twice"
        out[rel] = r.status
    return out


def _every_path(root: Path) -> set[str]:
    """Every entry under root, listed without following any link (hidden dirs not entered)."""
    found = set()
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        for name in files + dirs:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_dir() or name.startswith("."):  # a real directory is walked
                found.add(path.relative_to(root).as_posix())
        dirs[:] = [d for d in dirs if not d.startswith(".")]
    return {p for p in found if not any(part.startswith(".") for part in Path(p).parts[:-1])}


@pytest.fixture
def hostile_tree(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwd").write_text("CANARY-OUTSIDE-9f3a")
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "a.html").write_text("<p>a</p>")
    (root / "sub" / "b.txt").write_text("b")
    (root / "escape").symlink_to(outside / "passwd")
    (root / "escape_dir").symlink_to(outside)
    (root / "loop1").symlink_to(root / "loop2")
    (root / "loop2").symlink_to(root / "loop1")
    (root / "dangling").symlink_to(root / "no-such-file")
    (root / "sub" / "self").symlink_to(root / "sub")
    (root / "sub" / "up").symlink_to(root)
    (root / "again.html").symlink_to(root / "a.html")
    (root / ".DS_Store").write_bytes(b"\0\0")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    os.mkfifo(root / "pipe")
    return root, outside


def test_every_hostile_path_is_refused_with_its_status(hostile_tree):
    root, _ = hostile_tree
    d = discover_inputs([str(root)])
    assert _statuses(d, root) == {
        "a.html": "read",
        "sub/b.txt": "read",
        "escape": OUTSIDE_INPUTS,
        "escape_dir": OUTSIDE_INPUTS,
        "loop1": SYMLINK_LOOP,
        "loop2": SYMLINK_LOOP,
        "dangling": BROKEN_LINK,
        "sub/self": SYMLINK_LOOP,
        "sub/up": SYMLINK_LOOP,
        "again.html": DUPLICATE_PATH,
        ".DS_Store": HIDDEN,
        ".git": HIDDEN,
        "pipe": NOT_A_FILE,
    }
    assert set(_statuses(d, root)) == _every_path(root)  # every path discovered, once
    assert d.discovered == len(d.files) + len(d.refused) == 13
    assert all(r.status in REFUSED_STATUSES and r.error and "\n" not in r.error for r in d.refused)


def test_nothing_outside_the_roots_is_listed_to_read(hostile_tree):
    root, outside = hostile_tree
    d = discover_inputs([str(root)])
    for f in d.files:
        assert Path(os.path.realpath(f.path)).is_relative_to(root)
    escape = next(r for r in d.refused if r.uri.endswith("/escape"))
    assert "read.inputs" in escape.error  # says how to read it on purpose
    # naming the outside directory as an input makes it a root: then the link is a duplicate path
    st = _statuses(discover_inputs([str(root), str(outside)]), root.parent)
    assert st["secret/passwd"] == "read"
    assert st["in/escape"] == st["in/escape_dir"] == DUPLICATE_PATH  # read once, at its own path


def test_glob_checks_links_against_its_root(hostile_tree):
    root, _ = hostile_tree
    d = discover_inputs([str(root / "*")])
    st = _statuses(d, root)
    assert st["a.html"] == "read" and st["escape"] == OUTSIDE_INPUTS and st["dangling"] == BROKEN_LINK
    assert "pipe" in st and st["pipe"] == NOT_A_FILE
    assert ".DS_Store" not in st  # '*' does not name dot-files (glob semantics)


def test_follow_never_refuses_every_link(hostile_tree):
    root, _ = hostile_tree
    st = _statuses(discover_inputs([str(root)], follow_symlinks="never"), root)
    links = ["escape", "escape_dir", "loop1", "loop2", "dangling", "sub/self", "sub/up", "again.html"]
    assert {st[p] for p in links} == {SYMLINK_NOT_FOLLOWED}
    assert st["a.html"] == "read"
    with pytest.raises(ValueError, match="follow_symlinks"):
        discover_inputs([str(root)], follow_symlinks="yes")


def test_a_link_inside_the_roots_to_a_directory_elsewhere_in_the_roots(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (b / "x.txt").write_text("x")
    (a / "to_b").symlink_to(b)
    st = _statuses(discover_inputs([str(a), str(b)]), tmp_path)
    assert st == {"b/x.txt": "read", "a/to_b": DUPLICATE_PATH}


def test_an_explicitly_named_link_is_read_and_a_named_dangling_one_is_refused(tmp_path: Path):
    (tmp_path / "real.txt").write_text("r")
    (tmp_path / "named").symlink_to(tmp_path / "real.txt")
    (tmp_path / "gone").symlink_to(tmp_path / "missing")
    d = discover_inputs([str(tmp_path / "named"), str(tmp_path / "gone")])
    assert [f.path.name for f in d.files] == ["named"]
    assert [(Path(r.uri).name, r.status) for r in d.refused] == [("gone", BROKEN_LINK)]


def test_hostile_names_and_deep_trees(tmp_path: Path):
    root = tmp_path / "in"
    deep = root.joinpath(*["d"] * 200)  # deeper than a naive recursion would like on some stacks
    deep.mkdir(parents=True)
    (deep / "leaf.txt").write_text("x")
    (root / "new\nline.txt").write_text("x")
    (root / "sp ace; rm -rf.txt").write_text("x")
    raw = os.fsencode(str(root)) + b"/bad-\xff\xfe.txt"
    with open(raw, "wb") as f:
        f.write(b"x")
    d = discover_inputs([str(root)])
    assert len(d.files) == 4 and not d.refused
    assert all(f.uri.isascii() and "\n" not in f.uri for f in d.files)  # percent-encoded
    assert "%FF%FE" in next(f.uri for f in d.files if "bad-" in f.uri)


def test_path_accounting_names_a_file_that_was_not_read(hostile_tree):
    root, _ = hostile_tree
    d = discover_inputs([str(root)])
    rows = [dict(uri=f.uri) for f in d.files]
    assert path_accounting_errors(d, rows) == []
    errors = path_accounting_errors(d, rows[1:])
    assert len(errors) == 1 and "files discovered 13" in errors[0] and "no row for 1 file" in errors[0]
    assert path_accounting_errors(d, rows + rows[:1])  # read twice


def test_an_input_that_matches_nothing_is_an_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        discover_inputs([str(tmp_path / "nothing_here")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        discover_inputs([str(tmp_path / "empty")])
