"""``dataflow instruct run``: read, rules, dedup, judge, select, commit, report.

Two passes over the inputs keep memory flat: pass 1 reads every example, sets its languages,
applies the rules and collects the dedup keys of the survivors (ids, band keys and signatures, no text);
pass 2 reads them again, skips what the rules dropped, drops the duplicates, and streams the
rest through the verdict cache and the judge (bounded queue), writing every table's rows as
they come. Every example read ends as exactly one verdicts row: kept, dropped with a reason, or
failed with the judge's error; the counts are checked before anything is committed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dataflow.config import ConfigError
from dataflow.instruct.cache import VerdictCache, cache_key
from dataflow.instruct.config import InstructConfig, validate
from dataflow.instruct.example import Example
from dataflow.instruct.judge import Judge, JudgeOutcome, judge_all, make_backend
from dataflow.instruct.readers import BadRecord, read_file
from dataflow.instruct.rubric import get_rubric
from dataflow.instruct.rules import annotate_languages, check, dedup_plan
from dataflow.instruct.select import BELOW_SFT_THRESHOLD, kto_balance, kto_label, sft_keep
from dataflow.instruct.tables import commit_instruct, run_committed, writer
from dataflow.snapshots.catalog import open_catalog
from schemas.corpus import DROPPED, FAILED, KEPT

log = logging.getLogger(__name__)

READ, RULES, DEDUP, JUDGE, SELECT = "read", "rules", "dedup", "judge", "select"  # verdicts.stage
DUPLICATE_ID = "duplicate_id"  # two records of the inputs got the same id (the same file listed twice)
NOT_JUDGED = "not_judged"  # judge.backend = none: rules and dedup only, nothing selected


@dataclass
class InstructResult:
    run_id: str
    snapshot_ids: dict[str, int]
    already_committed: bool
    outcomes: Counter = field(default_factory=Counter)  # (stage, outcome, reason) -> examples
    examples_in: int = 0
    cache_hits: int = 0
    judge_calls: int = 0  # examples sent to the judge this run (cache misses)
    judge_requests: int = 0  # HTTP requests (retries included)
    kto: dict = field(default_factory=dict)


def _resolve(spec_path: str) -> Path:
    path = Path(spec_path)
    if not path.is_file():
        raise FileNotFoundError(f"instruct input {spec_path!r} is not a file")
    return path


def run_id_for(cfg: InstructConfig) -> str:
    """The config's run id, else one derived from the config hash and the inputs' bytes."""
    if cfg.run_id:
        return cfg.run_id
    h = hashlib.sha256(cfg.hash().encode())
    for spec in cfg.inputs:
        with _resolve(spec.path).open("rb") as f:
            h.update(hashlib.file_digest(f, "sha256").digest())
    return f"instruct-{h.hexdigest()[:16]}"


def _read_all(cfg: InstructConfig) -> Iterator[Example | BadRecord]:
    for spec in cfg.inputs:
        yield from read_file(_resolve(spec.path), spec.source, spec.format)


def _verdict_row(run_id: str, item: Example | BadRecord, stage: str, outcome: str, reason: str, **kw) -> dict:
    if isinstance(item, BadRecord):
        base = dict(id=item.id, source=item.source, language="", content_hash="", excerpt=item.excerpt)
    else:
        base = dict(
            id=item.id,
            source=item.source,
            language=item.language,
            content_hash=item.content_hash,
            excerpt=item.excerpt(),
        )
    row = dict(
        run_id=run_id,
        stage=stage,
        outcome=outcome,
        reason=reason,
        scores={},
        overall=None,
        rationale=None,
        judge_model="",
        rubric_version="",
        cached=False,
        attempts=0,
        error=None,
        duplicate_of=None,
        sft=False,
        kto_label=None,
    )
    return base | row | kw


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="judge", unit="ex", disable=not enabled or None, file=sys.stderr)


def run_instruct(cfg: InstructConfig, progress: bool = False) -> InstructResult:
    """Clean ``cfg.inputs`` into instruct.* tables and commit them as one run (see module docstring)."""
    validate(cfg)
    rubric = get_rubric(cfg.judge.rubric) if cfg.judge.backend != "none" else None
    if cfg.rules.language_mismatch and not cfg.langid.model_path:
        raise ConfigError(
            "langid.model_path is empty: language rules need lid.176 (or set rules.language_mismatch=false)"
        )
    for spec in cfg.inputs:
        _resolve(spec.path)
    run_id = run_id_for(cfg)
    catalog = open_catalog(cfg.snapshot, cfg.data_root)
    ns = cfg.snapshot.namespace
    if run_committed(catalog, ns, run_id):
        log.info("run %s is already committed; nothing to do", run_id)
        return InstructResult(run_id, {}, already_committed=True)

    result = InstructResult(run_id, {}, already_committed=False)
    w = {name: writer(catalog, ns, name, run_id) for name in ("examples", "verdicts", "sft", "kto")}
    lid = cfg.langid.model_path

    def prepared(ex: Example) -> str | None:
        if lid:
            annotate_languages(ex, lid)
        return check(ex, cfg.rules)

    def emit(row: dict) -> None:
        w["verdicts"].append(row)
        result.outcomes[(row["stage"], row["outcome"], row["reason"])] += 1

    # pass 1: rules, and dedup keys of the survivors
    seen: set[int] = set()  # ids as 64-bit ints (16 hex chars): ~3x smaller than the strings per example
    counts = Counter()

    def first_pass() -> Iterator[Example]:
        for item in _read_all(cfg):
            result.examples_in += 1
            if isinstance(item, BadRecord):
                emit(_verdict_row(run_id, item, READ, DROPPED, item.reason, error=item.error))
                continue
            key = int(item.id, 16)
            if key in seen:
                emit(_verdict_row(run_id, item, READ, DROPPED, DUPLICATE_ID))
                continue
            seen.add(key)
            reason = prepared(item)
            w["examples"].append(item.row(run_id))
            if reason:
                emit(_verdict_row(run_id, item, RULES, DROPPED, reason))
                continue
            counts["rule_survivors"] += 1
            yield item

    plan = dedup_plan(first_pass(), cfg.dedup) if cfg.rules.dedup_prompts else None
    if plan is None:
        for _ in first_pass():
            pass

    # pass 2: dedup drops, cache, judge
    seen = set()

    def second_pass() -> Iterator[Example]:
        for item in _read_all(cfg):
            if isinstance(item, BadRecord):
                continue
            key = int(item.id, 16)
            if key in seen:
                continue
            seen.add(key)
            if prepared(item):
                continue
            drop = plan.drops.get(item.id) if plan else None
            if drop:
                emit(_verdict_row(run_id, item, DEDUP, DROPPED, drop[0], duplicate_of=drop[1]))
                continue
            yield item

    sel = cfg.select

    def record(item: Example, outcome: JudgeOutcome, cached: bool) -> None:
        common = dict(judge_model=cfg.judge.model, rubric_version=rubric.key, cached=cached, attempts=outcome.attempts)
        result.judge_requests += outcome.attempts
        v = outcome.verdict
        if v is None:
            emit(_verdict_row(run_id, item, JUDGE, FAILED, outcome.reason, error=outcome.error, **common))
            return
        keep = sft_keep(v.overall, sel)
        label = kto_label(v.overall, sel)
        emit(
            _verdict_row(
                run_id,
                item,
                JUDGE if keep else SELECT,
                KEPT if keep else DROPPED,
                "" if keep else BELOW_SFT_THRESHOLD,
                scores={k: float(s) for k, s in v.scores.items()},
                overall=v.overall,
                rationale=v.rationale,
                sft=keep,
                kto_label=label,
                **common,
            )
        )
        base = dict(
            id=item.id,
            prompt=item.prompt,
            completion=item.completion,
            language=item.language,
            source=item.source,
            overall=v.overall,
            run_id=run_id,
        )
        if keep:
            w["sft"].append(base | {"turns": item.turns})
            counts["sft"] += 1
        if label is not None:
            w["kto"].append(base | {"label": label})
            counts["kto_desirable" if label else "kto_undesirable"] += 1

    if cfg.judge.backend == "none":
        for item in second_pass():
            emit(_verdict_row(run_id, item, JUDGE, DROPPED, NOT_JUDGED))
    else:
        cache = VerdictCache(cfg.judge.cache_path or Path(cfg.data_root) / "instruct" / "verdict_cache.db")
        backend = make_backend(cfg.judge)
        judge = Judge(backend, rubric, cfg.judge)
        bar = _progress(counts["rule_survivors"], progress)

        def misses() -> Iterator[Example]:
            for item in second_pass():
                bar.update(1)
                key = cache_key(rubric.key, cfg.judge.model, item.content_hash)
                hit = cache.get(key)
                if hit is not None:
                    result.cache_hits += 1
                    record(item, JudgeOutcome(hit, None, None, 0), cached=True)
                    continue
                item.meta["cache_key"] = key
                yield item

        def on_result(item: Example, outcome: JudgeOutcome) -> None:
            result.judge_calls += 1
            if outcome.verdict is not None:
                cache.put(item.meta["cache_key"], outcome.verdict)  # committed now: survives a kill
            record(item, outcome, cached=False)

        async def go() -> None:
            try:
                await judge_all(misses(), judge.judge, on_result, cfg.judge.concurrency)
            finally:
                await backend.aclose()

        try:
            asyncio.run(go())
        finally:
            bar.close()
            cache.close()

    total = sum(result.outcomes.values())
    if total != result.examples_in:
        raise RuntimeError(f"accounting: {result.examples_in} examples read but {total} verdicts")
    files = {name: wr.close() for name, wr in w.items()}
    result.kto = kto_balance(counts["kto_desirable"], counts["kto_undesirable"], sel)
    props = {
        "dataflow.config_hash": cfg.hash(),
        "dataflow.code_version": _code_version(),
        "dataflow.rubric": rubric.key if rubric else "",
        "dataflow.judge_model": cfg.judge.model,
        "dataflow.examples_in": result.examples_in,
        "dataflow.sft_rows": counts["sft"],
        "dataflow.kto_desirable": counts["kto_desirable"],
        "dataflow.kto_lambda_d": sel.kto_lambda_d,
        "dataflow.kto_lambda_u": sel.kto_lambda_u,
        "dataflow.kto_undesirable": counts["kto_undesirable"],
        "dataflow.kto_weighted_ratio": ""
        if result.kto["weighted_ratio"] is None
        else f"{result.kto['weighted_ratio']:.4f}",
        "dataflow.judge_requests": result.judge_requests,
        "dataflow.cache_hits": result.cache_hits,
        "dataflow.inputs": ",".join(spec.path for spec in cfg.inputs),
    }
    result.snapshot_ids = commit_instruct(catalog, ns, run_id, files, props, cfg.snapshot.mode, cfg.snapshot.tag)
    return result


def _code_version() -> str:
    from dataflow.run import code_version

    return code_version()
