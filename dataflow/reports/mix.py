"""The report of a training mix, from its snapshot summary alone (``dataflow report --mix REF``).

A mix's summary (written by ``dataflow.mixes.build``) holds the recipe, the seed, the source
snapshot ids, the tokenizer and one record per cell (language x source kind): what the sources
held, the target and what the mix got, in documents, bytes, characters and tokens. This module
turns it into a ``MixReport`` (pure) and renders it as text, Markdown, JSON or one HTML page:
target vs achieved token shares per language and per cell, and how many documents were repeated
or left out (with the reasons).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from typing import Any

from dataflow.reports.model import pct
from dataflow.reports.render_text import num, si, table
from schemas.mixes import REST

MIX_REPORT_VERSION = "1"
WIDE = 120  # columns of the mix tables: twelve numeric columns do not fit the corpus report's 100


@dataclass(frozen=True)
class ShareRow:
    """A language or a cell: its token share, target vs achieved, and its documents."""

    key: str
    target_share: float
    achieved_share: float | None
    error_pp: float | None  # achieved - target, in percentage points
    docs: int  # source documents
    tokens: int  # their tokens
    bytes: int
    chars: int
    target_tokens: int
    mix_tokens: int
    mix_bytes: int
    mix_chars: int
    mix_rows: int
    docs_used: int
    docs_repeated: int
    docs_left_out: int
    max_repeats: int


@dataclass(frozen=True)
class MixReport:
    report_version: str
    mix: dict[str, Any]  # id, name, snapshot id, tags, seed, sampling, tokenizer, sources
    total_target_tokens: int
    total_tokens: int
    rows: int
    languages: list[ShareRow]
    cells: list[ShareRow]
    left_out: dict[str, int]  # reason -> source documents not in the mix

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row(key: str, cells: list[dict[str, Any]], total: int) -> ShareRow:
    def s(field: str) -> int:
        return sum(int(c[field]) for c in cells)

    target = sum(float(c["target_share"]) for c in cells)
    achieved = s("mix_tokens") / total if total else None
    return ShareRow(
        key=key,
        target_share=target,
        achieved_share=achieved,
        error_pp=None if achieved is None else (achieved - target) * 100,
        docs=s("docs"), tokens=s("tokens"), bytes=s("bytes"), chars=s("chars"),
        target_tokens=s("target_tokens"), mix_tokens=s("mix_tokens"), mix_bytes=s("mix_bytes"),
        mix_chars=s("mix_chars"), mix_rows=s("mix_rows"), docs_used=s("docs_used"),
        docs_repeated=s("docs_repeated"), docs_left_out=s("docs_left_out"),
        max_repeats=max((int(c["max_repeats"]) for c in cells), default=0),
    )  # fmt: skip


def _cell_key(cell: dict[str, Any], only: bool) -> str:
    if cell["source_kind"] != REST:
        return f"{cell['language']}/{cell['source_kind']}"
    kinds = ", ".join(cell.get("kinds") or []) or "none"
    return cell["language"] if only else f"{cell['language']}/other ({kinds})"


def build_mix_report(summary: dict[str, str], snapshot_id: int, tags: list[str] | None = None) -> MixReport:
    """A ``MixReport`` from a mix snapshot's summary properties."""
    cells = json.loads(summary["dataflow.mix_cells"])
    recipe = json.loads(summary.get("dataflow.mix_recipe", "{}"))
    total = sum(int(c["mix_tokens"]) for c in cells)
    languages = sorted({c["language"] for c in cells}, key=lambda k: -sum(c["target_share"] for c in cells
                                                                           if c["language"] == k))  # fmt: skip
    lang_rows = [_row(lang, [c for c in cells if c["language"] == lang], total) for lang in languages]
    cell_rows = []
    for lang in languages:
        mine = [c for c in cells if c["language"] == lang]
        cell_rows += [_row(_cell_key(c, len(mine) == 1), [c], total) for c in mine]
    return MixReport(
        report_version=MIX_REPORT_VERSION,
        mix=dict(
            mix_id=summary.get("dataflow.mix_id", ""),
            name=summary.get("dataflow.mix_name", ""),
            snapshot_id=snapshot_id,
            tags=list(tags or []),
            seed=recipe.get("seed"),
            sampling=recipe.get("sampling"),
            max_repeats=recipe.get("max_repeats"),
            token_budget=recipe.get("token_budget"),
            rehydration=bool((recipe.get("rehydration") or {}).get("enabled")),
            tokenizer=summary.get("dataflow.mix_tokenizer", ""),
            tokenizer_fingerprint=summary.get("dataflow.mix_tokenizer_fingerprint", ""),
            sources=json.loads(summary.get("dataflow.mix_sources", "[]")),
        ),
        total_target_tokens=int(summary.get("dataflow.mix_target_tokens", 0)),
        total_tokens=total,
        rows=sum(int(c["mix_rows"]) for c in cells),
        languages=lang_rows,
        cells=cell_rows,
        left_out={k: int(v) for k, v in json.loads(summary.get("dataflow.mix_left_out", "{}")).items() if int(v)},
    )


