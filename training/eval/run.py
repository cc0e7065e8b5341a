"""Evaluation entry point: ``python -m training.eval.run --recipe R --model CHECKPOINT_DIR``; prints Markdown.

KMMLU (every subject CSV) and KorMedMCQA (every exam type: doctor, nurse, pharm, dentist) from the recipe's
``eval`` section. ``eval.device_map: auto`` (or ``--device-map auto``) loads the model sharded over every visible
GPU through accelerate's big-model placement, so a 102B model (204 GB in bf16) is evaluated without fitting
one device. A masked (unfolded MSG) checkpoint is refused: it is not the function it would appear to be.
"""

from __future__ import annotations

import argparse

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from training.config import load_recipe
from training.eval.formats import read_kmmlu, read_kormedmcqa_dir
from training.eval.mcq import EvalResult, evaluate
from training.modeling import refuse_masked


def load_eval_model(path: str, device_map: str | None = None) -> LlamaForCausalLM:
    refuse_masked(LlamaConfig.from_pretrained(path), path)
    gpu = torch.cuda.is_available()
    dtype = torch.bfloat16 if gpu else None
    if device_map:
        return LlamaForCausalLM.from_pretrained(path, dtype=dtype, device_map=device_map)
    return LlamaForCausalLM.from_pretrained(path, dtype=dtype).to("cuda" if gpu else "cpu")


def main(argv: list[str] | None = None) -> dict[str, EvalResult]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--model", required=True, help="checkpoint directory (model and tokenizer)")
    parser.add_argument("--device-map", default=None, help='"auto": shard the model over all visible devices')
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args(argv)
    spec = load_recipe(args.recipe, args.set).eval
    if spec is None:
        raise SystemExit("recipe has no eval section")
    suites = []
    if spec.kmmlu_dir:
        suites.append(("KMMLU", read_kmmlu(spec.kmmlu_dir, "test"), read_kmmlu(spec.kmmlu_dir, "dev")))
    if spec.kormedmcqa_dir:
        test, dev = (read_kormedmcqa_dir(spec.kormedmcqa_dir, split) for split in ("test", "dev"))
        suites.append(("KorMedMCQA", test, dev))
    tok = AutoTokenizer.from_pretrained(args.model)
    model = load_eval_model(args.model, args.device_map or spec.device_map)
    results = {}
    for name, test, dev in suites:
        results[name] = evaluate(
            model, tok, test, dev, spec.shots, spec.method, spec.max_questions, spec.allow_fewer_shots
        )
        print(f"## {name} ({spec.shots}-shot, {spec.method})\n\n{results[name].table()}\n")
    return results


if __name__ == "__main__":
    main()
