"""The LID evaluation command on the test data: the issue's targets hold for the Korean-aware decision."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dataflow.config import LangIdConfig
from quality_models import lid_eval, lid_sets


@pytest.fixture(scope="module")
def sets(testdata):
    return {s.name: s for s in lid_sets.load_sets(testdata)}


@pytest.fixture(scope="module")
def aware(lid_model_path):
    return LangIdConfig(model_path=str(lid_model_path))


def test_length_buckets():
    assert [lid_sets.length_bucket(n) for n in (0, 9, 10, 25, 199, 5000)] == [
        "0-9",
        "0-9",
        "10-19",
        "20-49",
        "100-199",
        "200+",
    ]


def test_code_switched_sets_mix_both_scripts(testdata):
    ko_major, en_major = lid_sets.code_switched(lid_sets.parallel_pairs(testdata)[:200])
    assert ko_major and en_major
    assert all(any("a" <= c.lower() <= "z" for c in t) and any("가" <= c <= "힣" for c in t) for t in ko_major[:50])


def test_targets_on_parallel_nsmc_and_cjk(sets, aware):
    res = {
        n: lid_eval.evaluate_set(sets[n], aware)
        for n in ("parallel_ko", "parallel_en", "nsmc", "web_zh_lines", "web_ja_lines")
    }
    assert res["parallel_ko"]["accuracy_20plus"] >= 0.998
    assert res["parallel_en"]["accuracy_20plus"] >= 0.998
    assert res["nsmc"]["accuracy"] >= 0.985
    assert res["web_zh_lines"]["called_ko"] <= 0.005 and res["web_ja_lines"]["called_ko"] <= 0.005


def test_script_rules_beat_lid176_alone_on_nsmc(sets, aware):
    alone = lid_eval.evaluate_set(sets["nsmc"], replace(aware, script_rules=False))
    improved = lid_eval.evaluate_set(sets["nsmc"], aware)
    assert alone["accuracy"] < 0.97 < improved["accuracy"]
    assert alone["buckets"]["0-9"]["accuracy"] < improved["buckets"]["0-9"]["accuracy"]
