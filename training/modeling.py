"""Loading a stage's model and tokenizer, and the helpers every entry point shares (CLI, the final save)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from training.checkpoint import is_sharded, save_consolidated
from training.config import ConfigError, ModelSpec, Recipe, StageSpec, load_recipe
from training.data import write_lineage
from training.tokenizer import build_byte_bpe


def load_tokenizer(spec: ModelSpec, sample_texts: Iterable[str] = ()):
    """The stage's tokenizer: from a directory, or the tiny offline BPE trained on `sample_texts`."""
    if spec.tokenizer == "tiny-bpe":
        return build_byte_bpe(sample_texts, vocab_size=spec.tokenizer_vocab)
    source = spec.tokenizer or spec.path
    if source is None:
        raise ValueError("model.tokenizer or model.path must name a tokenizer")
    tok = AutoTokenizer.from_pretrained(source)
    if tok.pad_token is None:  # Llama-3 ships none; padding positions are masked out anyway
        tok.pad_token = tok.eos_token
    return tok


def refuse_masked(config, path) -> None:
    """A checkpoint saved while MSG masks were still opening has plain Llama tensor names but computes another
    function without its masks: only CPT (which re-attaches them) may load it."""
    if getattr(config, "msg_growth", None):
        raise ValueError(
            f"{path} is an MSG-grown checkpoint whose masks are not folded yet (config.json msg_growth): continue "
            "CPT from it (training.cpt re-attaches the masks) until they open and fold; other stages cannot use it"
        )


def check_loadable(spec: ModelSpec) -> None:
    """Refuse a masked checkpoint from its config.json alone, before any data or weights are read."""
    if spec.path is not None:
        refuse_masked(LlamaConfig.from_pretrained(spec.path), spec.path)


def load_model(spec: ModelSpec, tokenizer, allow_masked: bool = False) -> LlamaForCausalLM:
    """From `spec.path`, or a fresh random Llama from `spec.init` sized to the tokenizer.

    A masked checkpoint (``msg_growth`` in its config) is refused unless `allow_masked` (CPT re-attaches masks).
    """
    dtype = getattr(torch, spec.dtype)
    if spec.path is not None:
        if not allow_masked:
            check_loadable(spec)
        model = LlamaForCausalLM.from_pretrained(spec.path, dtype=dtype, attn_implementation=spec.attn_implementation)
        model.config.use_cache = False  # see below
        return model
    if spec.init is None:
        raise ValueError("model.path or model.init is required")
    cfg = LlamaConfig(
        **spec.init,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    cfg._attn_implementation = spec.attn_implementation
    # A KV cache during training is useless and, in transformers 5.24, also turns off the packed-sequence mask that
    # position ids select (masking_utils checks `cache is None`): documents in a packed row would see each other.
    cfg.use_cache = False
    torch.manual_seed(0)
    return LlamaForCausalLM(cfg).to(dtype)


def cli(description: str, argv: list[str] | None = None) -> tuple[Recipe, argparse.Namespace]:
    """Parse `--recipe PATH [--set a.b=value ...] [--resume-from CHECKPOINT]`; returns (recipe, parsed args)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--recipe", required=True, help="recipe YAML, e.g. training/recipes/tiny-cpu.yaml")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. cpt.args.max_steps=3"
    )
    parser.add_argument("--resume-from", default=None, help="CPT: checkpoint directory to resume (with its data state)")
    args = parser.parse_args(argv)
    return load_recipe(args.recipe, args.set), args


def world_size() -> int:
    """Processes of the launch: WORLD_SIZE as torchrun and accelerate launch set it (1 for a plain python run)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def stage_args(stage: StageSpec, where: str, processes: int | None = None) -> dict:
    """The stage's library arguments, with gradient_accumulation_steps derived from `global_batch`.

    global_batch = per_device_train_batch_size x gradient_accumulation_steps x world size, so e.g. CPT's 1,024
    sequences are 4 steps of accumulation on 256 GCDs and 16 on 64. A world size that cannot reach the batch
    exactly is refused before anything is loaded.
    """
    args = dict(stage.args)
    if stage.global_batch is None:
        return args
    n = processes or world_size()
    per_device = args.get("per_device_train_batch_size", 8)  # transformers' default
    if "gradient_accumulation_steps" in args:
        raise ConfigError(f"{where}.args.gradient_accumulation_steps: derived from {where}.global_batch; remove one")
    if stage.global_batch % (per_device * n):
        raise ConfigError(
            f"{where}.global_batch: {stage.global_batch} sequences is not a multiple of per_device_train_batch_size "
            f"{per_device} x {n} processes; launch on a world size that divides it (at most "
            f"{stage.global_batch // per_device} processes)"
        )
    args["gradient_accumulation_steps"] = stage.global_batch // (per_device * n)
    return args


def save_final(trainer, output_dir: str, lineage: dict, name: str = "final") -> Path:
    """Save the trained model under ``<output_dir>/<name>`` with its lineage in config.json and lineage.json.

    Under FSDP (sharded parameters) ``Trainer.save_model`` with SHARDED_STATE_DICT writes no weights, so the
    model is saved sharded and merged into one loadable checkpoint (``training.checkpoint.save_consolidated``).
    """
    trainer.model.config.lineage = lineage
    final = Path(output_dir) / name
    if is_sharded(trainer.model):
        save_consolidated(
            trainer.model,
            final,
            trainer.is_world_process_zero(),
            trainer.accelerator.wait_for_everyone,
            trainer.processing_class,
        )
    else:
        trainer.save_model(str(final))
    if trainer.is_world_process_zero():
        write_lineage(final, lineage)
    return final
