"""Filtering-reduction reports: what each stage removed, in documents and in text volume.

``build_report(stats_rows, examples, run)`` aggregates a run's ``stage_stats`` rows (and a few sampled
``rejects`` rows) into a ``Report``; the renderers turn it into a terminal table, Markdown, JSON or
one self-contained HTML page with charts. Reading the Iceberg tables is the caller's job (the
``dataflow report`` command), so everything here is pure and testable with literal rows.
"""

from __future__ import annotations

from collections.abc import Callable

from dataflow.reports.model import REPORT_VERSION, Report, build_report
from dataflow.reports.render_html import render_html
from dataflow.reports.render_json import render_json
from dataflow.reports.render_markdown import render_markdown
from dataflow.reports.render_text import render_text

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
    "html": render_html,
}
"""Output format name -> renderer, for ``dataflow report --format``."""

__all__ = [
    "REPORT_VERSION",
    "RENDERERS",
    "Report",
    "build_report",
    "render_html",
    "render_json",
    "render_markdown",
    "render_text",
]
