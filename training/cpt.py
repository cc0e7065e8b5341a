"""Continual pretraining (CPT) on a pinned corpus snapshot, with MSG masks opening, on transformers' Trainer.

    python -m training.cpt --recipe training/recipes/tiny-cpu.yaml
    python -m training.growth.grow --base /checkpoints/llama-3-70b --recipe R --out /checkpoints/motif-102b/grown
    accelerate launch --config_file training/recipes/accelerate-fsdp.yaml -m training.cpt --recipe R

Parse, build, run, save. The model comes from one of:
- a grown checkpoint (``training.growth.grow``, config.json has ``msg_growth``): its masks are re-attached and
  set from the recipe's schedule at the Trainer's step, also on resume; nothing is grown again;
- a random tiny model (``model.init``) with a ``growth`` section: grown in memory (tests, the tiny recipe);
- a plain checkpoint with no growth to do.
A plain checkpoint that still needs growing is refused: growth happens once, offline, not in every process.

Each rank streams its own shard of the snapshot (``training.data.PackedStream``; the data loader is not
re-sharded by accelerate), and the global batch is fixed by ``global_batch`` whatever the world size. MSG masks
open step by step (``MaskCallback``) and are folded away before the final save, so ``final`` is a plain
LlamaForCausalLM (merged from shards under FSDP). Every checkpoint gets a ``lineage.json`` (snapshot, growth spec,
mask step, code commit, data state) and each rank's data state under ``data_state/``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from itertools import islice
from pathlib import Path

from torch.utils.data import DataLoader
from transformers import LlamaConfig, Trainer, TrainerCallback, TrainingArguments, default_data_collator

from training.config import ConfigError, GrowthSpec, StageSpec
from training.data import (
    DataState,
    PackedStream,
    base_lineage,
    open_stage_snapshot,
    read_lineage,
    snapshot_lineage,
    snapshot_texts,
    write_lineage,
)
from training.growth.grow import grown_configs
from training.growth.width import MaskedGrowth, MaskSchedule, base_config, grow_width
from training.losses import use_chunked_loss
from training.modeling import cli, load_model, load_tokenizer, save_final, stage_args, world_size

WIDTHS = ("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads")


class MaskCallback(TrainerCallback):
    """Sets the MSG masks from the schedule at the Trainer's step before every optimizer step (after a resume
    too: the step comes from the restored trainer state, so the masks are where the interrupted run left them)."""

    def __init__(self, growth: MaskedGrowth, schedule: MaskSchedule):
        self.growth, self.schedule = growth, schedule

    def on_train_begin(self, args, state, control, **kwargs):
        self.growth.set_step(state.global_step, self.schedule)

    def on_step_begin(self, args, state, control, **kwargs):
        self.growth.set_step(state.global_step, self.schedule)


def rank_state_path(checkpoint: str | Path, rank: int) -> Path:
    return Path(checkpoint) / "data_state" / f"rank-{rank:05d}.json"


def rows_done(args, global_step: int) -> int:
    """Rows one rank has trained on after `global_step` optimizer steps."""
    return global_step * args.per_device_train_batch_size * args.gradient_accumulation_steps


class LineageCallback(TrainerCallback):
    """Writes each rank's data state and (rank 0) lineage.json with the mask step into every checkpoint."""

    def __init__(self, lineage: dict, stream: PackedStream, masked: MaskedGrowth | None, rank: int):
        self.lineage, self.stream, self.masked, self.rank = lineage, stream, masked, rank

    def on_save(self, args, state, control, **kwargs):
        data_state = self.stream.state_at(rows_done(args, state.global_step))
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        path = rank_state_path(ckpt, self.rank)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data_state.to_json() if data_state else None))
        if state.is_world_process_zero:
            write_lineage(
                ckpt,
                {
                    **self.lineage,
                    **mask_lineage(self.masked, state.global_step),
                    "data_state": data_state.to_json() if data_state else None,
                },
            )


def mask_lineage(masked: MaskedGrowth | None, step: int) -> dict:
    if masked is None:
        return {}
    return {"mask_step": step, "masks_open": all(m.is_open for masks in masked.components for m in masks)}


class PackedTrainer(Trainer):
    """Trainer whose training data loader is this rank's own packed stream, as it is.

    accelerate would wrap an IterableDataset so that every rank reads the whole stream and keeps every W-th batch
    (or rank 0 reads for all and dispatches): each stream here is already one rank's shard.
    """

    def get_train_dataloader(self):
        return DataLoader(
            self.train_dataset,
            batch_size=self.args.per_device_train_batch_size,
            collate_fn=self.data_collator,
            num_workers=0,  # the stream records its data state in this process
            pin_memory=self.args.dataloader_pin_memory,
        )


def growth_to_do(config, growth: GrowthSpec | None) -> bool:
    """True when the recipe's growth target differs from the model's shape."""
    if growth is None:
        return False
    _, target = grown_configs(config, growth)
    return any(getattr(target, k) != getattr(config, k) for k in WIDTHS)


