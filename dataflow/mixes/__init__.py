"""Training mixes: token-counted datasets drawn from corpus snapshots at target shares (docs/mixes.md).

    recipe = load_recipe("configs/mix-demo.yaml")
    result = build_mix(recipe)               # deterministic from recipe.seed; committed once, tagged recipe.name
    snap = read_mix(recipe.name, data_root=recipe.data_root)     # an ordinary snapshot of mixes.documents

Training reads it like any snapshot: ``cpt.data.snapshot=<name>`` with ``cpt.data.namespace=mixes``.
Names are imported on first use, so ``python -m dataflow.mixes.tokens`` loads nothing it does not need.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "MixError": "dataflow.mixes.plan",
    "MixRecipe": "dataflow.mixes.recipe",
    "load_recipe": "dataflow.mixes.recipe",
    "MixResult": "dataflow.mixes.build",
    "build_mix": "dataflow.mixes.build",
    "read_mix": "dataflow.mixes.build",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dataflow.mixes' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


__all__ = sorted(_EXPORTS)
