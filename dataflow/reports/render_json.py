"""JSON rendering of a ``Report``: the machine-readable form (dashboards, release checks, diffs).

Keys are stable (the dataclass fields of ``model.py``, versioned by ``report_version``), numbers
stay numbers (fractions 0..1, not percentage strings), undefined ratios are ``null``, and the
output is deterministic (sorted keys) so two reports diff cleanly.
"""

from __future__ import annotations

import json

from dataflow.reports.model import Report


def render_json(report: Report, indent: int | None = 2) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=indent, sort_keys=True, allow_nan=False) + "\n"
