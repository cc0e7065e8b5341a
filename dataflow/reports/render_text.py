"""Terminal rendering of a ``Report``: compact tables that fit in 100 columns.

Also home of the number formatting the other renderers share (percentages, counts, sizes), so a
figure reads the same in the terminal, in Markdown and in HTML. Column widths are measured in
display cells (Hangul and other East Asian wide characters take two), so Korean excerpts and
reasons do not break the alignment.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from dataflow.reports import page_types, quality_scores
from dataflow.reports.drift import nightly_lines
from dataflow.reports.model import GroupRow, Report, pct

WIDTH = 100  # columns the terminal report must fit: readable in a split pane or an 100-col CI log


def num(n: int | None) -> str:
    """12345 -> '12,345'."""
    return "—" if n is None else f"{n:,}"


def docs(n: int) -> str:
    """1 -> '1 document', 1234 -> '1,234 documents'."""
    return f"{n:,} document{'' if n == 1 else 's'}"


def si(n: int | None, unit: str = "") -> str:
    """Compact decimal size: 1234567 -> '1.23M'; with unit 'B' -> '1.23 MB'."""
    if n is None:
        return "—"
    sep = " " if unit else ""
    for factor, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.2f}{sep}{suffix}{unit}"
    return f"{n}{sep}{unit}"


def ratio(x: float | None) -> str:
    """ko:en ratio 9.04 -> '9.0:1'."""
    return "—" if x is None else f"{x:.1f}:1"


def kind_cells(g: GroupRow, count: Callable[[int | None], str] = num) -> list[str]:
    """The numeric cells of a by-source-kind row, shared by every renderer (``count`` formats counts)."""
    return [
        num(g.docs_in), num(g.kept), num(g.dropped), num(g.failed), pct(g.samples_removed),
        count(g.chars_base), count(g.chars_out), pct(g.volume_removed),
    ]  # fmt: skip


def language_cells(g: GroupRow, count: Callable[[int | None], str] = num) -> list[str]:
    """The numeric cells of a by-language row, shared by every renderer."""
    return [
        num(g.docs_in), num(g.kept), num(g.dropped), num(g.failed), pct(g.samples_removed),
        count(g.chars_out), pct(g.kept_docs_share, 1), pct(g.kept_chars_share, 1),
    ]  # fmt: skip


def meta_value(value: object) -> str:
    """Run metadata for display: nested dicts and lists as 'k: v, k: v' rather than Python reprs."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {meta_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(meta_value(v) for v in value)
    return str(value)


