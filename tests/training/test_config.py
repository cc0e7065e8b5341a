"""Recipes load strictly, and their stage args are valid for the library configs they are passed to."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import TrainingArguments
from trl import KTOConfig, SFTConfig

from training.config import ConfigError, load_recipe
from training.modeling import stage_args

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
    assert kto["neftune_noise_alpha"] is None
    assert (r.growth.depth_every, r.growth.hidden_size, r.growth.num_attention_heads) == (5, 9216, 72)
    assert all(not s.args.get("activation_checkpointing", False) for s in (r.cpt, r.sft, r.kto))  # FSDP does it


@pytest.mark.parametrize(
    ("stage", "processes", "accumulation"),
    [("cpt", 256, 4), ("cpt", 64, 16), ("sft", 256, 2), ("kto", 64, 1), ("kto", 32, 2), ("kto", 128, None)],
)
def test_global_batch_sets_accumulation_from_world_size(stage, processes, accumulation):
    r = load_recipe(RECIPES / "llama3-motif-102b.yaml")
    spec = getattr(r, stage)
    if accumulation is None:  # 2 per device x 128 processes = 256 > 128: refused, with the largest world that fits
        with pytest.raises(ConfigError, match=r"kto\.global_batch: 128 .*at most 64 processes"):
            stage_args(spec, stage, processes)
        return
    args = stage_args(spec, stage, processes)
    assert args["gradient_accumulation_steps"] == accumulation
    assert args["per_device_train_batch_size"] * accumulation * processes == spec.global_batch


def test_global_batch_reads_world_size_and_refuses_a_second_accumulation(monkeypatch):
    r = load_recipe(RECIPES / "llama3-motif-102b.yaml", ["cpt.args.gradient_accumulation_steps=4"])
    with pytest.raises(ConfigError, match="cpt.args.gradient_accumulation_steps"):
        stage_args(r.cpt, "cpt", 256)
    monkeypatch.setenv("WORLD_SIZE", "128")
    assert stage_args(load_recipe(RECIPES / "llama3-motif-102b.yaml").cpt, "cpt")["gradient_accumulation_steps"] == 8


def launcher_env(num_processes: int) -> dict[str, str]:
    """The environment `accelerate launch --config_file accelerate-fsdp.yaml` gives each process."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    argv = [
        "--config_file",
        str(RECIPES / "accelerate-fsdp.yaml"),
        "--num_machines",
        str(num_processes // 8),
        "--num_processes",
        str(num_processes),
        "-m",
        "training.cpt",
        "--recipe",
        "r.yaml",
    ]
    args, _, _ = _validate_launch_command(launch_command_parser().parse_args(argv))
    return prepare_multi_gpu_env(args)


@pytest.mark.parametrize("stage", ["cpt", "sft", "kto"])
def test_recipe_and_accelerate_config_start_a_trainer(stage, tmp_path, monkeypatch):
    """The TrainingArguments the launcher builds (its FSDP environment, world size 256 for the batch), then a
    Trainer: FSDP itself needs GPUs, so the Trainer's FSDP-only check (both activation checkpointings set) is
    applied to the FSDP plugin accelerate builds from the same environment."""
    from accelerate.utils import FullyShardedDataParallelPlugin
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer

    env = launcher_env(256 if stage != "kto" else 64)
    assert env["FSDP_ACTIVATION_CHECKPOINTING"] == "true" and env["FSDP_STATE_DICT_TYPE"] == "SHARDED_STATE_DICT"
    r = load_recipe(RECIPES / "llama3-motif-102b.yaml")
    spec = getattr(r, stage)
    args = stage_args(spec, stage, int(env["WORLD_SIZE"]) if "WORLD_SIZE" in env else (256 if stage != "kto" else 64))
    for key, value in env.items():
        if key.startswith(("ACCELERATE_", "FSDP_")):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "no")  # bf16 autocast needs a GPU here
    cls = {"cpt": TrainingArguments, "sft": SFTConfig, "kto": KTOConfig}[stage]
    targs = cls(**{**args, "output_dir": str(tmp_path), "use_cpu": True, "bf16": False})
    plugin = FullyShardedDataParallelPlugin()  # from the launcher's environment, as the Accelerator builds it
    assert plugin.activation_checkpointing and not targs.activation_checkpointing
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=32,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
        )
    )
    trainer = Trainer(model=model, args=targs)
    assert trainer.args.gradient_accumulation_steps == args["gradient_accumulation_steps"]
    assert trainer.args.ddp_timeout == 7200 and trainer.args.save_total_limit in (2, 3)


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
