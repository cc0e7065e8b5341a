"""The filtering-reduction report as data: pure aggregation of ``stage_stats`` rows.

A report answers the auditor's questions about one run from the stats table alone (never from
logs): how many documents and how much text each stage removed, cumulatively and per source kind,
language and reason, what the output's language mix is, which documents failed and why, and a few
examples of what each reason removed. The headline pair mirrors the recipe's
"filtering removed 83.59% of samples but only 40.13% of text volume":

* samples removed = 1 - docs_out(final stage) / docs_in(stage 0, reading the inputs);
* volume removed  = 1 - chars_out(final stage) / chars_in(volume base stage), where the volume base
  is the first stage that sees extracted text (the stage right after ``extract``; without an
  ``extract`` stage, the first stage with chars_in > 0). Raw input bytes are not text, so they are
  not the base; the UTF-8 bytes variant uses the same base, and raw bytes in -> clean bytes out is
  reported beside it.

Every input must be accounted for: inputs = kept + dropped + failed, and
docs_out of stage k = docs_in of stage k+1. ``build_report`` checks both and lists every violation
in ``Report.accounting_errors`` so renderers can show them loudly instead of a wrong headline.

Documents dropped or failed carry the source kind and language they had at that moment, so "by
source kind" and "by language" attribute each input to its terminal row (the final stage's kept
rows, or the row of the stage that removed it); those per-group inputs therefore add up to the run's
inputs. Language is '' before language ID, shown as "und" (undetermined).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from schemas import DROPPED, FAILED, KEPT, OUTCOMES, STAT_COUNTERS

REPORT_VERSION = "1"  # bump when a field of the JSON form changes meaning or is removed
SOURCE_KINDS = ("web", "paper", "patent", "report", "text")  # canonical order; others follow alphabetically
UNDETERMINED = "und"  # ISO 639-3 code for "undetermined": documents removed before language ID
EXAMPLE_CHARS = 240  # excerpt length kept per example: one screen line or two, enough to judge a reason
MAX_EXAMPLES = 3  # per (stage, reason): the lead samples a few; more only lengthens the page


DEFINITIONS = {
    "samples_removed": "1 - documents kept by the final stage / documents read (stage 0).",
    "volume_removed": "1 - characters kept by the final stage / characters of extracted text, measured as "
    "they enter the volume base stage (the first stage after extraction). Counts both dropped "
    "documents and text cut from kept ones (boilerplate lines, normalization, PII placeholders).",
    "volume_removed_bytes": "The same as volume_removed with UTF-8 bytes of the text instead of characters.",
    "raw_bytes_removed": "1 - UTF-8 bytes of kept text / raw input bytes read (markup, headers and compression "
    "overhead included): how much smaller the clean corpus is than its inputs.",
    "stage.removed": "1 - docs_out / docs_in of that stage alone.",
    "stage.cum_samples_removed": "1 - docs_out of that stage / documents read.",
    "stage.cum_volume_removed": "1 - chars_out of that stage / characters at the volume base (null before it).",
    "group.docs_in": "Inputs attributed to the group by their terminal row (kept at the end, or the row that "
    "removed them); groups add up to the run's inputs.",
    "reason.share_of_input": "Documents removed for that reason / documents read.",
    "reason.share_of_volume": "Characters of the removed documents / characters at the volume base (null when "
    "the documents were removed before extraction).",
    "errors": "Error types counted over the sampled reject rows passed to the report, not over all failures.",
}


@dataclass(frozen=True)
class Headline:
    """The headline pair and its inputs."""

    docs_in: int
    docs_out: int
    samples_removed: float | None
    volume_base_stage: str | None
    chars_in: int
    chars_out: int
    volume_removed: float | None
    text_bytes_in: int
    text_bytes_out: int
    volume_removed_bytes: float | None
    raw_bytes_in: int
    raw_bytes_removed: float | None


@dataclass(frozen=True)
class Accounting:
    """inputs = kept + dropped + failed (documents), with the verdict."""

    inputs: int
    kept: int
    dropped: int
    failed: int
    balanced: bool


@dataclass(frozen=True)
class StageRow:
    index: int
    stage: str
    docs_in: int
    docs_out: int
    docs_dropped: int
    docs_failed: int
    removed: float | None
    cum_samples_removed: float | None
    bytes_in: int
    bytes_out: int
    chars_in: int
    chars_out: int
    chars_dropped: int  # characters of the documents this stage removed
    chars_edited: int | None  # chars cut from documents it kept (in - out of kept rows; < 0 = added); None before base
    volume_removed: float | None
    cum_volume_removed: float | None


@dataclass(frozen=True)
class GroupRow:
    """One source kind or language: its inputs, outcomes, kept volume and share of the output."""

    key: str
    docs_in: int
    kept: int
    dropped: int
    failed: int
    samples_removed: float | None
    chars_base: int | None  # characters at the volume base (None for languages: base precedes language ID)
    chars_out: int
    bytes_out: int
    volume_removed: float | None
    kept_docs_share: float | None
    kept_chars_share: float | None


@dataclass(frozen=True)
class ReasonRow:
    stage_index: int
    stage: str
    reason: str
    outcome: str
    docs: int
    bytes: int
    chars: int
    share_of_input: float | None
    share_of_volume: float | None


@dataclass(frozen=True)
class FailureRow:
    stage_index: int
    stage: str
    source_kind: str
    docs: int


@dataclass(frozen=True)
class ErrorRow:
    error_type: str
    count: int
    example: str


@dataclass(frozen=True)
class Example:
    id: str
    language: str
    source_kind: str
    url: str
    source_uri: str
    excerpt: str
    error: str


@dataclass(frozen=True)
class ExampleGroup:
    stage: str
    reason: str
    outcome: str
    docs: int  # documents removed for this (stage, reason) per the stats, not only those sampled
    examples: list[Example]


@dataclass(frozen=True)
class LanguageMix:
    """Share of kept documents and of kept characters per language, plus the ko:en ratio (recipe ~9:1)."""

    languages: list[str]
    docs_share: list[float]
    chars_share: list[float]
    ko_en_docs: float | None
    ko_en_chars: float | None


@dataclass(frozen=True)
class Report:
    report_version: str
    run: dict[str, Any]
    headline: Headline
    accounting: Accounting
    stages: list[StageRow]
    source_kinds: list[GroupRow]
    languages: list[GroupRow]
    language_mix: LanguageMix
    reasons: list[ReasonRow]
    failures: list[FailureRow]
    errors: list[ErrorRow]
    examples: list[ExampleGroup]
    accounting_errors: list[str]
    definitions: dict[str, str] = field(default_factory=lambda: dict(DEFINITIONS))
    # quality-model score distribution per language, kept vs dropped (reports/quality_scores.py); [] = no model ran
    quality_scores: list[Any] = field(default_factory=list)
    # kept web pages per detected page type (reports/page_types.py); [] = no typed web page in the run
    page_types: list[Any] = field(default_factory=list)

    @property
    def headline_text(self) -> str:
        """The recipe's sentence: "filtering removed 83.59% of samples but only 40.13% of text volume"."""
        h = self.headline
        but = h.samples_removed is not None and h.volume_removed is not None and h.volume_removed < h.samples_removed
        joint = "but only" if but else "and"
        return f"filtering removed {pct(h.samples_removed)} of samples {joint} {pct(h.volume_removed)} of text volume"

    @property
    def headline_pair(self) -> str:
        """The short form: "samples −83.59%, volume −40.13%"."""

        def minus(frac: float | None) -> str:
            return "n/a" if frac is None else f"−{pct(frac)}"

        return f"samples {minus(self.headline.samples_removed)}, volume {minus(self.headline.volume_removed)}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["quality_scores"]:  # the section exists only where a quality model ran
            del data["quality_scores"]
        if not data["page_types"]:  # and the page-type section only where web pages were typed
            del data["page_types"]
        return {**data, "headline_text": self.headline_text, "headline_pair": self.headline_pair}


