"""Reports by page type: kept web pages counted per detected type, in every rendering."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dataflow.config import PAGE_TYPES, load_config
from dataflow.reports import render_html, render_json, render_markdown, render_text
from dataflow.reports.model import build_report
from dataflow.reports.page_types import page_type_rows
from dataflow.run import load_run_report, run_pipeline
from dataflow.snapshots import read_snapshot
from tests.dataflow.test_reports import EXAMPLES, ROWS, RUN

ROOT = Path(__file__).resolve().parents[2]


def test_rows_count_docs_and_chars_per_type_in_page_type_order() -> None:
    rows = page_type_rows([("listing", 300), ("article", 100), (None, 999), ("article", 500), ("forum", 100)])
    assert [(r.page_type, r.docs, r.chars) for r in rows] == [
        ("article", 2, 600),
        ("forum", 1, 100),
        ("listing", 1, 300),
    ]
    # shares of the typed pages: 4 docs, 1,000 chars (the untyped document counts in neither)
    assert [round(r.docs_share, 2) for r in rows] == [0.5, 0.25, 0.25]
    assert [round(r.chars_share, 2) for r in rows] == [0.6, 0.1, 0.3]
    assert page_type_rows([(None, 10)]) == []


def test_every_rendering_shows_the_section_only_when_pages_were_typed() -> None:
    plain = build_report(ROWS, EXAMPLES, RUN)
    typed = replace(plain, page_types=page_type_rows([("product", 2_000), ("article", 6_000)]))
    assert "BY PAGE TYPE" in render_text(typed) and "BY PAGE TYPE" not in render_text(plain)
    assert "## By page type" in render_markdown(typed) and "By page type" not in render_markdown(plain)
    assert "By page type (kept web pages)" in render_html(typed) and "By page type" not in render_html(plain)
    data = json.loads(render_json(typed))
    assert [(r["page_type"], r["docs"], r["chars"]) for r in data["page_types"]] == [
        ("article", 1, 6000),
        ("product", 1, 2000),
    ]
    assert "page_types" not in json.loads(render_json(plain))
    assert "75.00%" in render_text(typed)  # the article's share of the typed characters


@pytest.mark.slow
def test_a_run_types_its_web_pages_and_reports_them(tmp_path: Path) -> None:
    lid = ROOT / "models" / "lid.176.ftz"
    if not lid.is_file():
        pytest.skip(f"{lid} missing: run `make setup` first")
    values = {
        "read.inputs": [str(ROOT / "samples" / "demo")],
        "data_root": str(tmp_path),
        "langid.model_path": str(lid),
    }
    cfg = load_config(None, values)
    result = run_pipeline(cfg)
    docs = read_snapshot(data_root=tmp_path).to_arrow(columns=["source_uri", "source_kind", "page_type"]).to_pylist()
    web = [d for d in docs if d["source_kind"] == "web"]
    assert web and all(d["page_type"] in PAGE_TYPES for d in web)
    assert all(d["page_type"] is None for d in docs if d["source_kind"] != "web")
    report = load_run_report(cfg, result.run_id)
    assert sum(r.docs for r in report.page_types) == len(web)
    assert "BY PAGE TYPE" in render_text(report)
