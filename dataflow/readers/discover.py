"""Turn the configured inputs (files, directories, globs) into the files to read, and every other path
discovered into a refused row: nothing outside the input roots is read, nothing found is left unaccounted.

Roots. Each input names a root: a directory (its resolved path), a file (the resolved file itself: the
operator named it) or a glob (the resolved directory before its first wildcard). A path found under a
root is read only if its resolved target lies inside one of the roots; links are resolved before that
check, so ``in/passwd -> /etc/passwd`` is refused (``outside_inputs``) and never opened.

Every path discovered ends in exactly one of two lists: ``files`` (to read, sorted by path, which makes
the shard assignment and therefore every run deterministic) or ``refused`` (an inputs-manifest row whose
status says why; ``schemas.corpus.REFUSED_STATUSES``): ``outside_inputs``, ``symlink_loop`` (links in a
loop, or a directory link back to its own ancestor, which ``os.walk(followlinks=True)`` would walk
forever), ``broken_link``, ``symlink_not_followed`` (``read.follow_symlinks: never``), ``duplicate_path``
(a second path to a file or directory already found), ``hidden`` (dot-names inside a walked directory:
``.DS_Store``, ``.git``, completion markers; a hidden file named explicitly is read), ``not_a_file``
(FIFOs, sockets, devices: opening a FIFO blocks forever) and ``unreadable``. The accounting check is
``discovered == len(files) + len(refused)`` and ``path_accounting_errors`` checks that the engine read
each file exactly once.

The walk is iterative (no recursion limit on deep trees) and lists each directory once, sorted.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataflow.config import FOLLOW_INSIDE, FOLLOW_NEVER, FOLLOW_SYMLINKS
from schemas.corpus import (
    BROKEN_LINK,
    DUPLICATE_PATH,
    HIDDEN,
    NOT_A_FILE,
    OUTSIDE_INPUTS,
    SYMLINK_LOOP,
    SYMLINK_NOT_FOLLOWED,
    UNREADABLE,
)

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True, order=True)
class InputFile:
    """One input file: its absolute path, its ``file://`` URI and its size in bytes."""

    path: Path
    uri: str
    size: int

    @classmethod
    def of(cls, path: str | Path) -> InputFile:
        path = Path(path).absolute()
        return cls(path=path, uri=path.as_uri(), size=path.stat().st_size)


@dataclass(frozen=True)
class Refused:
    """A path discovered and not read: where it is, the status (reason) and a one-line explanation."""

    uri: str
    status: str
    error: str

    def manifest(self) -> dict[str, Any]:
        """Its inputs-table row (minus run_id): nothing was read, so no size, hash, format or records."""
        return dict(
            uri=self.uri, size_bytes=0, content_hash="", format="", status=self.status, error=self.error, records=0
        )


@dataclass
class Discovery:
    """What the inputs name: the files to read and the paths refused, with the roots they were checked against."""

    files: list[InputFile] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)

    @property
    def discovered(self) -> int:
        return len(self.files) + len(self.refused)


def _uri(path: Path) -> str:
    """file:// URI of an absolute path; bytes that are not UTF-8 are percent-encoded (never raises)."""
    return Path(os.path.abspath(path)).as_uri()


def _show(path: Path | str) -> str:
    """A path as printable one-line text (hostile names hold newlines or undecodable bytes)."""
    return ascii(str(path))[1:-1] if not str(path).isprintable() else str(path)


def _inside(target: Path, roots: list[Path]) -> bool:
    return any(target.is_relative_to(root) for root in roots)


def _segment_regex(segment: str) -> re.Pattern[str]:
    # glob semantics: a wildcard does not match a leading dot (hidden names need an explicit '.')
    regex = fnmatch.translate(segment)
    return re.compile(regex if segment.startswith(".") else r"(?!\.)" + regex)


class _Pattern:
    """A glob below its root, matched segment by segment (``**`` = any number of directories)."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = parts
        self._regex = [None if p == "**" else _segment_regex(p) for p in parts]

    def _match(self, i: int, rel: tuple[str, ...], prefix: bool) -> bool:
        if not rel:
            return prefix or all(r is None for r in self._regex[i:])
        if i == len(self.parts):
            return False
        regex = self._regex[i]
        if regex is None:  # '**': consume nothing, or one segment (not a hidden one) and stay
            return self._match(i + 1, rel, prefix) or (not rel[0].startswith(".") and self._match(i, rel[1:], prefix))
        return bool(regex.fullmatch(rel[0])) and self._match(i + 1, rel[1:], prefix)

    def full(self, rel: tuple[str, ...]) -> bool:
        return self._match(0, rel, prefix=False)

    def partial(self, rel: tuple[str, ...]) -> bool:
        """Could a path below ``rel`` still match?"""
        return self._match(0, rel, prefix=True)


def _glob_root(entry: str) -> tuple[Path, _Pattern]:
    parts = Path(entry).expanduser().absolute().parts
    first = next(i for i, p in enumerate(parts) if _GLOB_CHARS & set(p))
    return Path(*parts[:first]), _Pattern(tuple(parts[first:]))


class _Walker:
    def __init__(self, roots: list[Path], full_roots: list[Path], follow: str) -> None:
        self.roots, self.follow = roots, follow
        self.full_roots = full_roots  # directories walked entirely (a glob's root is only partly)
        self.out = Discovery(roots=roots)
        self._files: dict[Path, str] = {}  # resolved target -> uri of the first path found to it
        self._seen_paths: set[str] = set()  # lexical paths already classified (overlapping inputs)
        self._dirs: dict[Path, str] = {}  # resolved directory -> uri of the path it was walked as
        self.stack: list[tuple[Path, tuple[Path, ...], _Pattern | None, tuple[str, ...]]] = []
        self.hits = 0  # paths an input matched, already-seen ones included (an input matching none is a typo)

    def refuse(self, path: Path, status: str, error: str) -> None:
        self.hits += 1
        uri = _uri(path)
        if uri not in self._seen_paths:
            self._seen_paths.add(uri)
            self.out.refused.append(Refused(uri, status, error))

    def add_file(self, path: Path, target: Path) -> None:
        self.hits += 1
        uri = _uri(path)
        if uri in self._seen_paths:
            return  # the same path named by two inputs (a directory and a glob): one file
        if target in self._files:
            self.refuse(path, DUPLICATE_PATH, f"same file as {self._files[target]} (read once)")
            return
        try:
            size = os.stat(target).st_size
        except OSError as err:
            self.refuse(path, UNREADABLE, f"cannot stat {_show(path)}: {err.strerror}")
            return
        self._seen_paths.add(uri)
        self._files[target] = uri
        self.out.files.append(InputFile(path=Path(os.path.abspath(path)), uri=uri, size=size))

    def resolve_link(self, path: Path, explicit: bool = False) -> Path | None:
        """The link's checked target, or None after refusing it (broken, loop, outside, not followed).

        A link named explicitly as an input is the operator's choice: its target is a root, so only a
        loop or a dangling link refuses it."""
        if self.follow == FOLLOW_NEVER and not explicit:
            self.refuse(path, SYMLINK_NOT_FOLLOWED, f"{_show(path)} is a link (read.follow_symlinks: never)")
            return None
        try:
            target = Path(os.path.realpath(path, strict=True))
        except FileNotFoundError:
            self.refuse(path, BROKEN_LINK, f"{_show(path)} is a link to a missing path")
            return None
        except OSError as err:
            if err.errno == errno.ELOOP:
                self.refuse(path, SYMLINK_LOOP, f"{_show(path)} is a link in a loop of links")
            else:
                self.refuse(path, UNREADABLE, f"cannot resolve {_show(path)}: {err.strerror}")
            return None
        if not _inside(target, self.roots):
            self.refuse(
                path,
                OUTSIDE_INPUTS,
                f"{_show(path)} links outside the input roots (to {_show(target)}); not read. "
                "Name the target in read.inputs to read it",
            )
            return None
        return target

    def entry(
        self,
        path: Path,
        ancestors: tuple[Path, ...],
        pattern: _Pattern | None,
        rel: tuple[str, ...],
        explicit: bool = False,
    ) -> None:
        """Classify one path (found in a walk, or named by an input); directories go on ``self.stack``."""
        try:
            st = os.lstat(path)
        except OSError as err:
            self.refuse(path, UNREADABLE, f"cannot stat {_show(path)}: {err.strerror}")
            return
        target = Path(os.path.join(ancestors[-1], path.name)) if ancestors else Path(os.path.realpath(path))
        if stat.S_ISLNK(st.st_mode):
            resolved = self.resolve_link(path, explicit)
            if resolved is None:
                return
            if resolved in ancestors:
                self.refuse(path, SYMLINK_LOOP, f"{_show(path)} links back to its own ancestor {_show(resolved)}")
                return
            if not explicit and _inside(resolved, self.full_roots):
                # what it points at is found at its own path in a walked directory: read it there, once
                self.refuse(path, DUPLICATE_PATH, f"{_show(path)} links to {_uri(resolved)}, read at its own path")
                return
            target = resolved
            try:
                st = os.stat(target)
            except OSError as err:
                self.refuse(path, UNREADABLE, f"cannot stat {_show(path)}: {err.strerror}")
                return
        if stat.S_ISDIR(st.st_mode):
            if target in self._dirs and self._dirs[target] != _uri(path):
                self.refuse(path, DUPLICATE_PATH, f"same directory as {self._dirs[target]} (walked once)")
            elif target not in self._dirs or explicit:
                self._dirs[target] = _uri(path)
                sub = None if pattern is None or pattern.full(rel) else pattern
                self.stack.append((path, (*ancestors, target), sub, rel))
        elif stat.S_ISREG(st.st_mode):
            if pattern is None or pattern.full(rel):
                self.add_file(path, target)
        else:
            self.refuse(path, NOT_A_FILE, f"{_show(path)} is not a regular file (FIFO, socket or device); not read")

    def walk(self, start: Path | None = None, pattern: _Pattern | None = None) -> None:
        """Walk directory ``start`` (or what is queued); with a pattern, only the paths it matches."""
        if start is not None:
            self.stack.append((start, (Path(os.path.realpath(start)),), pattern, ()))
        while self.stack:
            directory, ancestors, pat, rel = self.stack.pop()
            try:
                with os.scandir(directory) as it:
                    names = sorted(e.name for e in it)
            except OSError as err:
                self.refuse(directory, UNREADABLE, f"cannot list {_show(directory)}: {err.strerror}")
                continue
            pending = []
            for name in reversed(names):  # a stack: reversed keeps the walk in sorted order
                path, sub = directory / name, (*rel, name)
                if pat is None:
                    if name.startswith("."):
                        self.refuse(path, HIDDEN, f"{_show(path)} is hidden (a dot-name inside an input directory)")
                        continue
                elif not (pat.full(sub) or pat.partial(sub)):
                    continue  # not named by the glob: not part of the inputs
                pending.append((path, ancestors, pat, sub))
            while pending:
                self.entry(*pending.pop())


def _roots(inputs: list[str]) -> tuple[list[Path], list[Path]]:
    """(every root, the directory roots that are walked entirely): resolved, in input order."""
    roots, full = [], []
    for entry in inputs:
        path = Path(entry).expanduser()
        is_glob = not os.path.lexists(path) and bool(_GLOB_CHARS & set(entry))
        if is_glob:
            path = _glob_root(entry)[0]
        try:
            root = Path(os.path.realpath(path, strict=True))
        except OSError:
            root = Path(os.path.abspath(path))  # a broken or looping link: refused below, reads nothing
        roots.append(root)
        if not is_glob and os.path.isdir(root):
            full.append(root)
    return roots, full


def input_covering(inputs: list[str], path: str | Path) -> str | None:
    """The first input whose discovery would walk into ``path`` (a directory root above it, or a glob
    matching it or a directory above it), or None."""
    target = Path(os.path.realpath(path))
    for entry, root in zip(inputs, _roots([str(e) for e in inputs])[0], strict=True):
        if not target.is_relative_to(root):
            continue
        if os.path.lexists(Path(entry).expanduser()) or not (_GLOB_CHARS & set(entry)):
            return entry  # a directory (or the file itself) walked entirely
        rel = target.relative_to(root).parts
        pattern = _glob_root(entry)[1]
        if any(pattern.full(rel[:i]) for i in range(1, len(rel) + 1)):
            return entry
    return None


def discover_inputs(inputs: list[str], follow_symlinks: str = FOLLOW_INSIDE) -> Discovery:
    """Every path the inputs name: the files to read (sorted, each file once) and the refused paths.

    Raises:
        FileNotFoundError: an input path or glob matches nothing (a typo must not give an empty run).
        ValueError: ``follow_symlinks`` is not one of ``FOLLOW_SYMLINKS``.
    """
    if follow_symlinks not in FOLLOW_SYMLINKS:
        raise ValueError(f"read.follow_symlinks must be one of {', '.join(FOLLOW_SYMLINKS)}, not {follow_symlinks!r}")
    entries = [str(e) for e in inputs]
    walker = _Walker(*_roots(entries), follow_symlinks)
    for entry in entries:
        before = walker.hits
        path = Path(entry).expanduser()
        if os.path.lexists(path):
            walker.entry(Path(os.path.abspath(path)), (), None, (), explicit=True)
            walker.walk()
        elif _GLOB_CHARS & set(entry):
            root, pattern = _glob_root(entry)
            if os.path.isdir(root):
                walker.walk(root, pattern)
        if walker.hits == before:
            raise FileNotFoundError(f"input {entry!r} matches no file (checked as a file, a directory and a glob)")
    walker.out.files.sort(key=lambda f: str(f.path))
    return walker.out


def discover(inputs: list[str], follow_symlinks: str = FOLLOW_INSIDE) -> list[InputFile]:
    """The files to read, sorted by path (``discover_inputs(...).files``)."""
    return discover_inputs(inputs, follow_symlinks).files


def path_accounting_errors(discovery: Discovery, manifests: list[dict[str, Any]]) -> list[str]:
    """Files discovered = files read + files refused: every file to read has exactly one manifest row
    from the engine, and no row names a file that was not handed to it."""
    expected = [f.uri for f in discovery.files]
    got = [m["uri"] for m in manifests]
    errors = []
    if sorted(expected) != sorted(got):
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        twice = len(got) - len(set(got))
        errors.append(
            f"files discovered {discovery.discovered:,} != read {len(set(got) & set(expected)):,} + refused "
            f"{len(discovery.refused):,} (no row for {len(missing)} file(s){': ' + missing[0] if missing else ''}; "
            f"{len(extra)} unexpected; {twice} read twice)"
        )
    return errors
