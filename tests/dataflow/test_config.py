"""Config loading is strict: unknown keys and wrong types fail with their dotted path."""

from __future__ import annotations

import pytest

from dataflow.config import ConfigError, PipelineConfig, load_config


def test_defaults_and_overrides():
    cfg = load_config(None, {"engine.name": "spark", "dedup.near": False, "read.inputs": ["a/"]})
    assert cfg.engine.name == "spark" and cfg.dedup.near is False and cfg.read.inputs == ["a/"]
    assert cfg.langid.languages == ["ko", "en"]


def test_unknown_key_is_an_error_with_its_path(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("dedup:\n  bandz: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) in dedup: bandz"):
        load_config(path)


def test_wrong_type_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("engine:\n  workers: two\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="engine.workers: expected int"):
        load_config(path)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("read: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_hash_ignores_paths_and_engine_but_not_filters():
    base = PipelineConfig()
    moved = load_config(None, {"data_root": "/elsewhere", "engine.workers": 8, "read.inputs": ["x"]})
    changed = load_config(None, {"dedup.ngram": 9})
    assert base.hash() == moved.hash()
    assert base.hash() != changed.hash()
