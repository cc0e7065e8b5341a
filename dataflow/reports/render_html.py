"""HTML rendering of a ``Report``: one self-contained page with charts, for people.

The page must open from a file on a machine with no network, years later: CSS is inline, charts
are inline SVG drawn here in Python, fonts are the system's, and there is no JavaScript, no image
and no external reference at all. Every string that comes from data (reasons, excerpts, URLs,
run metadata) goes through ``html.escape``; URLs are shown as text, never as links, so an audited
page cannot be made to fetch anything. Markup is kept XML-well-formed (void elements self-closed)
so simple parsers and the tests can check it.
"""

from __future__ import annotations

from html import escape

from dataflow.reports import page_types, quality_scores
from dataflow.reports.drift import alerts_of, nightly_lines
from dataflow.reports.model import ExampleGroup, GroupRow, Report, clean, pct
from dataflow.reports.render_text import docs, fit, kind_cells, language_cells, meta_value, num, ratio, si

# Okabe-Ito colour-blind-safe palette (https://jfly.uni-koeln.de/color/); ko and en keep fixed colours.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
DOCS_COLOUR, CHARS_COLOUR = "#0072B2", "#E69F00"
OUTCOME_COLOUR = {"kept": "#009E73", "dropped": "#E69F00", "failed": "#D55E00"}
TOP_REASONS = 12  # bars in the reasons chart; the table below lists them all

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --soft: #f6f8fa;
  --ok: #1a7f37; --bad: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans KR", "Noto Sans CJK KR", "Apple SD Gothic Neo",
    "Malgun Gothic", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "D2Coding", monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.meta { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 6px 0 18px; color: var(--muted); font-size: 13px; }
