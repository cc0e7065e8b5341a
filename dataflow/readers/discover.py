"""Turn the configured inputs (files, directories, globs) into a sorted, de-duplicated list of files.

Sorting by path makes the shard assignment and therefore every run deterministic. Directories are
walked recursively; hidden entries inside them (names starting with ``.``, such as ``.DS_Store`` or
completion markers) are skipped, but a hidden file named explicitly is read.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

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


def _walk(directory: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(directory, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root, f) for f in files if not f.startswith(".")]
    return found


def _expand(entry: str) -> list[Path]:
    path = Path(entry).expanduser()
    if path.is_dir():
        return _walk(path)
    if path.is_file():
        return [path]
    if _GLOB_CHARS & set(entry):
        found: list[Path] = []
        for match in sorted(glob.glob(str(path), recursive=True)):
            found += _walk(Path(match)) if os.path.isdir(match) else [Path(match)]
        return found
    return []


def discover(inputs: list[str]) -> list[InputFile]:
    """Every file the inputs name, sorted by path, each once.

    Raises:
        FileNotFoundError: an input path or glob matches no file (a typo must not give an empty run).
    """
    files: dict[Path, InputFile] = {}
    for entry in inputs:
        matched = [p for p in _expand(str(entry)) if p.is_file()]
        if not matched:
            raise FileNotFoundError(f"input {entry!r} matches no file (checked as a file, a directory and a glob)")
        for p in matched:
            resolved = p.resolve()
            if resolved not in files:
                files[resolved] = InputFile.of(p)
    return sorted(files.values(), key=lambda f: str(f.path))
