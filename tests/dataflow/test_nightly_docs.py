"""The scheduling examples in docs/nightly.md name CLI verbs and flags that exist, and the Airflow DAG compiles."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

from dataflow.cli import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_airflow_dag_compiles_and_calls_the_cli():
    source = (DOCS / "nightly" / "dataflow_nightly_dag.py").read_text(encoding="utf-8")
    ast.parse(source)  # apache-airflow is not installed: compiled, not loaded by Airflow's DagBag
    assert "--log-json run -c {CONFIG} --strict" in source and "snapshots expire" in source


def test_documented_commands_parse():
    text = (DOCS / "nightly.md").read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"```(?:bash|cron|ini)\n(.*?)```", text, re.S))
    commands = re.findall(r"dataflow((?: [^\s>#]+)+)", blocks)
    assert len(commands) >= 6
    parser = build_parser()
    for command in commands:
        args = ["run:r1" if a.startswith("run:") else a for a in shlex.split(command)]
        parser.parse_args(args)  # SystemExit on an unknown verb or flag
