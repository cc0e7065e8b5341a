"""``dataflow``: run the pipeline, read its reports, list and tag its snapshots, extract one file.

dataflow run -c configs/default.yaml                 # run and commit a snapshot, print the report
dataflow run -c my.yaml --engine spark --set engine.workers=4
dataflow report --format html -o report.html         # report of the current snapshot's run
dataflow snapshots list | show REF | tag REF NAME    # REF: tag, snapshot id, run:<run id>
dataflow extract page.html                           # what the pipeline would extract
dataflow config -c my.yaml                           # the effective config, defaults filled in
dataflow instruct run | report | export-review | import-review   # instruction data: docs/instruct.md
dataflow mix configs/mix-demo.yaml                   # a training mix at token shares: docs/mixes.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml

from dataflow.config import ConfigError, PipelineConfig, load_config


def _overrides(args: argparse.Namespace) -> dict:
    out = {}
    for item in getattr(args, "set", None) or []:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key] = yaml.safe_load(value)
    for flag, key in (
        ("input", "read.inputs"),
        ("engine", "engine.name"),
        ("workers", "engine.workers"),
        ("run_id", "run_id"),
        ("data_root", "data_root"),
        ("tag", "snapshot.tag"),
    ):
        value = getattr(args, flag, None)
        if value:
            out[key] = value
    return out


def _config(args: argparse.Namespace) -> PipelineConfig:
    return load_config(args.config, _overrides(args))


def _quiet_libraries(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("pyiceberg.io.pyarrow").setLevel(logging.ERROR)  # "statistics missing" for empty parts
    if not verbose:
        from loguru import logger  # datatrove logs through loguru

        logger.remove()
        logger.add(sys.stderr, level="WARNING")


def cmd_run(args: argparse.Namespace) -> int:
    from dataflow.reports import render_text
    from dataflow.run import run_pipeline

    cfg = _config(args)
    result = run_pipeline(cfg)
    print(render_text(result.report))
    c = result.commit
    state = "already committed (nothing new)" if c.already_committed else "committed"
    print(f"\nrun {result.run_id}: {state}")
    print(f"documents snapshot {c.snapshot_ids['documents']} in {result.data_root} (catalog + warehouse)")
    print(
        f"read it: dataflow.snapshots.read_snapshot({c.snapshot_ids['documents']}, data_root={str(result.data_root)!r})"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from dataflow import reports
    from dataflow.run import load_run_report

    cfg = _config(args)
    if args.mix:  # a training mix: target vs achieved token shares, from the mix snapshot's summary
        from dataflow.mixes.cli import mix_report

        return mix_report(args, cfg.data_root, cfg.snapshot)
    report = load_run_report(cfg, args.run)
    render = {
        "text": reports.render_text,
        "markdown": reports.render_markdown,
        "json": reports.render_json,
        "html": reports.render_html,
    }[args.format]
    out = render(report)
    if args.output:
        Path(args.output).write_text(out, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(out)
    return 0


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def cmd_snapshots(args: argparse.Namespace) -> int:
    from dataflow import snapshots

    cfg = _config(args)
    kw = dict(data_root=cfg.data_root, config=cfg.snapshot)
    if args.action == "list":
        rows = snapshots.list_snapshots(args.table, **kw)
        print(f"{'snapshot id':>20}  {'committed (UTC)':19}  {'run':22}  {'docs out':>8}  tags")
        for r in rows:
            docs = r["summary"].get("dataflow.docs_out", r["summary"].get("total-records", ""))
            print(
                f"{r['snapshot_id']:>20}  {_when(r['timestamp_ms'])}  {r['run_id'] or '':22}  {docs:>8}  "
                f"{','.join(r['tags'])}"
            )
    elif args.action == "show":
        snap = snapshots.read_snapshot(args.ref, table=args.table, **kw)
        print(
            json.dumps(
                dict(snapshot_id=snap.snapshot_id, tags=snap.tags, summary=snap.summary, files=snap.files()),
                indent=2,
                ensure_ascii=False,
            )
        )
    elif args.action == "tag":
        snap_id = snapshots.tag(args.ref, args.name, force=args.force, **kw)
        print(f"tagged snapshot {snap_id} as {args.name!r}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from dataflow.extractors import extract

    cfg = _config(args)
    path = Path(args.file)
    result = extract(path.read_bytes(), path.resolve().as_uri(), config=cfg.extract)
    print(json.dumps(dataclasses.asdict(result), indent=2, ensure_ascii=False, default=str))
    return 0 if result.ok else 1


def cmd_config(args: argparse.Namespace) -> int:
    print(yaml.safe_dump(dataclasses.asdict(_config(args)), sort_keys=False, allow_unicode=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dataflow", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show engine logs")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--config", help="YAML config (default: the built-in defaults)")
        p.add_argument(
            "--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. dedup.near=false"
        )
        p.add_argument("--data-root", help="where the catalog and warehouse live (config: data_root)")

    p = sub.add_parser("run", help="run the pipeline and commit a snapshot")
    common(p)
    p.add_argument("--input", nargs="+", help="input files, directories or globs (config: read.inputs)")
    p.add_argument("--engine", choices=["local", "spark", "beam"])
    p.add_argument("--workers", type=int)
    p.add_argument("--run-id")
    p.add_argument("--tag", help="tag the committed documents snapshot")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", help="report of a committed run, from its stats tables")
    common(p)
    p.add_argument("--run", help="run id (default: the run of the current documents snapshot)")
    p.add_argument("--mix", metavar="REF", help="report on a training mix instead: tag, snapshot id or run:<mix id>")
    p.add_argument("--format", choices=["text", "markdown", "json", "html"], default="text")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("snapshots", help="list, show or tag snapshots")
    common(p)
    p.add_argument("action", choices=["list", "show", "tag"])
    p.add_argument("ref", nargs="?", help="tag, snapshot id or run:<run id> (show, tag)")
    p.add_argument("name", nargs="?", help="tag name (tag)")
    p.add_argument("--table", default="documents", choices=["documents", "rejects", "stage_stats", "inputs"])
    p.add_argument("--force", action="store_true", help="move an existing tag")
    p.set_defaults(func=cmd_snapshots)

    p = sub.add_parser("extract", help="extract the text of one file, as the pipeline would")
    common(p)
    p.add_argument("file")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("config", help="print the effective config")
    common(p)
    p.set_defaults(func=cmd_config)

    from dataflow.instruct.cli import add_instruct_parser  # `dataflow instruct ...`: docs/instruct.md

    add_instruct_parser(sub)
    from dataflow.mixes.cli import add_mix_parser  # `dataflow mix RECIPE`: docs/mixes.md

    add_mix_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "snapshots" and args.action == "tag" and not (args.ref and args.name):
        parser.error("snapshots tag needs REF and NAME")
    _quiet_libraries(args.verbose)
    try:
        return args.func(args)
    except (ConfigError, FileNotFoundError, ValueError, LookupError) as err:
        print(f"dataflow: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