def pct(frac: float | None, digits: int = 2) -> str:
    """0.83594 -> '83.59%'; None (undefined, e.g. 0/0) -> '—'."""
    return "—" if frac is None else f"{frac * 100:.{digits}f}%"


def _ratio_removed(out: int, into: int) -> float | None:
    return None if into <= 0 else 1.0 - out / into


def _share(part: int, whole: int) -> float | None:
    return None if whole <= 0 else part / whole


def _json_safe(value: Any) -> Any:
    """Run metadata may carry datetimes or tuples from Iceberg; the report must stay JSON-serialisable."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _sum(rows: Iterable[dict[str, Any]], counter: str) -> int:
    return sum(int(r[counter]) for r in rows)


def _kind_order(key: str) -> tuple[int, str]:
    return (SOURCE_KINDS.index(key), "") if key in SOURCE_KINDS else (len(SOURCE_KINDS), key)


def _check_rows(rows: list[dict[str, Any]]) -> list[str]:
    """Per-row contract of STAGE_STATS: kept rows pass everything on, removed rows pass nothing."""
    errors = []
    run_ids = sorted({str(r.get("run_id", "")) for r in rows})
    if len(run_ids) > 1:
        errors.append(f"stats rows mix {len(run_ids)} run ids: {', '.join(run_ids)}")
    names: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        names[int(r["stage_index"])].add(r["stage"])
        where = f"stage {r['stage_index']} {r['stage']} ({r['source_kind'] or '?'}, {r['language'] or UNDETERMINED})"
        if r["outcome"] not in OUTCOMES:
            errors.append(f"{where}: unknown outcome {r['outcome']!r}")
        elif r["outcome"] == KEPT and int(r["docs_out"]) != int(r["docs_in"]):
            errors.append(f"{where}: kept row has docs_in {r['docs_in']} but docs_out {r['docs_out']}")
        elif r["outcome"] != KEPT and any(int(r[c]) for c in ("docs_out", "bytes_out", "chars_out")):
            errors.append(f"{where}: {r['outcome']} row {r['reason']!r} passes documents or text on")
        if r["outcome"] != KEPT and not r["reason"]:
            errors.append(f"{where}: {r['outcome']} row without a reason")
        if any(int(r[c]) < 0 for c in STAT_COUNTERS):
            errors.append(f"{where}: negative counter")
    for index, stage_names in sorted(names.items()):
        if len(stage_names) > 1:
            errors.append(f"stage index {index} has several names: {', '.join(sorted(stage_names))}")
    return errors


def _check_flow(stages: list[StageRow]) -> list[str]:
    """docs/bytes/chars out of stage k must equal those in of the next stage: nothing may vanish between stages."""
    errors = []
    for prev, nxt in zip(stages, stages[1:], strict=False):
        if nxt.index != prev.index + 1 and prev.docs_out:
            errors.append(
                f"stage {prev.index} {prev.stage} passed {prev.docs_out:,} documents on but stage "
                f"{prev.index + 1} has no rows (next present: {nxt.index} {nxt.stage})"
            )
            continue
        for what in ("docs", "bytes", "chars"):
            out, into = getattr(prev, f"{what}_out"), getattr(nxt, f"{what}_in")
            if out != into:
                errors.append(
                    f"{what}_out of stage {prev.index} {prev.stage} = {out:,} but {what}_in of stage "
                    f"{nxt.index} {nxt.stage} = {into:,} (difference {out - into:+,})"
                )
    return errors


def _volume_base(stages: list[StageRow]) -> StageRow | None:
    """First stage that sees extracted text: the one after ``extract``, else the first with chars_in > 0."""
    for i, s in enumerate(stages):
        if s.stage == "extract":
            return stages[i + 1] if i + 1 < len(stages) else None
    return next((s for s in stages if s.chars_in > 0), None)


def _stage_rows(by_stage: dict[tuple[int, str], list[dict[str, Any]]]) -> list[StageRow]:
    rows = []
    docs_read = None
    for (index, name), group in sorted(by_stage.items()):
        kept = [r for r in group if r["outcome"] == KEPT]
        removed = [r for r in group if r["outcome"] != KEPT]
        docs_in, docs_out = _sum(group, "docs_in"), _sum(group, "docs_out")
        docs_read = docs_in if docs_read is None else docs_read
        rows.append(
            StageRow(
                index=index,
                stage=name,
                docs_in=docs_in,
                docs_out=docs_out,
                docs_dropped=_sum((r for r in removed if r["outcome"] == DROPPED), "docs_in"),
                docs_failed=_sum((r for r in removed if r["outcome"] == FAILED), "docs_in"),
                removed=_ratio_removed(docs_out, docs_in),
                cum_samples_removed=_ratio_removed(docs_out, docs_read),
                bytes_in=_sum(group, "bytes_in"),
                bytes_out=_sum(group, "bytes_out"),
                chars_in=_sum(group, "chars_in"),
                chars_out=_sum(group, "chars_out"),
                chars_dropped=_sum(removed, "chars_in"),
                chars_edited=_sum(kept, "chars_in") - _sum(kept, "chars_out"),
                volume_removed=_ratio_removed(_sum(group, "chars_out"), _sum(group, "chars_in")),
                cum_volume_removed=None,  # these two are filled once the volume base is known
            )
        )
    return rows


def _groups(
    terminal: list[dict[str, Any]],
    final_kept: list[dict[str, Any]],
    base_rows: list[dict[str, Any]] | None,
    key: str,
) -> list[GroupRow]:
    """Group terminal rows by ``key`` (source_kind or language); base_rows give per-group volume at the base."""
    label = (lambda v: v or UNDETERMINED) if key == "language" else (lambda v: v or "unknown")
    docs_in, outcome_docs = defaultdict(int), defaultdict(int)
    for r in terminal:
        k = label(r[key])
        n = int(r["docs_out"]) if r["outcome"] == KEPT else int(r["docs_in"])
        docs_in[k] += n
        outcome_docs[(k, r["outcome"])] += n
    chars_out, bytes_out = defaultdict(int), defaultdict(int)
    for r in final_kept:
        chars_out[label(r[key])] += int(r["chars_out"])
        bytes_out[label(r[key])] += int(r["bytes_out"])
    base = None
    if base_rows is not None:
        base = defaultdict(int)
        for r in base_rows:
            base[label(r[key])] += int(r["chars_in"])
    kept_total = sum(outcome_docs[(k, KEPT)] for k in docs_in)
    chars_total = sum(chars_out.values())
    order = _kind_order if key == "source_kind" else (lambda k: (k == UNDETERMINED, -outcome_docs[(k, KEPT)], k))
    rows = []
    for k in sorted(docs_in, key=order):
        kept = outcome_docs[(k, KEPT)]
        chars_base = None if base is None else base.get(k, 0)
        rows.append(
            GroupRow(
                key=k,
                docs_in=docs_in[k],
                kept=kept,
                dropped=outcome_docs[(k, DROPPED)],
                failed=outcome_docs[(k, FAILED)],
                samples_removed=_ratio_removed(kept, docs_in[k]),
                chars_base=chars_base,
                chars_out=chars_out.get(k, 0),
                bytes_out=bytes_out.get(k, 0),
                volume_removed=None if chars_base is None else _ratio_removed(chars_out.get(k, 0), chars_base),
                kept_docs_share=_share(kept, kept_total),
                kept_chars_share=_share(chars_out.get(k, 0), chars_total),
            )
        )
    return rows


def _language_mix(languages: list[GroupRow]) -> LanguageMix:
    kept = [g for g in languages if g.kept > 0]
    by = {g.key: g for g in kept}
    ko, en = by.get("ko"), by.get("en")
    return LanguageMix(
        languages=[g.key for g in kept],
        docs_share=[g.kept_docs_share or 0.0 for g in kept],
        chars_share=[g.kept_chars_share or 0.0 for g in kept],
        ko_en_docs=ko.kept / en.kept if ko and en else None,
        ko_en_chars=ko.chars_out / en.chars_out if ko and en and en.chars_out else None,
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0/C1 controls: invalid in XML, garble terminals


def clean(text: str) -> str:
    """Replace control characters (binary junk in excerpts) with U+FFFD so every renderer stays valid."""
    return _CONTROL.sub("\ufffd", text)


def _clip(text: str | None, limit: int = EXAMPLE_CHARS) -> str:
    """One line, at most ``limit`` characters, with an ellipsis when cut."""
    flat = re.sub(r"\s+", " ", clean(text or "")).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _error_rows(examples: list[dict[str, Any]]) -> list[ErrorRow]:
    counts: dict[str, int] = defaultdict(int)
    first: dict[str, str] = {}
    for e in examples:
        if e.get("outcome") != FAILED or not e.get("error"):
            continue
        error = str(e["error"])
        kind = error.split(":", 1)[0].strip() or "error"
        counts[kind] += 1
        first.setdefault(kind, _clip(error, 200))
    return [ErrorRow(k, n, first[k]) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _example_groups(examples: list[dict[str, Any]], reasons: list[ReasonRow], max_examples: int) -> list[ExampleGroup]:
    picked: dict[tuple[str, str, str], list[Example]] = defaultdict(list)
    for e in sorted(examples, key=lambda e: str(e.get("id", ""))):  # deterministic pick whatever the input order
        key = (str(e.get("stage", "")), str(e.get("reason", "")), str(e.get("outcome", DROPPED)))
        if len(picked[key]) < max_examples:
            picked[key].append(
                Example(
                    id=str(e.get("id", "")),
                    language=str(e.get("language") or UNDETERMINED),
                    source_kind=str(e.get("source_kind") or ""),
                    url=str(e.get("url") or ""),
                    source_uri=str(e.get("source_uri") or ""),
                    excerpt=_clip(e.get("excerpt")),
                    error=_clip(e.get("error"), 200),
                )
            )
    groups = []
    seen = set()
    for r in reasons:  # reasons' order: pipeline order, then most documents first
        key = (r.stage, r.reason, r.outcome)
        if key in picked and key not in seen:
            seen.add(key)
            groups.append(ExampleGroup(r.stage, r.reason, r.outcome, r.docs, picked[key]))
    for key in sorted(set(picked) - seen):  # examples whose reason has no stats row: still shown, docs unknown (0)
        groups.append(ExampleGroup(*key, 0, picked[key]))
    return groups


def build_report(
    stats_rows: list[dict[str, Any]],
    examples: list[dict[str, Any]],
    run: dict[str, Any],
    max_examples: int = MAX_EXAMPLES,
) -> Report:
    """Aggregate one run's ``stage_stats`` rows (and sampled ``rejects`` rows) into a ``Report``."""
    rows = [dict(r) for r in stats_rows]
    accounting_errors = _check_rows(rows)
    by_stage: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_stage[(int(r["stage_index"]), str(r["stage"]))].append(r)
    stages = _stage_rows(by_stage)
    accounting_errors += _check_flow(stages)

    first = stages[0] if stages else None
    last = stages[-1] if stages else None
    base = _volume_base(stages)
    stages = [_with_base(s, base) for s in stages]
    docs_read = first.docs_in if first else 0
    kept_docs = last.docs_out if last else 0
    final_kept = [r for r in by_stage.get((last.index, last.stage), []) if r["outcome"] == KEPT] if last else []
    headline = Headline(
        docs_in=docs_read,
        docs_out=kept_docs,
        samples_removed=_ratio_removed(kept_docs, docs_read),
        volume_base_stage=base.stage if base else None,
        chars_in=base.chars_in if base else 0,
        chars_out=last.chars_out if last else 0,
        volume_removed=_ratio_removed(last.chars_out, base.chars_in) if base and last else None,
        text_bytes_in=base.bytes_in if base else 0,
        text_bytes_out=last.bytes_out if last else 0,
        volume_removed_bytes=_ratio_removed(last.bytes_out, base.bytes_in) if base and last else None,
        raw_bytes_in=first.bytes_in if first else 0,
        raw_bytes_removed=_ratio_removed(last.bytes_out, first.bytes_in) if first and last else None,
    )
    removed_rows = [r for r in rows if r["outcome"] != KEPT]
    dropped = _sum((r for r in removed_rows if r["outcome"] == DROPPED), "docs_in")
    failed = _sum((r for r in removed_rows if r["outcome"] == FAILED), "docs_in")
    balanced = docs_read == kept_docs + dropped + failed
    if not balanced:
        accounting_errors.append(
            f"inputs {docs_read:,} != kept {kept_docs:,} + dropped {dropped:,} + failed {failed:,} "
            f"(= {kept_docs + dropped + failed:,}; difference {docs_read - kept_docs - dropped - failed:+,})"
        )

    terminal = removed_rows + final_kept
    base_rows = by_stage.get((base.index, base.stage), []) if base else None
    source_kinds = _groups(terminal, final_kept, base_rows, "source_kind")
    languages = _groups(terminal, final_kept, None, "language")
    reasons = _reason_rows(removed_rows, docs_read, base)
    failures = [
        FailureRow(int(r["stage_index"]), str(r["stage"]), str(r["source_kind"]), int(r["docs_in"]))
        for r in sorted(removed_rows, key=lambda r: (int(r["stage_index"]), str(r["source_kind"])))
        if r["outcome"] == FAILED
    ]
    return Report(
        report_version=REPORT_VERSION,
        run=_json_safe(dict(run)),
        headline=headline,
        accounting=Accounting(docs_read, kept_docs, dropped, failed, balanced),
        stages=stages,
        source_kinds=source_kinds,
        languages=languages,
        language_mix=_language_mix(languages),
        reasons=reasons,
        failures=_merge_failures(failures),
        errors=_error_rows(examples),
        examples=_example_groups(examples, reasons, max_examples),
        accounting_errors=accounting_errors,
    )


