"""Offline growth: grow a Hugging Face Llama checkpoint once, file by file, and save the masked grown checkpoint.

    python -m training.growth.grow --base /checkpoints/llama-3-70b \
        --recipe training/recipes/llama3-motif-102b.yaml --out /checkpoints/motif-102b/grown

Growing in every training process would copy the 70B model and build the 102B one in fp32 in each of the 8
processes of a node (8 x (282 + 408) GB of host RAM). Here one process streams the base checkpoint's
safetensors files: the grown model's tensor names and shapes come from a skeleton on the meta device (nothing
allocated), and each output tensor is made from its one source tensor (LlamaPro: which block it copies and
whether it is zeroed; MSG: where the original weights go inside the wider tensor, ``training.growth.width``) in
the checkpoint's dtype (bf16). Peak memory is about one input file plus one output file (``--max-shard-gb``).

The result is the same, bit for bit, as growing in memory (``expand_depth`` then ``grow_width`` with the same
seed): new values are drawn per tensor name (``width.init_new``). Its config.json carries ``msg_growth`` (the
pre-growth widths), so ``training.cpt`` re-attaches the masks at the right step and never grows again; every
checkpoint stays marked until the masks are open and folded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from training.checkpoint import code_commit
from training.config import GrowthSpec, load_recipe
from training.data import write_lineage
from training.growth.depth import depth_config, depth_key_map
from training.growth.width import check_growth, grow_width_tensor, grown_config, growth_record

INDEX = "model.safetensors.index.json"
WEIGHT_FILES = (".safetensors", ".bin", ".pt", ".pth")
SKIPPED = (INDEX, "config.json")  # rewritten for the grown model; everything else (tokenizer, ...) is copied


def grown_configs(base: LlamaConfig, growth: GrowthSpec) -> tuple[LlamaConfig, LlamaConfig]:
    """(config after depth growth, config after width growth) of a base config."""
    deep = depth_config(base, growth.depth_every) if growth.depth_every else base
    widths = (growth.hidden_size, growth.intermediate_size, growth.num_attention_heads, growth.num_key_value_heads)
    if all(w is None for w in widths):
        return deep, deep
    wide = grown_config(
        deep,
        hidden_size=growth.hidden_size or deep.hidden_size,
        intermediate_size=growth.intermediate_size or deep.intermediate_size,
        num_attention_heads=growth.num_attention_heads or deep.num_attention_heads,
        num_key_value_heads=growth.num_key_value_heads or deep.num_key_value_heads,
    )
    return deep, wide


def source_files(base: Path) -> dict[str, Path]:
    """{tensor name: safetensors file} of a checkpoint directory (sharded with an index, or one file)."""
    index = base / INDEX
    if index.exists():
        weight_map = json.loads(index.read_text())["weight_map"]
        return {key: base / name for key, name in weight_map.items()}
    single = base / "model.safetensors"
    if not single.exists():
        raise FileNotFoundError(f"{base}: no {INDEX} and no model.safetensors (only safetensors checkpoints grow)")
    from safetensors import safe_open

    with safe_open(single, framework="pt") as f:
        return dict.fromkeys(f.keys(), single)


def shard_plan(shapes: dict[str, torch.Size], itemsize: int, max_bytes: int) -> list[list[str]]:
    """Output tensor names cut into files of at most `max_bytes` (a larger tensor gets a file of its own)."""
    shards: list[list[str]] = [[]]
    size = 0
    for key, shape in shapes.items():
        n = shape.numel() * itemsize
        if shards[-1] and size + n > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(key)
        size += n
    return shards


def grow_checkpoint(
    base: str | Path,
    growth: GrowthSpec,
    out: str | Path,
    dtype: str | None = None,
    seed: int = 0,
    max_shard_bytes: int = 5 * 2**30,
) -> Path:
    """Grow the checkpoint in `base` into `out` (see the module docstring); returns `out`."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    base, out = Path(base), Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: growth writes a new checkpoint and never overwrites one")
    config = LlamaConfig.from_pretrained(base)
    deep, wide = grown_configs(config, growth)
    if wide is not deep:
        check_growth(deep, wide)
    with torch.device("meta"):  # names and shapes of the grown model, nothing allocated
        shapes = {k: v.shape for k, v in LlamaForCausalLM(wide).state_dict().items()}
    files = source_files(base)
    keys = depth_key_map(list(files), config.num_hidden_layers, growth.depth_every) if growth.depth_every else None
    plan = keys or {k: (k, False) for k in files}
    if set(plan) != set(shapes):
        raise ValueError(f"{base}: tensors {sorted(set(plan) ^ set(shapes))[:4]} do not match a Llama of this config")
    torch_dtype = getattr(torch, dtype) if dtype else None
    itemsize = torch.empty((), dtype=torch_dtype or torch.bfloat16).element_size()
    shards = shard_plan(shapes, itemsize, max_shard_bytes)
    out.mkdir(parents=True, exist_ok=True)
    handles: dict[Path, object] = {}
    weight_map = {}
    try:
        for i, names in enumerate(shards, 1):
            tensors = {}
            for key in names:
                src, zeroed = plan[key]
                path = files[src]
                if path not in handles:
                    handles[path] = safe_open(path, framework="pt")
                w = handles[path].get_tensor(src)
                w = w.to(torch_dtype) if torch_dtype else w
                w = torch.zeros_like(w) if zeroed else w
                tensors[key] = grow_width_tensor(key, w, deep, wide, seed) if wide is not deep else w
                if tensors[key].shape != shapes[key]:
                    raise ValueError(f"{key}: grown to {tuple(tensors[key].shape)}, expected {tuple(shapes[key])}")
            name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            save_file(tensors, out / name, metadata={"format": "pt"})
            weight_map.update(dict.fromkeys(names, name))
            print(f"grow: wrote {name} ({len(names)} tensors)", flush=True)
    finally:
        handles.clear()
    total = sum(shapes[k].numel() * itemsize for k in shapes)
    (out / INDEX).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
    if wide is not deep:
        wide.msg_growth = growth_record(deep)
    if torch_dtype is not None:
        wide.dtype = torch_dtype
    wide.save_pretrained(out)
    for path in base.iterdir():
        if path.is_file() and path.name not in SKIPPED and not path.name.endswith(WEIGHT_FILES):
            shutil.copy2(path, out / path.name)
    lineage = {
        "stage": "growth",
        "base_model": str(base),
        "growth": dataclasses.asdict(growth),
        "seed": seed,
        "mask_step": 0,  # every new unit's mask is 0: the grown checkpoint computes the base model's function
        "masks_open": False,
        "code_commit": code_commit(),
    }
    write_lineage(out, lineage)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Grow a Llama checkpoint once (LlamaPro depth, MSG width), offline")
    parser.add_argument("--base", required=True, help="HF checkpoint directory of the base model (safetensors)")
    parser.add_argument("--recipe", required=True, help="recipe whose `growth` section gives the target")
    parser.add_argument("--out", required=True, help="new, empty directory for the grown checkpoint")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override")
    parser.add_argument("--dtype", default=None, help="output dtype (default: the checkpoint's, bf16 for Llama-3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the new units' initial values")
    parser.add_argument("--max-shard-gb", type=float, default=5.0, help="size of each output safetensors file")
    args = parser.parse_args(argv)
    recipe = load_recipe(args.recipe, args.set)
    if recipe.growth is None:
        raise SystemExit(f"{args.recipe}: no growth section")
    out = grow_checkpoint(args.base, recipe.growth, args.out, args.dtype, args.seed, int(args.max_shard_gb * 2**30))
    print(f"grown checkpoint: {out}")


if __name__ == "__main__":
    main()
