"""Shared fixtures: the read-only test data beside the checkout, and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def testdata() -> Path:
    """../shared/testdata, or a clean skip where it is absent."""
    if not TESTDATA.is_dir():
        pytest.skip(f"test data not found at {TESTDATA} (it sits beside the checkout in CI)")
    return TESTDATA


@pytest.fixture(scope="session")
def lid_model_path() -> Path:
    """The offline fastText lid.176 model that `make setup` unpacks into models/."""
    path = Path(__file__).resolve().parents[1] / "models" / "lid.176.ftz"
    if not path.is_file():
        pytest.skip(f"{path} missing: run `make setup` first")
    return path
