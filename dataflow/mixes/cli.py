"""``dataflow mix RECIPE`` and ``dataflow report --mix REF``: build a training mix, report on one.

dataflow mix configs/mix-demo.yaml                    # build (or find) the mix, tag it, print its report
dataflow mix configs/mix-demo.yaml --seed 2 --tag demo-mix-seed2
dataflow report --mix demo-mix --data-root data/demo --format html -o mix.html
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dataflow.config import parse_sets


def _overrides(args: argparse.Namespace) -> dict:
    out = parse_sets(args.set)
    for flag, key in (("seed", "seed"), ("tag", "name"), ("data_root", "data_root")):
        if getattr(args, flag, None) is not None:
            out[key] = getattr(args, flag)
    return out


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    else:
        print(text, end="")


def cmd_mix(args: argparse.Namespace) -> int:
    from dataflow.mixes import build_mix, load_recipe
    from dataflow.reports.mix import MIX_RENDERERS, build_mix_report

    recipe = load_recipe(args.recipe, _overrides(args))
    result = build_mix(recipe, progress=sys.stderr.isatty(), force_tag=args.force_tag)
    _emit(MIX_RENDERERS[args.format](build_mix_report(result.summary, result.snapshot_id, [result.tag])), args.output)
    state = "already committed (nothing new)" if result.already_committed else "committed"
    print(
        f"\nmix {result.mix_id}: {state} as snapshot {result.snapshot_id} of {recipe.namespace}.documents, "
        f"tagged {result.tag!r}",
        file=sys.stderr,
    )
    print(
        f"train on it: --set cpt.data.snapshot={result.tag} --set cpt.data.namespace={recipe.namespace} "
        f"--set cpt.data.data_root={recipe.data_root}",
        file=sys.stderr,
    )
    return 0


def mix_report(args: argparse.Namespace, data_root: str, catalog) -> int:
    """``dataflow report --mix REF``: the report of a committed mix, from its snapshot summary."""
    from dataflow.mixes import read_mix
    from dataflow.reports.mix import MIX_RENDERERS, build_mix_report

    snap = read_mix(args.mix, data_root=data_root, config=catalog)
    _emit(MIX_RENDERERS[args.format](build_mix_report(snap.summary, snap.snapshot_id, snap.tags)), args.output)
    return 0


def add_mix_parser(sub) -> None:
    p = sub.add_parser("mix", help="build a training mix from corpus snapshots (docs/mixes.md)")
    p.add_argument("recipe", help="mix recipe YAML, e.g. configs/mix-demo.yaml")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a recipe key, e.g. seed=3")
    p.add_argument("--seed", type=int, help="recipe key seed")
    p.add_argument("--tag", help="recipe key name: the tag put on the mix snapshot")
    p.add_argument("--data-root", help="recipe key data_root: where the corpus catalog is")
    p.add_argument("--force-tag", action="store_true", help="move an existing tag to this mix")
    p.add_argument("--format", choices=["text", "markdown", "json", "html"], default="text")
    p.add_argument("-o", "--output", help="write the report to this file instead of stdout")
    p.set_defaults(func=cmd_mix)
