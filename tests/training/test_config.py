"""Recipes load strictly, and their stage args are valid for the library configs they are passed to."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import TrainingArguments
from trl import KTOConfig, SFTConfig

from training.config import load_recipe

RECIPES = Path(__file__).resolve().parents[2] / "training" / "recipes"


@pytest.mark.parametrize("name", ["tiny-cpu.yaml", "llama3-motif-102b.yaml"])
def test_recipe_args_are_valid_library_arguments(name, tmp_path):
    recipe = load_recipe(RECIPES / name)
    for cls, stage in ((TrainingArguments, recipe.cpt), (SFTConfig, recipe.sft), (KTOConfig, recipe.kto)):
        args = {**stage.args, "output_dir": str(tmp_path), "use_cpu": True, "bf16": False}  # no GPU here
        cls(**args)


def test_102b_recipe_hyperparameters():
    r = load_recipe(RECIPES / "llama3-motif-102b.yaml")
    assert r.sft.args["neftune_noise_alpha"] == 8
    kto = r.kto.args
    assert (kto["learning_rate"], kto["desirable_weight"], kto["undesirable_weight"]) == (1e-6, 1.375, 1.0)
    assert kto["per_device_train_batch_size"] * 64 * kto["gradient_accumulation_steps"] == 128  # 64 GCDs
    assert kto["neftune_noise_alpha"] is None
    assert (r.growth.depth_every, r.growth.hidden_size, r.growth.num_attention_heads) == (5, 9216, 72)


def test_unknown_keys_are_errors(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: x\ncpt:\n  model: {path: m, dtyp: bfloat16}\n  data: {}\n")
    with pytest.raises(ValueError, match="dtyp"):
        load_recipe(path)
    assert load_recipe(RECIPES / "tiny-cpu.yaml", ["cpt.args.max_steps=7"]).cpt.args["max_steps"] == 7


def test_wrong_types_name_the_dotted_key(tmp_path):
    from training.config import ConfigError

    path = tmp_path / "r.yaml"
    path.write_text("name: x\ngrowth: {depth_every: five}\n")
    with pytest.raises(ConfigError, match=r"growth\.depth_every"):
        load_recipe(path)
    with pytest.raises(ConfigError, match=r"cpt\.data\.seq_len"):
        load_recipe(RECIPES / "tiny-cpu.yaml", ["cpt.data.seq_len=long"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_recipe(RECIPES / "tiny-cpu.yaml", ["cpt.data.seq_len"])


def test_trl_private_override_is_guarded():
    from trl import KTOTrainer

    from training.kto import check_trl_private_api

    check_trl_private_api()  # the pinned trl matches

    class Renamed(KTOTrainer):
        _precompute_ref_logps = None

    with pytest.raises(RuntimeError, match=r"trl 9\.9\.9: KTOTrainer\._precompute_ref_logps is missing"):
        check_trl_private_api(Renamed, version="9.9.9")

    class Resigned(KTOTrainer):
        def _precompute_ref_logps(self, dataset, name):
            return dataset

    with pytest.raises(RuntimeError, match="expected"):
        check_trl_private_api(Resigned, version="9.9.9")
