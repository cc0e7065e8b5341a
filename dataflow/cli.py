"""``dataflow``: run the pipeline, read its reports, list and tag its snapshots, extract one file.

dataflow run -c configs/default.yaml                 # run and commit a snapshot, print the report
dataflow run -c my.yaml --engine spark --set engine.workers=4
dataflow report --format html -o report.html         # report of the current snapshot's run
dataflow snapshots list | show REF | tag REF NAME    # REF: tag, snapshot id, run:<run id>
dataflow snapshots expire | remove-orphans | compact | reindex | release   # docs/nightly.md
dataflow run --full | --strict | --log-json          # reread all inputs | exit 3 on drift | JSON-lines logs
dataflow report --compare RUN_A RUN_B                # two runs side by side
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
import traceback
from datetime import UTC, datetime
from pathlib import Path

import yaml

from dataflow.config import ENGINES, ConfigError, PipelineConfig, load_config, parse_sets, validate

# Exit codes (README "Exit codes"): 0 done; 1 the run or command failed; 2 a usage, config, input-path or
# catalog error, refused before any input was read or anything committed. Errors are one line naming the
# key or path and the fix; -v adds the traceback.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _overrides(args: argparse.Namespace) -> dict:
    out = parse_sets(getattr(args, "set", None))
    for flag, key in (
        ("input", "read.inputs"),
        ("engine", "engine.name"),
        ("workers", "engine.workers"),
        ("run_id", "run_id"),
        ("data_root", "data_root"),
        ("tag", "snapshot.tag"),
    ):
        value = getattr(args, flag, None)
        if value is not None:  # `--workers 0` is a value to refuse, not an absent flag
            out[key] = value
    if getattr(args, "full", False):
        out["read.incremental"] = False  # --full: read every input again, published content too
    return out


def _config(args: argparse.Namespace) -> PipelineConfig:
    return validate(load_config(args.config, _overrides(args)))


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
    return _drift_exit(result.report, args.strict)


DRIFT_EXIT = 3  # --strict and drift alerts: distinct from failures (1) and usage errors (2) for a scheduler


def _drift_exit(report, strict: bool) -> int:
    from dataflow.reports.drift import alerts_of

    found = alerts_of(report.run)
    if found and strict:
        print(f"dataflow: drift: {len(found)} alert(s) and --strict: exit {DRIFT_EXIT}", file=sys.stderr)
        return DRIFT_EXIT
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from dataflow import reports
    from dataflow.run import load_run_report

    cfg = _config(args)
    if args.mix:  # a training mix: target vs achieved token shares, from the mix snapshot's summary
        from dataflow.mixes.cli import mix_report

        return mix_report(args, cfg.data_root, cfg.snapshot)
    if args.compare:
        from dataflow.nightly import compare_runs

        print(compare_runs(cfg, *args.compare))
        return 0
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
    return _drift_exit(report, args.strict)


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
    elif args.action == "recover":
        from dataflow.snapshots.catalog import recover_catalog

        for table, metadata in recover_catalog(cfg.snapshot, cfg.data_root).items():
            print(f"registered {table} from {metadata}")
        print("catalog rebuilt from the warehouse; check it with `dataflow snapshots list`")
    elif args.action in ("expire", "remove-orphans", "compact", "reindex", "release"):
        from dataflow.nightly import maintain

        for line in maintain(cfg, args.action, args.older_than_days, args.dry_run, args.date, args.ref):
            print(line)
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from dataflow.extractors import CONTAINER, extract, extract_records

    cfg = _config(args)
    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"{args.file}: not a file (dataflow extract reads one file)")
    uri = path.absolute().as_uri()  # the run's URI for this file, so ids match its rows
    if args.explain:  # the web page's detected type and the evidence for it, instead of the text
        from dataflow.extractors.html import explain_file

        text, ok = explain_file(path, args.url, cfg.extract)
        print(text)
        return EXIT_OK if ok else EXIT_FAILED
    result = extract(path, uri, config=cfg.extract, read=cfg.read)  # as a run reads it: caps, gzip, ...
    print(json.dumps(dataclasses.asdict(result), indent=2, ensure_ascii=False, default=str))
    if result.reason == CONTAINER:  # then every record, one JSON object per line
        for rec in extract_records(path, uri, config=cfg.extract, read=cfg.read):
            row = dict(id=rec.id, url=rec.url, **dataclasses.asdict(rec.extraction))
            print(json.dumps(row, ensure_ascii=False, default=str))
        return EXIT_OK
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_config(args: argparse.Namespace) -> int:
    print(yaml.safe_dump(dataclasses.asdict(_config(args)), sort_keys=False, allow_unicode=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dataflow", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show engine logs")
    parser.add_argument("--log-json", action="store_true", help="logs as JSON lines carrying the run id")
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
    p.add_argument("--engine", choices=ENGINES)
    p.add_argument("--workers", type=int)
    p.add_argument("--run-id")
    p.add_argument("--tag", help="tag the committed documents snapshot")
    p.add_argument("--full", action="store_true", help="read every input again, also unchanged content")
    p.add_argument("--strict", action="store_true", help=f"exit {DRIFT_EXIT} when drift alerts are raised")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", help="report of a committed run, from its stats tables")
    common(p)
    p.add_argument("--run", help="run id (default: the run of the current documents snapshot)")
    p.add_argument("--mix", metavar="REF", help="report on a training mix instead: tag, snapshot id or run:<mix id>")
    p.add_argument("--format", choices=["text", "markdown", "json", "html"], default="text")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"), help="two runs side by side (run ids)")
    p.add_argument("--strict", action="store_true", help=f"exit {DRIFT_EXIT} when the run has drift alerts")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("snapshots", help="list, show or tag snapshots")
    common(p)
    p.add_argument(
        "action",
        choices=["list", "show", "tag", "recover", "expire", "remove-orphans", "compact", "reindex", "release"],
        help="recover: rebuild a lost catalog; reindex: the dedup index under the config's dedup layout; "
        "expire, remove-orphans, compact, release: retention (docs/nightly.md)",
    )
    p.add_argument("ref", nargs="?", help="tag, snapshot id or run:<run id> (show, tag)")
    p.add_argument("name", nargs="?", help="tag name (tag)")
    p.add_argument(
        "--table", default="documents", choices=["documents", "rejects", "stage_stats", "inputs", "dedup_index"]
    )
    p.add_argument("--force", action="store_true", help="move an existing tag")
    p.add_argument("--older-than-days", type=float, help="expire: 30 (default); remove-orphans: 3 (default)")
    p.add_argument(
        "--dry-run", action="store_true", help="expire, remove-orphans, compact, reindex: say what, change nothing"
    )
    p.add_argument("--date", help="release: the YYYY-MM-DD of the release-... tag (default: today, UTC)")
    p.set_defaults(func=cmd_snapshots)

    p = sub.add_parser("extract", help="extract the text of one file, as the pipeline would")
    common(p)
    p.add_argument("file")
    p.add_argument("--explain", action="store_true", help="for a web page: its detected page type and why")
    p.add_argument("--url", help="with --explain: the page's address (its path shape is evidence)")
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
    if args.log_json:
        from dataflow.nightly import log_json

        log_json()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("dataflow: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, the shell convention
    except Exception as err:  # every error ends as one line (and a traceback with -v), never a raw dump
        code = exit_code(err)
        if args.verbose:
            traceback.print_exc()
        print(f"dataflow: error: {error_line(err, code)}", file=sys.stderr)
        return code


def exit_code(err: BaseException) -> int:
    """2 for what the operator must fix before anything runs (usage, config, paths, catalog), else 1."""
    from dataflow.snapshots.catalog import CatalogError

    usage = (ConfigError, CatalogError, FileNotFoundError, IsADirectoryError, NotADirectoryError, LookupError)
    return EXIT_USAGE if isinstance(err, usage) or type(err) is ValueError else EXIT_FAILED


def error_line(err: BaseException, code: int) -> str:
    """The error as one line; failures that are not the operator's to fix name their type and point at -v."""
    message = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, FileNotFoundError) and err.filename and str(err.filename) not in message:
        message = f"{err.filename}: {message}"
    if code == EXIT_FAILED and not _expected_failure(err):
        message = f"{type(err).__name__}: {message} (run with -v for the traceback)"
    return message


def _expected_failure(err: BaseException) -> bool:
    from dataflow.locks import LockHeld
    from dataflow.run import AccountingError

    return isinstance(err, LockHeld | AccountingError)


if __name__ == "__main__":
    sys.exit(main())
