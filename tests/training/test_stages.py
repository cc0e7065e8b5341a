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


def tiny_base(tmp_path, corpus_texts):
    """A saved tiny Llama base checkpoint with its tokenizer (the 'Llama-3-70B' of the tests)."""
    recipe = load_recipe(RECIPE)
    tok = load_tokenizer(recipe.cpt.model, corpus_texts)
    model = load_model(recipe.cpt.model, tok)
    model.save_pretrained(tmp_path / "base", max_shard_size="100KB")
    tok.save_pretrained(tmp_path / "base")
    return tmp_path / "base"


def test_cpt_from_grown_checkpoint_resumed_mid_ramp_equals_uninterrupted(corpus, tmp_path):
    from training.data import open_snapshot, snapshot_texts
    from training.growth.grow import grow_checkpoint

    root, snap_id = corpus
    base = tiny_base(tmp_path, list(snapshot_texts(open_snapshot("fixture-v1", root))))
    common = [
        f"cpt.data.data_root={root}",
        "cpt.data.snapshot=fixture-v1",
        "cpt.model.init=null",
        "cpt.model.tokenizer=null",
        "growth.mask_ramp=4",
        "cpt.args.max_steps=4",
        "cpt.args.save_steps=2",
    ]
    recipe = load_recipe(RECIPE, common)
    grown = grow_checkpoint(base, recipe.growth, tmp_path / "grown", seed=0)
    common.append(f"cpt.model.path={grown}")

    def run(out, resume=None):
        r = load_recipe(RECIPE, [*common, f"cpt.args.output_dir={out}"])
        return run_cpt(r.cpt, r.growth, r.name, resume_from=resume)

    run(tmp_path / "a")
    half = tmp_path / "a" / "checkpoint-2"
    mid = read_lineage(half)
    assert (mid["mask_step"], mid["masks_open"]) == (2, False)  # saved while the masks were half open...
    assert json.loads((half / "config.json").read_text())["msg_growth"]["base_hidden_size"] == 64  # ...and marked
    assert mid["growth"]["mask_ramp"] == 4 and mid["code_commit"] and mid["data_state"]["rows"] == 4
    with pytest.raises(ValueError, match="masks are not folded"):  # SFT, KTO and eval refuse it
        load_model(load_recipe(RECIPE, [f"sft.model.path={half}", "sft.model.init=null"]).sft.model, None)

    resumed = run(tmp_path / "b", resume=str(half))
    assert resumed.state.global_step == 4
    a = LlamaForCausalLM.from_pretrained(tmp_path / "a" / "final").state_dict()
    b = LlamaForCausalLM.from_pretrained(tmp_path / "b" / "final").state_dict()
    assert a.keys() == b.keys() and [k for k in a if not torch.equal(a[k], b[k])] == []
    final = read_lineage(tmp_path / "b" / "final")
    assert (final["mask_step"], final["masks_open"], final["base_model"]) == (4, True, str(grown))
    assert "msg_growth" not in json.loads((tmp_path / "b" / "final" / "config.json").read_text())  # folded


def test_cpt_refuses_to_grow_a_checkpoint_in_every_process(corpus, tmp_path):
    from training.config import ConfigError
    from training.data import open_snapshot, snapshot_texts

    root, _ = corpus
    base = tiny_base(tmp_path, list(snapshot_texts(open_snapshot("fixture-v1", root))))
    r = load_recipe(
        RECIPE,
        [
            f"cpt.data.data_root={root}",
            f"cpt.model.path={base}",
            "cpt.model.init=null",
            "cpt.model.tokenizer=null",
            f"cpt.args.output_dir={tmp_path / 'out'}",
        ],
    )
    with pytest.raises(ConfigError, match="training.growth.grow"):
        run_cpt(r.cpt, r.growth, r.name)


def test_sft_and_kto_read_instruct_tables_by_tag(instruct_tables, tmp_path):
    root, ids = instruct_tables
    sets = [
        f"sft.data.data_root={root}",
        "sft.data.snapshot=release-v1",
        "sft.data.files=null",
        f"sft.args.output_dir={tmp_path / 'sft'}",
        "sft.args.max_steps=1",
        f"kto.data.data_root={root}",
        "kto.data.snapshot=release-v1",
        "kto.data.files=null",
        f"kto.args.output_dir={tmp_path / 'kto'}",
        f"kto.ref_cache_dir={tmp_path / 'ref-cache'}",  # never the recipe's runs/ inside the checkout
        "kto.args.max_steps=1",
    ]
    recipe = load_recipe(RECIPE, sets)
    run_sft(recipe.sft, recipe_name=recipe.name)
    sft = read_lineage(tmp_path / "sft" / "final")
    assert (sft["snapshot_id"], sft["dataset_id"], sft["table"]) == (ids["sft"], ids["sft"], "instruct.sft")
    assert sft["snapshot_tags"] == ["release-v1"] and sft["snapshot_run_id"] is None  # appended outside a run
    run_kto(recipe.kto, recipe_name=recipe.name)
    kto = read_lineage(tmp_path / "kto" / "final")
    assert (kto["snapshot_id"], kto["table"]) == (ids["kto"], "instruct.kto")


def test_kto_cache_is_keyed_by_reference_content_never_reused_after_it_changes(tmp_path, kto_rows):
    """Two reference checkpoints (2 and 3 layers) in turn at the same path: the second is a cache miss."""
    import shutil

    from training.checkpoint import checkpoint_fingerprint

    data = write_jsonl(tmp_path / "kto.jsonl", kto_rows)
    recipe = load_recipe(RECIPE)
    texts = [r["prompt"] + r["completion"] for r in kto_rows]
    tok = load_tokenizer(recipe.kto.model, texts)
    refs = {}
    for layers in (2, 3):
        spec = load_recipe(RECIPE, [f"kto.model.init.num_hidden_layers={layers}"]).kto.model
        refs[layers] = tmp_path / f"ref{layers}"
        load_model(spec, tok).save_pretrained(refs[layers])
        tok.save_pretrained(refs[layers])
    assert checkpoint_fingerprint(refs[2]) != checkpoint_fingerprint(refs[3])
    shutil.copytree(refs[2], tmp_path / "same-content-other-name")
    assert checkpoint_fingerprint(tmp_path / "same-content-other-name") == checkpoint_fingerprint(refs[2])

    current = tmp_path / "sft-final"  # one name, two contents: what a named fingerprint got wrong

    def run(layers, out):
        if current.exists():
            shutil.rmtree(current)
        shutil.copytree(refs[layers], current)
        r = load_recipe(
            RECIPE,
            [
                f"kto.data.files=[{data}]",
                f"kto.ref_cache_dir={tmp_path / 'cache'}",
                f"kto.model.path={current}",
                "kto.model.init=null",
                "kto.model.tokenizer=null",
                f"kto.args.output_dir={tmp_path / out}",
                "kto.args.max_steps=1",
            ],
        )
        return run_kto(r.kto, recipe_name=r.name)

    first = run(2, "r1")
    assert first.ref_cache_hits == [] and first.ref_forward_batches > 0
    assert run(2, "r2").ref_cache_hits == ["train"]  # same content: reused
    third = run(3, "r3")
    assert third.ref_cache_hits == [] and third.ref_forward_batches > 0  # changed reference: computed again
    assert read_lineage(tmp_path / "r3" / "final")["reference_fingerprint"] == checkpoint_fingerprint(refs[3])