def cells(text: str) -> int:
    """Terminal display width: East Asian wide and fullwidth characters take two cells."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


def fit(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` display cells, ending in '…' when cut."""
    if cells(text) <= width:
        return text
    out, used = [], 0
    for c in text:
        w = cells(c)
        if used + w > width - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - cells(text))
    return gap + text if right else text + gap


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None, width: int = WIDTH) -> str:
    """A plain aligned table; the widest left-aligned column is cut to make the whole fit ``width``."""
    right = right if right is not None else set(range(1, len(headers)))
    widths = [max([cells(h)] + [cells(r[i]) for r in rows]) for i, h in enumerate(headers)]
    overflow = sum(widths) + 2 * (len(widths) - 1) - width
    if overflow > 0:
        left = [i for i in range(len(headers)) if i not in right]
        if left:
            i = max(left, key=lambda i: widths[i])
            widths[i] = max(6, widths[i] - overflow)
    lines = []
    for r in [headers] + rows:
        lines.append("  ".join(_pad(fit(c, widths[i]), widths[i], i in right) for i, c in enumerate(r)).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _run_lines(report: Report) -> list[str]:
    run = report.run
    keys = ("snapshot_id", "committed_at", "config_hash", "code_version", "engine", "tag", "inputs", "files")
    shown = [k for k in keys if run.get(k) not in (None, "")]
    parts = [f"{k.replace('_id', '').replace('_', ' ')} {meta_value(run[k])}" for k in shown]
    lines = [f"FILTERING REPORT  run {run.get('run_id', '?')}"]
    line = ""
    for p in parts:  # wrap the metadata to the terminal width
        if line and len(line) + 3 + len(p) > WIDTH:
            lines.append(line)
            line = ""
        line = f"{line} · {p}" if line else p
    if line:
        lines.append(line)
    return lines


def headline_lines(report: Report) -> list[str]:
    h, a = report.headline, report.accounting
    return [
        f"HEADLINE    {report.headline_pair}",
        f"  samples   {num(h.docs_in)} documents read -> {num(h.docs_out)} kept ({pct(h.samples_removed)} removed)",
        f"  volume    {si(h.chars_in)} -> {si(h.chars_out)} characters of text ({pct(h.volume_removed)} removed; "
        f"base: text entering '{h.volume_base_stage or '—'}')",
        f"  bytes     text {si(h.text_bytes_in, 'B')} -> {si(h.text_bytes_out, 'B')} "
        f"({pct(h.volume_removed_bytes)} removed); raw input {si(h.raw_bytes_in, 'B')} "
        f"({pct(h.raw_bytes_removed)} smaller)",
        f"ACCOUNTING  inputs {num(a.inputs)} = kept {num(a.kept)} + dropped {num(a.dropped)} + failed "
        f"{num(a.failed)}  {'[balanced]' if a.balanced else '[NOT BALANCED]'}",
    ]


def render_text(report: Report) -> str:
    """The whole report as a terminal-friendly string (no colour codes, so it also suits CI logs)."""
    out = _run_lines(report) + [""] + headline_lines(report) + nightly_lines(report.run)
    if report.accounting_errors:
        out += ["", f"!!! ACCOUNTING ERRORS ({len(report.accounting_errors)}): the numbers below do not add up !!!"]
        out += [f"  - {fit(e, WIDTH - 4)}" for e in report.accounting_errors]

    out += ["", "STAGES (removed: of the stage's input; cum: of documents read / of text at the volume base)"]
    out.append(
        table(
            ["#", "stage", "docs in", "docs out", "removed", "cum docs", "chars in", "chars out", "cum vol"],
            [
                [
                    str(s.index),
                    s.stage,
                    num(s.docs_in),
                    num(s.docs_out),
                    pct(s.removed),
                    pct(s.cum_samples_removed),
                    si(s.chars_in),
                    si(s.chars_out),
                    pct(s.cum_volume_removed),
                ]
                for s in report.stages
            ],
            right={0, 2, 3, 4, 5, 6, 7, 8},
        )
    )
    out += ["", "BY SOURCE KIND"]
    out.append(
        table(
            ["kind", "docs in", "kept", "dropped", "failed", "removed", "chars base", "chars out", "vol removed"],
            [[g.key, *kind_cells(g, si)] for g in report.source_kinds],
        )
    )
    mix = report.language_mix
    out += [
        "",
        f"BY LANGUAGE  output ko:en = {ratio(mix.ko_en_docs)} by documents, {ratio(mix.ko_en_chars)} by characters",
    ]
    out.append(
        table(
            ["lang", "docs in", "kept", "dropped", "failed", "removed", "chars out", "% kept docs", "% kept chars"],
            [[g.key, *language_cells(g, si)] for g in report.languages],
        )
    )
    if report.quality_scores:  # only when a quality model ran (reports/quality_scores.py)
        out += ["", "QUALITY-MODEL SCORES (kept vs dropped, per language)"]
        out.append(
            table(
                quality_scores.HEADERS, [quality_scores.cells(r) for r in report.quality_scores], right={2, 3, 4, 5, 6}
            )
        )
    if report.page_types:  # kept web pages by detected type (reports/page_types.py)
        out += ["", "BY PAGE TYPE (kept web pages)"]
        rows = [page_types.cells(r) for r in report.page_types]
        out.append(table(page_types.HEADERS, rows, right={1, 2, 3, 4}))
    out += ["", "BY REASON (share: of documents read / of text at the volume base)"]
    out.append(
        table(
            ["stage", "reason", "outcome", "docs", "% input", "chars", "% volume"],
            [
                [r.stage, r.reason, r.outcome, num(r.docs), pct(r.share_of_input), si(r.chars), pct(r.share_of_volume)]
                for r in report.reasons
            ],
            right={3, 4, 5, 6},
        )
    )
    if report.failures:
        out += ["", f"FAILED DOCUMENTS ({num(report.accounting.failed)})"]
        out.append(table(["stage", "kind", "docs"], [[f.stage, f.source_kind, num(f.docs)] for f in report.failures]))
        if report.errors:
            out += ["", "ERRORS (in the sampled rejects)"]
            out.append(
                table(
                    ["error", "count", "first message"],
                    [[e.error_type, num(e.count), e.example] for e in report.errors],
                    right={1},
                )
            )
    if report.examples:
        out += ["", "EXAMPLES (what each reason removed)"]
        for g in report.examples:
            out.append(f"[{g.stage} / {g.reason}] {g.outcome}, {docs(g.docs)}")
            for e in g.examples:
                meta = f"{e.id[:8]} {e.language} {e.source_kind}"
                out.append("  " + fit(f"{meta}  {e.error or e.excerpt or e.url or e.source_uri}", WIDTH - 2))
    return "\n".join(out) + "\n"
