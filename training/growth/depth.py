"""LlamaPro depth expansion: insert an identity copy of a block after every k blocks.

Wu et al. 2024, "LLaMA Pro: Progressive LLaMA with Block Expansion" (arXiv:2401.02415). A copied block
whose ``o_proj`` and ``down_proj`` are zero adds exactly 0 to the residual stream:

    h + Attn(norm(h)) W_o + MLP(...) W_down  =  h      when W_o = W_down = 0

so the expanded model computes the same function as the original before training, while the copied
weights (q, k, v, gate, up, norms) give the new block a useful starting point. The recipe takes
Llama-3-70B from 80 to 96 layers: one copy after every 5 blocks (80 / 5 = 16 new blocks).

Two forms of the same surgery:
- ``expand_depth_state_dict``: pure, on a state dict (works shard by shard on tensors of any device);
- ``expand_depth``: on a ``LlamaForCausalLM``, returns a new model and leaves the input untouched.
"""

from __future__ import annotations

import copy
import re

import torch
from transformers import LlamaForCausalLM

_LAYER_KEY = re.compile(r"^(?P<prefix>.*\blayers\.)(?P<idx>\d+)\.(?P<rest>.+)$")
ZEROED = ("self_attn.o_proj.weight", "down_proj.weight")  # the two output projections LlamaPro zeroes


def layer_plan(num_layers: int, every: int) -> list[tuple[int, bool]]:
    """For each layer of the expanded model: (index of the original layer it comes from, is it a new copy).

    >>> layer_plan(4, 2)
    [(0, False), (1, False), (1, True), (2, False), (3, False), (3, True)]
    """
    if every <= 0 or num_layers % every:
        raise ValueError(f"num_layers={num_layers} must be a positive multiple of every={every}")
    plan: list[tuple[int, bool]] = []
    for i in range(num_layers):
        plan.append((i, False))
        if (i + 1) % every == 0:
            plan.append((i, True))  # the copy of the block right before it, as in LlamaPro
    return plan


def new_layer_indices(num_layers: int, every: int) -> list[int]:
    """Indices (in the expanded model) of the inserted blocks: 80 layers, every 5 -> [5, 11, ..., 95]."""
    return [j for j, (_, is_new) in enumerate(layer_plan(num_layers, every)) if is_new]


def depth_key_map(keys: list[str], num_layers: int, every: int) -> dict[str, tuple[str, bool]]:
    """For each tensor name of the expanded model: (name of the source tensor, is it zeroed). Names only, so a
    checkpoint can be expanded file by file (``training.growth.grow``); non-layer tensors map to themselves."""
    by_layer: dict[int, list[str]] = {}
    out: dict[str, tuple[str, bool]] = {}
    prefix = None
    for key in keys:
        m = _LAYER_KEY.match(key)
        if m is None:
            out[key] = (key, False)
            continue
        prefix = m["prefix"]
        by_layer.setdefault(int(m["idx"]), []).append(m["rest"])
    if sorted(by_layer) != list(range(num_layers)):
        raise ValueError(f"state dict has layers {sorted(by_layer)[:3]}..., expected 0..{num_layers - 1}")
    for j, (src, is_new) in enumerate(layer_plan(num_layers, every)):
        for rest in by_layer[src]:
            out[f"{prefix}{j}.{rest}"] = (f"{prefix}{src}.{rest}", is_new and rest.endswith(ZEROED))
    return out


def expand_depth_state_dict(
    state_dict: dict[str, torch.Tensor], num_layers: int, every: int
) -> dict[str, torch.Tensor]:
    """Pure LlamaPro expansion of a Llama state dict; non-layer tensors are passed through (not copied)."""
    out = {}
    for key, (src, zeroed) in depth_key_map(list(state_dict), num_layers, every).items():
        tensor = state_dict[src]
        out[key] = torch.zeros_like(tensor) if zeroed else (tensor if key == src else tensor.clone())
    return out


def depth_config(config, every: int):
    """The config of the expanded model: more layers (and per-layer attention kinds, where the config has them)."""
    new = config.__class__.from_dict(config.to_dict())
    new._attn_implementation = config._attn_implementation
    plan = layer_plan(config.num_hidden_layers, every)
    new.num_hidden_layers = len(plan)
    if getattr(config, "layer_types", None) is not None:
        new.layer_types = [config.layer_types[src] for src, _ in plan]
    return new


def expand_depth(model: LlamaForCausalLM, every: int, freeze_original: bool = False) -> LlamaForCausalLM:
    """A new model with one zero-output copy after every `every` blocks; `model` is not modified.

    `freeze_original=True` is LlamaPro's training setup: only the inserted blocks train (embeddings, the
    original blocks, the final norm and the LM head get ``requires_grad=False``).
    """
    grown = copy.deepcopy(model)
    old_layers = grown.model.layers
    plan = layer_plan(len(old_layers), every)
    layers = []
    for j, (src, is_new) in enumerate(plan):
        layer = copy.deepcopy(old_layers[src]) if is_new else old_layers[src]
        if is_new:
            with torch.no_grad():
                layer.self_attn.o_proj.weight.zero_()
                layer.mlp.down_proj.weight.zero_()
        layer.self_attn.layer_idx = j  # the KV cache is indexed by layer_idx
        layers.append(layer)
    grown.model.layers = torch.nn.ModuleList(layers)
    grown.config.num_hidden_layers = len(layers)
    if getattr(grown.config, "layer_types", None) is not None:  # per-layer attention kinds, where the config has them
        grown.config.layer_types = [grown.config.layer_types[src] for src, _ in plan]
    if freeze_original:
        new = set(new_layer_indices(len(old_layers), every))
        for p in grown.parameters():
            p.requires_grad_(False)
        for j in new:
            for p in grown.model.layers[j].parameters():
                p.requires_grad_(True)
    return grown
