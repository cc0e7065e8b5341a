"""3-step CPT, SFT and KTO runs of the tiny-cpu recipe: weights move, lineage is written, the KTO cache is reused."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import LlamaForCausalLM

from training.config import load_recipe
from training.cpt import run_cpt
from training.data import read_lineage
from training.kto import run_kto
from training.modeling import load_model, load_tokenizer
from training.sft import PerExampleNEFTuneSFTTrainer, run_sft

from .conftest import RECIPE, trainable_snapshot, write_jsonl

pytestmark = pytest.mark.slow


def moved(before: dict[str, torch.Tensor], model: torch.nn.Module) -> list[str]:
    """Names of the trainable weights that did NOT change."""
    after = dict(model.named_parameters())
    return [n for n, p in before.items() if torch.equal(p, after[n].detach().cpu())]


def test_cpt_grows_trains_folds_and_records_lineage(corpus, tmp_path, monkeypatch):
    root, snap_id = corpus
    recipe = load_recipe(
        RECIPE, [f"cpt.data.data_root={root}", "cpt.data.snapshot=fixture-v1", f"cpt.args.output_dir={tmp_path}"]
    )
    captured = {}
    original = run_cpt.__globals__["Trainer"].train

    def spy(self, *args, **kwargs):  # the grown, masked model's weights, just before training
        captured["before"] = trainable_snapshot(self.model)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(run_cpt.__globals__["Trainer"], "train", spy)
    trainer = run_cpt(recipe.cpt, recipe.growth, recipe.name)
    assert trainer.state.global_step == 3
    assert moved(captured["before"], trainer.model) == []
    final = tmp_path / "final"
    lineage = read_lineage(final)
    assert lineage["snapshot_id"] == snap_id and lineage["snapshot_tags"] == ["fixture-v1"]
    assert lineage["data_state"]["rows"] == 6 and lineage["data_state"]["snapshot_id"] == snap_id
    assert read_lineage(tmp_path / "checkpoint-2")["data_state"]["rows"] == 4
    assert json.loads((final / "config.json").read_text())["lineage"]["snapshot_id"] == snap_id
    grown = LlamaForCausalLM.from_pretrained(final)  # folded: plain Llama, no custom code
    assert grown.config.num_hidden_layers == 4 and grown.config.hidden_size == 96


def test_sft_trains_with_per_example_neftune(tmp_path, sft_rows, monkeypatch):
    data = write_jsonl(tmp_path / "sft.jsonl", sft_rows)
    recipe = load_recipe(RECIPE, [f"sft.data.files=[{data}]", f"sft.args.output_dir={tmp_path / 'out'}"])
    noise_calls = []
    from training import neftune

    original = neftune.PerExampleNEFTune._add_noise

    def spy(self, module, args, output):
        noise_calls.append(self.batch["position_ids"])
        return original(self, module, args, output)

    monkeypatch.setattr(neftune.PerExampleNEFTune, "_add_noise", spy)
    before = {}
    original_train = PerExampleNEFTuneSFTTrainer.train

    def train_spy(self, *a, **k):
        before.update(trainable_snapshot(self.model))
        return original_train(self, *a, **k)

    monkeypatch.setattr(PerExampleNEFTuneSFTTrainer, "train", train_spy)
    trainer = run_sft(recipe.sft, recipe_name=recipe.name)
    assert trainer.state.global_step == 3 and trainer.neftune_noise_alpha is None  # transformers' hook stayed off
    assert trainer.per_example_neftune_alpha == 8
    assert moved(before, trainer.model) == []
    assert len(noise_calls) == 3 and all(p is not None for p in noise_calls)  # packed rows bring position ids
    assert any((p[0, 1:] == 0).any() for p in noise_calls)  # ...with several examples in a row
    assert read_lineage(tmp_path / "out" / "final")["neftune"] == "per-example"


def test_kto_trains_and_second_run_computes_no_reference_logps(tmp_path, kto_rows, monkeypatch):
    data = write_jsonl(tmp_path / "kto.jsonl", kto_rows)
    cache = tmp_path / "cache"
    base = [f"kto.data.files=[{data}]", f"kto.ref_cache_dir={cache}"]
    recipe = load_recipe(RECIPE, [*base, f"kto.args.output_dir={tmp_path / 'run1'}"])

    def reference(stage):  # an explicit, frozen reference model whose forward passes we count
        tok = load_tokenizer(stage.model, (r["prompt"] + r["completion"] for r in kto_rows))
        ref = load_model(stage.model, tok).eval()
        calls = []
        ref.register_forward_hook(lambda *a: calls.append(1))
        return ref, calls

    ref1, calls1 = reference(recipe.kto)
    before = trainable_snapshot(
        load_model(
            recipe.kto.model, load_tokenizer(recipe.kto.model, (r["prompt"] + r["completion"] for r in kto_rows))
        )
    )  # the policy starts from the same seed-0 weights
    first = run_kto(recipe.kto, recipe_name=recipe.name, ref_model=ref1)
    assert first.state.global_step == 3 and len(calls1) > 0 and first.ref_forward_batches > 0
    assert moved(before, first.model) == []
    assert first.ref_cache_hits == []

    # A different hyperparameter run (beta, weights, lr) with the same reference, data, tokenizer and max_length
    recipe2 = load_recipe(
        RECIPE,
        [
            *base,
            f"kto.args.output_dir={tmp_path / 'run2'}",
            "kto.args.beta=0.3",
            "kto.args.desirable_weight=1.0",
            "kto.args.learning_rate=2.0e-4",
        ],
    )
    ref2, calls2 = reference(recipe2.kto)
    second = run_kto(recipe2.kto, recipe_name=recipe2.name, ref_model=ref2)
    assert second.ref_cache_hits == ["train"]
    assert len(calls2) == 0 and second.ref_forward_batches == 0
    assert second.state.global_step == 3
    assert read_lineage(tmp_path / "run2" / "final")["ref_cache_hit"] is True

    # A different max_length is a different key: computed again
    recipe3 = load_recipe(
        RECIPE, [*base, f"kto.args.output_dir={tmp_path / 'run3'}", "kto.args.max_length=48", "kto.args.max_steps=1"]
    )
    ref3, calls3 = reference(recipe3.kto)
    third = run_kto(recipe3.kto, recipe_name=recipe3.name, ref_model=ref3)
    assert third.ref_cache_hits == [] and len(calls3) > 0