def _pp(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f} pp"


HEADERS = ["", "target", "achieved", "error", "docs", "tokens", "bytes", "chars", "mix tokens",
           "mix rows", "repeated", "left out"]  # fmt: skip


def _cells(r: ShareRow, count=si) -> list[str]:
    return [r.key, pct(r.target_share), pct(r.achieved_share), _pp(r.error_pp), num(r.docs), count(r.tokens),
            count(r.bytes), count(r.chars), count(r.mix_tokens), num(r.mix_rows), num(r.docs_repeated),
            num(r.docs_left_out)]  # fmt: skip


def _head_lines(rep: MixReport) -> list[str]:
    m = rep.mix
    sources = ", ".join(f"{s['ref']} = {s['snapshot_id']}" for s in m["sources"])
    return [
        f"MIX REPORT  {m['name']}  ({m['mix_id']}, snapshot {m['snapshot_id']})",
        f"seed {m['seed']} · {m['sampling']} (max repeats {m['max_repeats']}) · rehydration "
        f"{'on' if m['rehydration'] else 'off'} · tokenizer {m['tokenizer']} ({m['tokenizer_fingerprint'][:12]})",
        f"sources: {sources}",
        f"TOKENS      {num(rep.total_tokens)} in {num(rep.rows)} rows (target {num(rep.total_target_tokens)})",
    ]


def render_mix_text(rep: MixReport) -> str:
    out = _head_lines(rep) + ["", "BY LANGUAGE (token shares)"]
    out.append(table(["language", *HEADERS[1:]], [_cells(r) for r in rep.languages], width=WIDE))
    out += ["", "BY CELL (language / source kind)"]
    out.append(table(["cell", *HEADERS[1:]], [_cells(r) for r in rep.cells], width=WIDE))
    if rep.left_out:
        out += ["", "LEFT OUT (source documents with no row in the mix)"]
        out.append(table(["reason", "docs"], [[k, num(v)] for k, v in sorted(rep.left_out.items())]))
    return "\n".join(out) + "\n"


def _md_table(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def render_mix_markdown(rep: MixReport) -> str:
    head = _head_lines(rep)
    out = [f"# {head[0]}", "", *[f"- {line}" for line in head[1:]], "", "## By language (token shares)", ""]
    out += _md_table([_cells(r, num) for r in rep.languages])
    out += ["", "## By cell (language / source kind)", ""]
    out += _md_table([_cells(r, num) for r in rep.cells])
    if rep.left_out:
        out += ["", "## Left out", "", "| reason | docs |", "|---|---|"]
        out += [f"| {k} | {num(v)} |" for k, v in sorted(rep.left_out.items())]
    return "\n".join(out) + "\n"


def render_mix_json(rep: MixReport) -> str:
    return json.dumps(rep.to_dict(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _bar(target: float, achieved: float | None) -> str:
    """Inline SVG: target (outline) vs achieved (filled) share, 0..100 %."""
    a = 0.0 if achieved is None else achieved
    return (
        '<svg width="160" height="14" role="img" aria-label="share">'
        f'<rect x="0" y="2" width="{160 * a:.1f}" height="10" fill="#3b7dd8"/>'
        f'<rect x="0" y="1" width="{160 * target:.1f}" height="12" fill="none" stroke="#222"/></svg>'
    )


def render_mix_html(rep: MixReport) -> str:
    def rows(items: list[ShareRow]) -> str:
        return "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r, num))
            + f"<td>{_bar(r.target_share, r.achieved_share)}</td></tr>"
            for r in items
        )  # fmt: skip

    head = "".join(f"<th>{html.escape(h)}</th>" for h in [*HEADERS, "target □ vs achieved ■"])
    meta = "".join(f"<p>{html.escape(line)}</p>" for line in _head_lines(rep)[1:])
    left = "".join(f"<tr><td>{html.escape(k)}</td><td>{num(v)}</td></tr>" for k, v in sorted(rep.left_out.items()))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        + html.escape(_head_lines(rep)[0])
        + "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}</style>"
        f"</head><body><h1>{html.escape(_head_lines(rep)[0])}</h1>{meta}"
        f"<h2>By language (token shares)</h2><table><tr>{head}</tr>{rows(rep.languages)}</table>"
        f"<h2>By cell</h2><table><tr>{head}</tr>{rows(rep.cells)}</table>"
        + (f"<h2>Left out</h2><table><tr><th>reason</th><th>docs</th></tr>{left}</table>" if left else "")
        + "</body></html>\n"
    )


MIX_RENDERERS = {
    "text": render_mix_text,
    "markdown": render_mix_markdown,
    "json": render_mix_json,
    "html": render_mix_html,
}