.meta b { color: var(--fg); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; background: var(--soft); }
.card .big { font-size: 30px; font-weight: 700; line-height: 1.2; font-variant-numeric: tabular-nums; }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .sub { font-size: 12.5px; color: var(--muted); margin-top: 4px; }
.card.docs .big { color: #0072B2; } .card.chars .big { color: #B87800; }
.card.ok { border-color: #8ddb9e; background: #eefbf1; } .card.ok .big { color: var(--ok); }
.card.bad { border-color: #ff8182; background: #ffebe9; } .card.bad .big { color: var(--bad); }
.sentence { font-size: 16px; margin: 14px 0 0; }
.alarm { border: 2px solid var(--bad); background: #ffebe9; border-radius: 10px; padding: 12px 16px; margin: 18px 0; }
.alarm h2 { color: var(--bad); border: 0; margin: 0 0 6px; padding: 0; }
.alarm li { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; vertical-align: bottom; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
table.wide { font-size: 12.5px; } table.wide th, table.wide td { padding: 4px 6px; }
tbody tr:hover { background: #f3f7fc; }
.chart { margin: 10px 0 4px; max-width: 100%; height: auto; }
.chart text { font-family: inherit; font-size: 12px; fill: var(--fg); }
.chart .axis { fill: var(--muted); font-size: 11px; }
.legend { display: flex; gap: 16px; flex-wrap: wrap; font-size: 12.5px; color: var(--muted); }
.legend span::before { content: ""; display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  margin-right: 6px; vertical-align: -1px; background: var(--c); }
details { border: 1px solid var(--line); border-radius: 8px; margin: 8px 0; padding: 6px 12px; }
summary { cursor: pointer; font-weight: 600; }
.ex { margin: 8px 0 10px; padding: 6px 10px; background: var(--soft); border-left: 3px solid var(--line);
  border-radius: 0 6px 6px 0; }
.ex .excerpt { white-space: pre-wrap; word-break: break-word; }
.ex .where { font-size: 12px; color: var(--muted); word-break: break-all; }
.ex .err { color: var(--bad); font-size: 12.5px; }
.pill { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 11.5px; font-weight: 600;
  color: #fff; background: var(--c); }
dl.defs { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 13px; }
dl.defs dt { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
dl.defs dd { margin: 0; color: var(--muted); }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
@media (max-width: 800px) { .cards { grid-template-columns: repeat(2, 1fr); } }
@media print { main { max-width: none; } details { break-inside: avoid; } }
"""


def _e(value: object) -> str:
    return escape(clean(str(value)), quote=True)


def _num_td(text: str) -> str:
    return f'<td class="n">{_e(text)}</td>'


def _table(headers: list[str], rows: list[list[str]], text_cols: int = 1, text_tail: int = 0) -> str:
    """Cells come rendered and escaped; the first ``text_cols`` are bare text (wrapped in <td> here), the
    others full ``<td>`` cells, numeric except the last ``text_tail`` (headers aligned to match)."""
    numeric = ' class="n"'
    n = len(headers)
    head = "".join(
        f"<th{numeric if text_cols <= i < n - text_tail else ''}>{_e(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>" + "".join(c if i >= text_cols else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows
    )
    cls = ' class="wide"' if n > 10 else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _colours(keys: list[str]) -> dict[str, str]:
    fixed = {"ko": PALETTE[0], "en": PALETTE[1], "und": PALETTE[7]}
    spare = iter(c for c in PALETTE[2:7] + PALETTE[:2] * 4)  # the palette repeats beyond eight languages
    return {k: fixed.get(k) or next(spare) for k in keys}


def _svg(width: int, height: int, title: str, body: str) -> str:
    return (
        f'<svg class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>{body}</svg>'
    )


def _bar_label(x: float, y: float, text: str, anchor: str = "start", cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}>{_e(text)}</text>'


def funnel_chart(report: Report) -> str:
    """Per stage: documents left (% of read) and characters left (% of the volume base) as paired bars."""
    stages = report.stages
    h = report.headline
    label_w, bar_w, value_w, row_h = 170, 520, 210, 36
    width, height = label_w + bar_w + value_w, 30 + row_h * len(stages) + 6
    parts = []
    for i, frac in enumerate((0, 0.25, 0.5, 0.75, 1.0)):  # light gridlines at quarters
        x = label_w + bar_w * frac
        parts.append(f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{height - 4}" stroke="#e6eaef" />')
        parts.append(_bar_label(x, 14, f"{int(frac * 100)}%", "middle" if i else "start", "axis"))
    for i, s in enumerate(stages):
        y = 30 + i * row_h
        parts.append(_bar_label(label_w - 10, y + 15, fit(f"{s.index} {s.stage}", 24), "end"))
        docs_left = s.docs_out / h.docs_in if h.docs_in else 0.0
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{max(bar_w * docs_left, 1):.1f}" height="13" rx="2" '
            f'fill="{DOCS_COLOUR}"><title>{_e(f"{s.stage}: {num(s.docs_out)} documents out")}</title></rect>'
        )
        parts.append(
            _bar_label(label_w + bar_w * docs_left + 6, y + 14, f"{num(s.docs_out)} docs ({pct(docs_left, 1)})")
        )
        if s.cum_volume_removed is not None:
            chars_left = 1.0 - s.cum_volume_removed
            parts.append(
                f'<rect x="{label_w}" y="{y + 18}" width="{max(bar_w * min(chars_left, 1.0), 1):.1f}" height="13" '
                f'rx="2" fill="{CHARS_COLOUR}"><title>{_e(f"{s.stage}: {num(s.chars_out)} characters out")}'
                "</title></rect>"
            )
            x = label_w + bar_w * min(chars_left, 1.0) + 6
            parts.append(_bar_label(x, y + 29, f"{si(s.chars_out)} chars ({pct(chars_left, 1)})"))
        else:
            parts.append(_bar_label(label_w + 4, y + 29, "raw input: no text yet", cls="axis"))
    legend = (
        f'<div class="legend"><span style="--c:{DOCS_COLOUR}">documents left, % of documents read</span>'
        f'<span style="--c:{CHARS_COLOUR}">characters left, % of extracted text '
        f"(entering {_e(h.volume_base_stage or '—')})</span></div>"
    )
    return _svg(width, height, "Documents and characters left after each stage", "".join(parts)) + legend


def mix_chart(report: Report) -> str:
    """100%-stacked bars of the output's language mix, by documents and by characters."""
    mix = report.language_mix
    if not mix.languages:
        return '<p class="muted">No documents were kept, so there is no output language mix.</p>'
    colours = _colours(mix.languages)
    label_w, bar_w, row_h = 110, 760, 40
    width, height = label_w + bar_w + 10, 2 * row_h + 4
    parts = []
    for row, (name, shares) in enumerate((("documents", mix.docs_share), ("characters", mix.chars_share))):
        y = 4 + row * row_h
        parts.append(_bar_label(label_w - 10, y + 21, name, "end"))
        x = float(label_w)
        for lang, share in zip(mix.languages, shares, strict=True):
            w = bar_w * share
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="30" fill="{colours[lang]}" stroke="#fff">'
                f"<title>{_e(f'{lang}: {pct(share, 1)} of kept {name}')}</title></rect>"
            )
            if w >= 64:  # room for "ko 90.1%" inside the segment
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + 20}" text-anchor="middle" fill="#fff" '
                    f'style="fill:#fff;font-weight:600">{_e(f"{lang} {pct(share, 1)}")}</text>'
                )
            x += w
    legend = "".join(
        f'<span style="--c:{colours[lang]}">{_e(lang)}: {pct(d, 1)} of documents, {pct(c, 1)} of characters</span>'
        for lang, d, c in zip(mix.languages, mix.docs_share, mix.chars_share, strict=True)
    )
    return _svg(width, height, "Language mix of the output", "".join(parts)) + f'<div class="legend">{legend}</div>'


def outcome_chart(groups: list[GroupRow], title: str) -> str:
    """Per group, a 100%-stacked bar of kept / dropped / failed inputs."""
    if not groups:
        return ""
    label_w, bar_w, value_w, row_h = 110, 560, 200, 26
    width, height = label_w + bar_w + value_w, row_h * len(groups) + 4
    parts = []
    for i, g in enumerate(groups):
        y = 2 + i * row_h
        parts.append(_bar_label(label_w - 10, y + 15, fit(g.key, 14), "end"))
        x = float(label_w)
        for outcome, n in (("kept", g.kept), ("dropped", g.dropped), ("failed", g.failed)):
            w = bar_w * n / g.docs_in if g.docs_in else 0.0
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="20" fill="{OUTCOME_COLOUR[outcome]}">'
                    f"<title>{_e(f'{g.key}: {num(n)} {outcome}')}</title></rect>"
                )
            x += w
        parts.append(
            _bar_label(label_w + bar_w + 8, y + 15, f"{num(g.docs_in)} in, {pct(g.samples_removed, 1)} removed")
        )
    legend = "".join(f'<span style="--c:{c}">{o}</span>' for o, c in OUTCOME_COLOUR.items())
    return _svg(width, height, title, "".join(parts)) + f'<div class="legend">{legend}</div>'


def reasons_chart(report: Report) -> str:
    """Horizontal bars of the reasons that removed the most documents."""
    top = sorted(report.reasons, key=lambda r: (-r.docs, r.stage_index, r.reason))[:TOP_REASONS]
    if not top:
        return '<p class="muted">Nothing was removed.</p>'
    label_w, bar_w, value_w, row_h = 290, 470, 150, 24
    width, height = label_w + bar_w + value_w, row_h * len(top) + 4
    peak = max(r.docs for r in top) or 1
    parts = []
    for i, r in enumerate(top):
        y = 2 + i * row_h
        parts.append(_bar_label(label_w - 10, y + 14, fit(f"{r.stage} · {r.reason}", 44), "end"))
        w = max(bar_w * r.docs / peak, 1)
        parts.append(
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="16" rx="2" '
            f'fill="{OUTCOME_COLOUR.get(r.outcome, "#999999")}"><title>{_e(f"{r.reason}: {num(r.docs)} documents")}'
            "</title></rect>"
        )
        parts.append(_bar_label(label_w + w + 6, y + 14, f"{num(r.docs)} ({pct(r.share_of_input, 1)} of input)"))
    return _svg(width, height, "Reasons that removed the most documents", "".join(parts))


def _examples(groups: list[ExampleGroup]) -> str:
    out = []
    for g in groups:
        c = OUTCOME_COLOUR.get(g.outcome, "#999999")
        items = []
        for e in g.examples:
            where = " · ".join(_e(x) for x in (e.url, e.source_uri) if x)
            err = f'<div class="err mono">{_e(e.error)}</div>' if e.error else ""
            excerpt = f'<div class="excerpt">{_e(e.excerpt)}</div>' if e.excerpt else ""
            items.append(
                f'<div class="ex"><div class="where"><code>{_e(e.id)}</code> · {_e(e.language)} · '
                f"{_e(e.source_kind)}{' · ' + where if where else ''}</div>{err}{excerpt}</div>"
            )
        out.append(
            f'<details open="open"><summary><code>{_e(g.stage)}</code> / <code>{_e(g.reason)}</code> '
            f'<span class="pill" style="--c:{c}">{_e(g.outcome)}</span> '
            f'<span class="muted">{_e(docs(g.docs))}, {len(g.examples)} shown</span></summary>'
            f"{''.join(items)}</details>"
        )
    return "".join(out)


def _cards(report: Report) -> str:
    h, a = report.headline, report.accounting
    ok = "ok" if a.balanced and not report.accounting_errors else "bad"
    verdict = "NOT BALANCED" if not a.balanced else "balanced" if ok == "ok" else "flow errors"
    return (
        '<div class="cards">'
        f'<div class="card docs"><div class="label">Samples removed</div><div class="big">{_e(pct(h.samples_removed))}'
        f'</div><div class="sub">{_e(num(h.docs_in))} documents read → {_e(num(h.docs_out))} kept</div></div>'
        f'<div class="card chars"><div class="label">Text volume removed</div><div class="big">'
        f'{_e(pct(h.volume_removed))}</div><div class="sub">{_e(si(h.chars_in))} → {_e(si(h.chars_out))} characters'
        f" of extracted text</div></div>"
        f'<div class="card"><div class="label">Bytes</div><div class="big">{_e(pct(h.volume_removed_bytes))}</div>'
        f'<div class="sub">text {_e(si(h.text_bytes_in, "B"))} → {_e(si(h.text_bytes_out, "B"))}; raw input '
        f"{_e(si(h.raw_bytes_in, 'B'))} ({_e(pct(h.raw_bytes_removed, 1))} smaller)</div></div>"
        f'<div class="card {ok}"><div class="label">Accounting</div><div class="big">{_e(verdict)}</div>'
        f'<div class="sub">inputs {_e(num(a.inputs))} = kept {_e(num(a.kept))} + dropped {_e(num(a.dropped))} '
        f"+ failed {_e(num(a.failed))}</div></div></div>"
    )


def render_html(report: Report) -> str:
    run, a = report.run, report.accounting
    run_id = run.get("run_id", "?")
    meta = "".join(
        f"<span><b>{_e(k.replace('_', ' '))}</b> {_e(meta_value(v))}</span>"
        for k, v in sorted(run.items())
        if k != "run_id" and v not in (None, "", [], {})
    )
    body = [
        f'<h1>Filtering report <span class="muted">· run</span> <code>{_e(run_id)}</code></h1>',
        f'<div class="meta">{meta}</div>',
        _cards(report),
        f'<p class="sentence"><b>{_e(report.headline_pair)}</b>: {_e(report.headline_text)}.</p>',
    ]
    if report.accounting_errors:
        items = "".join(f"<li>{_e(e)}</li>" for e in report.accounting_errors)
        body.append(
            f'<div class="alarm"><h2>Accounting errors ({len(report.accounting_errors)})</h2>'
            f"<p>The stats do not add up, so the figures on this page are not trustworthy.</p><ul>{items}</ul></div>"
        )
    nightly = nightly_lines(run)
    if nightly:
        drift = " alarm" if alerts_of(run) else ""
        body.append(f'<div class="nightly{drift}"><h2>Nightly</h2><pre>{_e(chr(10).join(nightly))}</pre></div>')
    stage_rows = [
        [
            _e(s.index),
            f"<code>{_e(s.stage)}</code>",
            *(
                _num_td(x)
                for x in (
                    num(s.docs_in),
                    num(s.docs_out),
                    num(s.docs_dropped),
                    num(s.docs_failed),
                    pct(s.removed),
                    pct(s.cum_samples_removed),
                    num(s.chars_in),
                    num(s.chars_out),
                    num(s.chars_dropped),
                    num(s.chars_edited),
                    pct(s.cum_volume_removed),
                )
            ),
        ]
        for s in report.stages
    ]
    body += [
        "<h2>Per stage</h2>",
        funnel_chart(report),
        _table(
            [
                "#",
                "stage",
                "docs in",
                "docs out",
                "dropped",
                "failed",
                "removed",
                "cum. samples",
                "chars in",
                "chars out",
                "chars in removed docs",
                "chars cut from kept docs",
                "cum. volume",
            ],
            stage_rows,
            text_cols=2,
        ),
    ]
    mix = report.language_mix
    lang_rows = [
        [
            f"<code>{_e(g.key)}</code>",
            *map(_num_td, language_cells(g)),
        ]
        for g in report.languages
    ]
    body += [
        "<h2>Language mix of the output</h2>",
        f"<p>ko:en = <b>{_e(ratio(mix.ko_en_docs))}</b> by documents, <b>{_e(ratio(mix.ko_en_chars))}</b> by "
        'characters. <span class="muted">“und”: removed before language ID.</span></p>',
        mix_chart(report),
        _table(
            ["language", "docs in", "kept", "dropped", "failed", "removed", "chars out", "% kept docs", "% kept chars"],
            lang_rows,
        ),
    ]
    kind_rows = [
        [
            _e(g.key),
            *map(_num_td, kind_cells(g)),
        ]
        for g in report.source_kinds
    ]
    body += [
        "<h2>By source kind</h2>",
        outcome_chart(report.source_kinds, "Outcome of the inputs per source kind"),
        _table(
            ["kind", "docs in", "kept", "dropped", "failed", "removed", "chars base", "chars out", "volume removed"],
            kind_rows,
        ),
    ]
    if report.quality_scores:  # only when a quality model ran (reports/quality_scores.py)
        score_rows = [
            [_e(c[0]), _e(c[1]), *map(_num_td, c[2:7]), f'<td class="mono">{_e(c[7])}</td>']
            for c in map(quality_scores.cells, report.quality_scores)
        ]
        body += [
            "<h2>Quality-model scores, kept vs dropped</h2>",
            _table(quality_scores.HEADERS, score_rows, 2, text_tail=1),
        ]
    if report.page_types:  # kept web pages by detected type (reports/page_types.py)
        type_rows = [[_e(c[0]), *map(_num_td, c[1:])] for c in map(page_types.cells, report.page_types)]
        body += ["<h2>By page type (kept web pages)</h2>", _table(page_types.HEADERS, type_rows, 1)]
    reason_rows = [
        [
            f"<code>{_e(r.stage)}</code>",
            f"<code>{_e(r.reason)}</code>",
            f'<span class="pill" style="--c:{OUTCOME_COLOUR.get(r.outcome, "#999999")}">{_e(r.outcome)}</span>',
            *(_num_td(x) for x in (num(r.docs), pct(r.share_of_input), num(r.chars), pct(r.share_of_volume))),
        ]
        for r in report.reasons
    ]
    body += [
        "<h2>By reason</h2>",
        reasons_chart(report),
        _table(["stage", "reason", "outcome", "docs", "% of input", "chars", "% of volume"], reason_rows, 3),
    ]
    if report.failures:
        body += [
            f"<h2>Failed documents ({_e(num(a.failed))})</h2>",
            _table(
                ["stage", "source kind", "docs"],
                [[f"<code>{_e(f.stage)}</code>", _e(f.source_kind), _num_td(num(f.docs))] for f in report.failures],
                2,
            ),
        ]
        if report.errors:
            body += [
                "<h3>Error types in the sampled rejects</h3>",
                _table(
                    ["error", "count", "first message"],
                    [
                        [
                            f"<code>{_e(e.error_type)}</code>",
                            _num_td(num(e.count)),
                            f'<td class="mono">{_e(e.example)}</td>',
                        ]
                        for e in report.errors
                    ],
                    text_tail=1,
                ),
            ]
    if report.examples:
        body += ["<h2>Examples of what each reason removed</h2>", _examples(report.examples)]
    defs = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in report.definitions.items())
    body += [
        "<h2>Definitions</h2>",
        f'<dl class="defs">{defs}</dl>',
        f"<footer>Report format {_e(report.report_version)} · built from the run's stage_stats and rejects tables · "
        "self-contained: no scripts, fonts or images are loaded.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8" />'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />'
        f"<title>Filtering report · {_e(run_id)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )
