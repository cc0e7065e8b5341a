"""Loading a stage's model and tokenizer, and the helpers every entry point shares (CLI, the final save)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from training.config import ModelSpec, Recipe, load_recipe
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


def load_model(spec: ModelSpec, tokenizer) -> LlamaForCausalLM:
    """From `spec.path`, or a fresh random Llama from `spec.init` sized to the tokenizer."""
    dtype = getattr(torch, spec.dtype)
    if spec.path is not None:
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


def save_final(trainer, output_dir: str, lineage: dict, name: str = "final") -> Path:
    """Save the trained model under ``<output_dir>/<name>`` with its lineage in config.json and lineage.json."""
    trainer.model.config.lineage = lineage
    final = Path(output_dir) / name
    trainer.save_model(str(final))
    if trainer.is_world_process_zero():
        write_lineage(final, lineage)
    return final
