"""``dataflow instruct run | report | export-review | import-review``.

dataflow instruct run -c configs/instruct.yaml --set judge.base_url=http://127.0.0.1:8000/v1
dataflow instruct report -c configs/instruct.yaml [--run RUN] [--format text|markdown|json]
dataflow instruct export-review -c configs/instruct.yaml -o review.csv [--run RUN] [--size 200]
dataflow instruct import-review -c configs/instruct.yaml review.csv [--reviewer NAME]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dataflow.config import parse_sets


def _config(args: argparse.Namespace):
    from dataflow.instruct.config import load_instruct_config

    overrides = parse_sets(args.set)
    for flag, key in (("run_id", "run_id"), ("data_root", "data_root"), ("tag", "snapshot.tag")):
        if getattr(args, flag, None):
            overrides[key] = getattr(args, flag)
    return load_instruct_config(args.config, overrides)


def _catalog(cfg):
    from dataflow.snapshots.catalog import open_catalog

    return open_catalog(cfg.snapshot, cfg.data_root), cfg.snapshot.namespace


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")


def cmd_run(args: argparse.Namespace) -> int:
    from dataflow.instruct.report import build_report, render_text
    from dataflow.instruct.run import run_instruct

    cfg = _config(args)
    result = run_instruct(cfg, progress=True)
    if result.already_committed:
        print(f"run {result.run_id} is already committed; nothing new")
    catalog, ns = _catalog(cfg)
    print(render_text(build_report(catalog, ns, result.run_id)), end="")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from dataflow.instruct.report import build_report, render_json, render_markdown, render_text

    cfg = _config(args)
    catalog, ns = _catalog(cfg)
    rep = build_report(catalog, ns, args.run)
    render = {"text": render_text, "markdown": render_markdown, "json": render_json}[args.format]
    _emit(render(rep), args.output)
    return 0


def cmd_export_review(args: argparse.Namespace) -> int:
    from dataflow.instruct.report import build_report
    from dataflow.instruct.review import export_review

    cfg = _config(args)
    catalog, ns = _catalog(cfg)
    run_id = args.run or build_report(catalog, ns)["run_id"]
    n = export_review(catalog, ns, run_id, args.output, args.size or cfg.review.sample_size, cfg.review.seed)
    print(f"wrote {n} examples of run {run_id} for review to {args.output}")
    return 0


def cmd_import_review(args: argparse.Namespace) -> int:
    from dataflow.instruct.review import import_review

    cfg = _config(args)
    catalog, ns = _catalog(cfg)
    print(json.dumps(import_review(catalog, ns, args.file, args.reviewer or ""), indent=2))
    return 0


def add_instruct_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``instruct`` and its verbs on the top-level ``dataflow`` parser."""
    parser = sub.add_parser("instruct", help="clean instruction data with rules and an LLM judge into SFT/KTO tables")
    verbs = parser.add_subparsers(dest="instruct_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--config", help="instruct YAML config (configs/instruct.yaml documents it)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a key, e.g. judge.concurrency=8")
        p.add_argument("--data-root", help="where the catalog and warehouse live (config: data_root)")

    p = verbs.add_parser("run", help="read, rules, dedup, judge; commit instruct.* tables; print the report")
    common(p)
    p.add_argument("--run-id")
    p.add_argument("--tag", help="tag the committed sft and kto snapshots (training pins it)")
    p.set_defaults(func=cmd_run)

    p = verbs.add_parser("report", help="report of a committed instruct run")
    common(p)
    p.add_argument("--run", help="run id (default: the run of the current instruct.sft snapshot)")
    p.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_report)

    p = verbs.add_parser("export-review", help="write a stratified sample of judged examples for human review")
    common(p)
    p.add_argument("-o", "--output", required=True, help="review.csv or review.jsonl")
    p.add_argument("--run", help="run id (default: the current sft snapshot's run)")
    p.add_argument("--size", type=int, help="examples to sample (config: review.sample_size)")
    p.set_defaults(func=cmd_export_review)

    p = verbs.add_parser("import-review", help="import human decisions; report Cohen's kappa and commit them")
    common(p)
    p.add_argument("file", help="the filled-in review.csv or review.jsonl")
    p.add_argument("--reviewer", help="reviewer name for rows that name none")
    p.set_defaults(func=cmd_import_review)