def _with_base(stage: StageRow, base: StageRow | None) -> StageRow:
    """Volume figures exist from the volume base on; before it (raw input, extraction) they are None."""
    if base is None or stage.index < base.index:
        return StageRow(**{**asdict(stage), "chars_edited": None})
    return StageRow(**{**asdict(stage), "cum_volume_removed": _ratio_removed(stage.chars_out, base.chars_in)})


def _reason_rows(removed_rows: list[dict[str, Any]], docs_read: int, base: StageRow | None) -> list[ReasonRow]:
    totals: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in removed_rows:
        cell = totals[(int(r["stage_index"]), str(r["stage"]), str(r["reason"]), str(r["outcome"]))]
        cell[0] += int(r["docs_in"])
        cell[1] += int(r["bytes_in"])
        cell[2] += int(r["chars_in"])
    rows = []
    for (index, stage, reason, outcome), (docs, n_bytes, chars) in sorted(
        totals.items(), key=lambda kv: (kv[0][0], -kv[1][0], kv[0][2], kv[0][3])
    ):
        at_or_after_base = base is not None and index >= base.index
        rows.append(
            ReasonRow(
                stage_index=index,
                stage=stage,
                reason=reason,
                outcome=outcome,
                docs=docs,
                bytes=n_bytes,
                chars=chars,
                share_of_input=_share(docs, docs_read),
                share_of_volume=_share(chars, base.chars_in) if at_or_after_base and base else None,
            )
        )
    return rows


def _merge_failures(rows: list[FailureRow]) -> list[FailureRow]:
    """Stats rows are per language too; failures are shown per (stage, source kind)."""
    merged: dict[tuple[int, str, str], int] = defaultdict(int)
    for r in rows:
        merged[(r.stage_index, r.stage, r.source_kind)] += r.docs
    return [FailureRow(i, s, k, n) for (i, s, k), n in sorted(merged.items())]
