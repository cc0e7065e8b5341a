"""Markdown rendering of a ``Report``: for pull requests, release notes and snapshot READMEs.

GitHub-flavoured tables; cell text is escaped so a reason, URL or excerpt containing ``|`` or
Markdown markup cannot break a table or inject links and images.
"""

from __future__ import annotations

import re

from dataflow.reports import page_types, quality_scores
from dataflow.reports.drift import nightly_lines
from dataflow.reports.model import Report, pct
from dataflow.reports.render_text import docs, kind_cells, language_cells, meta_value, num, ratio, si


def esc(text: str) -> str:
    """Escape Markdown table and inline markup characters; newlines become spaces."""
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"([\\`*_\[\]<>|~])", r"\\\1", text)  # inline markup only; '#', '+' matter at line start


def code(text: str) -> str:
    """An inline code span; backslash escapes do not work inside one, so only ``|`` (tables) and backticks change."""
    return "`" + re.sub(r"\s+", " ", text).replace("`", "'").replace("|", "\\|") + "`"


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """The first ``left`` columns are text (left-aligned), the rest are numbers (right-aligned)."""
    align = [":--" if i < left else "--:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render_markdown(report: Report) -> str:
    h, a, run = report.headline, report.accounting, report.run
    out = [f"# Filtering report: run {code(str(run.get('run_id', '?')))}", ""]
    meta = [(k, run[k]) for k in sorted(run) if k != "run_id" and run[k] not in (None, "", [], {})]
    if meta:
        out += [" · ".join(f"**{esc(k.replace('_', ' '))}** {esc(meta_value(v))}" for k, v in meta), ""]
    out += [
        f"> **{report.headline_pair}**: {report.headline_text}.",
        "",
        f"- **Samples**: {num(h.docs_in)} documents read → {num(h.docs_out)} kept ({pct(h.samples_removed)} removed).",
        f"- **Volume**: {num(h.chars_in)} → {num(h.chars_out)} characters ({pct(h.volume_removed)} removed), "
        f"measured from the extracted text entering {code(h.volume_base_stage or '—')}.",
        f"- **Bytes**: text {si(h.text_bytes_in, 'B')} → {si(h.text_bytes_out, 'B')} "
        f"({pct(h.volume_removed_bytes)} removed); raw input {si(h.raw_bytes_in, 'B')} "
        f"({pct(h.raw_bytes_removed)} smaller than the inputs).",
        f"- **Accounting**: inputs {num(a.inputs)} = kept {num(a.kept)} + dropped {num(a.dropped)} "
        f"+ failed {num(a.failed)}: {'balanced ✅' if a.balanced else '**NOT BALANCED** ❌'}",
        "",
    ]
    if report.accounting_errors:
        out += [f"## ❌ Accounting errors ({len(report.accounting_errors)})", ""]
        out += [f"- {esc(e)}" for e in report.accounting_errors] + [""]
    nightly = nightly_lines(report.run)
    if nightly:
        out += ["## Nightly", "", "```", *nightly, "```", ""]

    out += ["## Per stage", ""]
    out += _table(
        ["#", "stage", "docs in", "docs out", "removed", "cum. samples", "chars in", "chars out", "cum. volume"],
        [
            [
                str(s.index),
                code(s.stage),
                num(s.docs_in),
                num(s.docs_out),
                pct(s.removed),
                pct(s.cum_samples_removed),
                num(s.chars_in),
                num(s.chars_out),
                pct(s.cum_volume_removed),
            ]
            for s in report.stages
        ],
        left=2,
    )
    out += ["", "## By source kind", ""]
    out += _table(
        ["kind", "docs in", "kept", "dropped", "failed", "removed", "chars base", "chars out", "volume removed"],
        [[esc(g.key), *kind_cells(g)] for g in report.source_kinds],
    )
    mix = report.language_mix
    out += [
        "",
        "## By language",
        "",
        f"Output language mix: ko:en = **{ratio(mix.ko_en_docs)}** by documents, "
        f"**{ratio(mix.ko_en_chars)}** by characters.",
        "",
    ]
    out += _table(
        [
            "language",
            "docs in",
            "kept",
            "dropped",
            "failed",
            "removed",
            "chars out",
            "% of kept docs",
            "% of kept chars",
        ],
        [[esc(g.key), *language_cells(g)] for g in report.languages],
    )
    if report.quality_scores:  # only when a quality model ran (reports/quality_scores.py)
        out += ["", "## Quality-model scores", "", "Kept and dropped documents per language.", ""]
        out += _table(
            quality_scores.HEADERS, [[esc(c) for c in quality_scores.cells(r)] for r in report.quality_scores], left=2
        )
    if report.page_types:  # kept web pages by detected type (reports/page_types.py)
        out += ["", "## By page type", "", "Kept web pages per detected page type.", ""]
        out += _table(page_types.HEADERS, [[esc(c) for c in page_types.cells(r)] for r in report.page_types], left=1)
    out += ["", "## By reason", ""]
    out += _table(
        ["stage", "reason", "outcome", "docs", "% of input", "chars", "% of volume"],
        [
            [
                code(r.stage),
                code(r.reason),
                r.outcome,
                num(r.docs),
                pct(r.share_of_input),
                num(r.chars),
                pct(r.share_of_volume),
            ]
            for r in report.reasons
        ],
        left=3,
    )
    if report.failures:
        out += ["", f"## Failed documents ({num(a.failed)})", ""]
        out += _table(
            ["stage", "kind", "docs"], [[code(f.stage), esc(f.source_kind), num(f.docs)] for f in report.failures], 2
        )
        if report.errors:
            out += ["", "Error types in the sampled rejects:", ""]
            out += _table(
                ["error", "first message", "count"],
                [[code(e.error_type), esc(e.example), num(e.count)] for e in report.errors],
                left=2,
            )
    if report.examples:
        out += ["", "## Examples of what each reason removed", ""]
        for g in report.examples:
            out += [f"### {code(g.stage)} / {code(g.reason)} ({g.outcome}, {docs(g.docs)})", ""]
            for e in g.examples:
                where = esc(e.url or e.source_uri)
                out.append(f"- {code(e.id)} {esc(e.language)} {esc(e.source_kind)} {where}".rstrip())
                if e.error:
                    out.append(f"  - error: {esc(e.error)}")
                if e.excerpt:
                    out.append(f"  - excerpt: {esc(e.excerpt)}")
            out.append("")
    out += ["", "## Definitions", ""]
    out += [f"- {code(k)}: {esc(v)}" for k, v in report.definitions.items()]
    return "\n".join(out).rstrip() + "\n"
