"""Evaluation entry point: ``python -m training.eval.run --recipe R --model CHECKPOINT_DIR``; prints Markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from transformers import AutoTokenizer, LlamaForCausalLM

from training.config import load_recipe
from training.eval.formats import read_kmmlu, read_kormedmcqa
from training.eval.mcq import evaluate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--model", required=True, help="checkpoint directory (model and tokenizer)")
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args(argv)
    spec = load_recipe(args.recipe, args.set).eval
    if spec is None:
        raise SystemExit("recipe has no eval section")
    tok = AutoTokenizer.from_pretrained(args.model)
    model = LlamaForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16 if torch.cuda.is_available() else None)
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    suites = []
    if spec.kmmlu_dir:
        suites.append(("KMMLU", read_kmmlu(spec.kmmlu_dir, "test"), read_kmmlu(spec.kmmlu_dir, "dev")))
    if spec.kormedmcqa_dir:
        d = Path(spec.kormedmcqa_dir)
        test, dev = (read_kormedmcqa(next(d.glob(f"*{split}*"))) for split in ("test", "dev"))
        suites.append(("KorMedMCQA", test, dev))
    for name, test, dev in suites:
        result = evaluate(model, tok, test, dev, spec.shots, spec.method, spec.max_questions)
        print(f"## {name} ({spec.shots}-shot, {spec.method})\n\n{result.table()}\n")


if __name__ == "__main__":
    main()