def apply_growth(model, growth: GrowthSpec, seed: int = 0):
    """In-memory LlamaPro depth, then MSG width (small models only); returns (model, MaskedGrowth or None)."""
    from training.growth.depth import expand_depth

    if growth.depth_every:
        model = expand_depth(model, growth.depth_every, growth.freeze_original)
    _, target = grown_configs(model.config, dataclasses.replace(growth, depth_every=None))
    if all(getattr(target, k) == getattr(model.config, k) for k in WIDTHS):
        return model, None
    return grow_width(model, target, seed)


def check_growth_plan(stage: StageSpec, growth: GrowthSpec | None) -> None:
    """Refuse, from config.json alone (before any weights load), a checkpoint that would need growing here."""
    if stage.model.path is None:
        return
    config = LlamaConfig.from_pretrained(stage.model.path)
    if getattr(config, "msg_growth", None):
        if growth is None:
            raise ConfigError(f"{stage.model.path} is a masked grown checkpoint: the recipe needs a growth section")
    elif growth_to_do(config, growth):
        raise ConfigError(
            f"cpt.model.path {stage.model.path} is not grown yet: grow it once, offline (python -m "
            "training.growth.grow --base DIR --recipe RECIPE --out DIR) and point cpt.model.path at the result; "
            "to continue from a folded checkpoint, drop the growth section (--set growth=null)"
        )


def prepare_model(stage: StageSpec, growth: GrowthSpec | None, tokenizer):
    """(model, MaskedGrowth or None): re-attach the masks of a grown checkpoint, or grow a tiny model in memory."""
    check_growth_plan(stage, growth)
    model = load_model(stage.model, tokenizer, allow_masked=True)
    if getattr(model.config, "msg_growth", None):
        return model, MaskedGrowth(model, base_config(model.config))
    if stage.model.path is not None or not growth_to_do(model.config, growth):
        return model, None
    return apply_growth(model, growth)


def resume_state(resume_from: str | None, rank: int) -> DataState | None:
    if not resume_from:
        return None
    path = rank_state_path(resume_from, rank)
    state = json.loads(path.read_text()) if path.exists() else read_lineage(resume_from)["data_state"]
    return DataState(**state)


def run_cpt(stage: StageSpec, growth: GrowthSpec | None = None, recipe_name: str = "", resume_from: str | None = None):
    """Train; returns the Trainer (its model is plain Llama once the masks are open, saved under `final`)."""
    args = TrainingArguments(**{"ignore_data_skip": resume_from is not None, **stage_args(stage, "cpt")})
    check_growth_plan(stage, growth)  # before the snapshot is read
    rank, world = int(os.environ.get("RANK", "0")), world_size()
    snap = open_stage_snapshot(stage.data, "cpt")
    sample = islice(snapshot_texts(snap, stage.data.text_column), 2000)  # only read for the tiny BPE
    tokenizer = load_tokenizer(stage.model, sample)
    model, masked = prepare_model(stage, growth, tokenizer)
    if stage.loss_chunk_size:
        use_chunked_loss(model, stage.loss_chunk_size)

    start = resume_state(resume_from, rank)
    stream = PackedStream(
        snap, tokenizer, stage.data.seq_len, stage.data.text_column, start, rank=rank, world_size=world
    )
    lineage = {
        **base_lineage(recipe_name, "cpt", stage.model, tokenizer),
        **snapshot_lineage(snap, stage.data, "cpt"),
        "seq_len": stage.data.seq_len,
        "world_size": world,
        "global_batch": args.per_device_train_batch_size * args.gradient_accumulation_steps * world,
        "growth": dataclasses.asdict(growth) if masked is not None else None,
    }
    callbacks: list[TrainerCallback] = [LineageCallback(lineage, stream, masked, rank)]
    if masked is not None:
        schedule = MaskSchedule(growth.mask_start, growth.mask_ramp, growth.mask_stagger)
        callbacks.append(MaskCallback(masked, schedule))
    trainer = PackedTrainer(
        model=model,
        args=args,
        train_dataset=stream,
        data_collator=default_data_collator,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    trainer.train(resume_from_checkpoint=resume_from)

    name = "final"
    step = trainer.state.global_step
    if masked is not None:
        masked.set_step(step, schedule)
        if all(m.is_open for masks in masked.components for m in masks):
            trainer.model = masked.fold()
        else:  # still masked (msg_growth stays in its config): a plain checkpoint would not be the trained function
            name = "final-masked-not-folded"
    data_state = stream.state_at(rows_done(args, step))
    final_lineage = {
        **lineage,
        **mask_lineage(masked, step),
        "data_state": data_state.to_json() if data_state else None,
    }
    save_final(trainer, args.output_dir, final_lineage, name)
    return trainer


def main(argv: list[str] | None = None) -> None:
    recipe, args = cli("Continual pretraining on a corpus snapshot", argv)
    if recipe.cpt is None:
        raise SystemExit("recipe has no cpt section")
    run_cpt(recipe.cpt, recipe.growth, recipe.name, resume_from=args.resume_from)


if __name__ == "__main__":
    main()
