"""Training mixes: token-counted datasets drawn from corpus snapshots at target shares (docs/mixes.md).

    recipe = load_recipe("configs/mix-demo.yaml")
    result = build_mix(recipe)               # deterministic from recipe.seed; committed once, tagged recipe.name
    snap = read_mix(recipe.name, data_root=recipe.data_root)     # an ordinary snapshot of mixes.documents

Training reads it like any snapshot: ``cpt.data.snapshot=<name>`` with ``cpt.data.table=mixes.documents``.
"""

from __future__ import annotations

from dataflow.mixes.build import MixResult, build_mix, read_mix
from dataflow.mixes.plan import MixError
from dataflow.mixes.recipe import MixRecipe, load_recipe

__all__ = ["MixError", "MixRecipe", "MixResult", "build_mix", "load_recipe", "read_mix"]
