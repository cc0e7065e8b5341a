"""Continual pretraining (CPT) on a pinned corpus snapshot, with optional model growth, on transformers' Trainer.

    python -m training.cpt --recipe training/recipes/tiny-cpu.yaml
    accelerate launch --config_file training/recipes/accelerate-fsdp.yaml -m training.cpt \
        --recipe training/recipes/llama3-motif-102b.yaml

Parse, build, run, save: the model (grown by LlamaPro + MSG when the recipe has a ``growth`` section), a packed
stream of the snapshot (``training.data``), the Trainer; MSG masks open step by step (``MaskCallback``) and are
folded away before the final save, so the output is a plain LlamaForCausalLM. Every checkpoint gets a
``lineage.json`` (snapshot id, tags, data state for resuming, base model, tokenizer fingerprint) and the final
model's config.json carries the same ``lineage`` block.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from transformers import Trainer, TrainerCallback, TrainingArguments, default_data_collator

from training.config import GrowthSpec, StageSpec
from training.data import (
    DataState,
    PackedStream,
    base_lineage,
    open_snapshot,
    read_lineage,
    snapshot_texts,
    write_lineage,
)
from training.growth.depth import expand_depth
from training.growth.width import MaskedGrowth, MaskSchedule, grow_width, grown_config
from training.losses import use_chunked_loss
from training.modeling import cli, load_model, load_tokenizer, save_final


class MaskCallback(TrainerCallback):
    """Opens the MSG masks according to the schedule before every optimizer step."""

    def __init__(self, growth: MaskedGrowth, schedule: MaskSchedule):
        self.growth, self.schedule = growth, schedule

    def on_step_begin(self, args, state, control, **kwargs):
        self.growth.set_step(state.global_step, self.schedule)


class LineageCallback(TrainerCallback):
    """Writes lineage.json (with the data state to resume from) into every checkpoint directory."""

    def __init__(self, lineage: dict, stream: PackedStream):
        self.lineage, self.stream = lineage, stream

    def on_save(self, args, state, control, **kwargs):
        rows = state.global_step * args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
        data_state = self.stream.state_at(rows)
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero:
            write_lineage(ckpt, {**self.lineage, "data_state": data_state.to_json() if data_state else None})


def apply_growth(model, growth: GrowthSpec):
    """LlamaPro depth, then MSG width; returns (model, MaskedGrowth or None)."""
    if growth.depth_every:
        model = expand_depth(model, growth.depth_every, growth.freeze_original)
    cfg = model.config
    widths = (growth.hidden_size, growth.intermediate_size, growth.num_attention_heads, growth.num_key_value_heads)
    if all(w is None for w in widths):
        return model, None
    target = grown_config(
        cfg,
        hidden_size=growth.hidden_size or cfg.hidden_size,
        intermediate_size=growth.intermediate_size or cfg.intermediate_size,
        num_attention_heads=growth.num_attention_heads or cfg.num_attention_heads,
        num_key_value_heads=growth.num_key_value_heads or cfg.num_key_value_heads,
    )
    return grow_width(model, target)


def run_cpt(stage: StageSpec, growth: GrowthSpec | None = None, recipe_name: str = "", resume_from: str | None = None):
    """Train; returns the Trainer (its model is plain Llama, saved under `<output_dir>/final`)."""
    snap = open_snapshot(stage.data.snapshot, stage.data.data_root, stage.data.table)
    sample = islice(snapshot_texts(snap, stage.data.text_column), 2000)  # only read for the tiny BPE
    tokenizer = load_tokenizer(stage.model, sample)
    model = load_model(stage.model, tokenizer)
    masked = None
    if growth is not None:
        model, masked = apply_growth(model, growth)
    if stage.loss_chunk_size:
        use_chunked_loss(model, stage.loss_chunk_size)

    start = DataState(**read_lineage(resume_from)["data_state"]) if resume_from else None
    stream = PackedStream(snap, tokenizer, stage.data.seq_len, stage.data.text_column, start=start)
    lineage = {
        **base_lineage(recipe_name, "cpt", stage.model, tokenizer),
        "snapshot_id": str(snap.snapshot_id),
        "snapshot_ref": stage.data.snapshot,
        "snapshot_tags": snap.tags,
        "snapshot_run_id": snap.summary.get("dataflow.run_id"),
        "table": stage.data.table,
        "seq_len": stage.data.seq_len,
    }
    # The stream resumes itself from the saved data state, so the Trainer must not skip batches again
    args = TrainingArguments(**{"ignore_data_skip": resume_from is not None, **stage.args})
    callbacks: list[TrainerCallback] = [LineageCallback(lineage, stream)]
    if masked is not None:
        schedule = MaskSchedule(growth.mask_start, growth.mask_ramp, growth.mask_stagger)
        callbacks.append(MaskCallback(masked, schedule))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=stream,
        data_collator=default_data_collator,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    trainer.train(resume_from_checkpoint=resume_from)

    name = "final"
    if masked is not None:
        masked.set_step(trainer.state.global_step, schedule)
        if all(m.is_open for masks in masked.components for m in masks):
            trainer.model = masked.fold()
        else:  # still masked: a plain checkpoint would not be the trained function, so say so
            name = "final-masked-not-folded"
    rows = trainer.state.global_step * args.per_device_train_batch_size * args.gradient_accumulation_steps
    data_state = stream.state_at(rows * args.world_size)
    save_final(trainer, args.output_dir, {**lineage, "data_state": data_state.to_json() if data_state else None}, name)
    return trainer


def main(argv: list[str] | None = None) -> None:
    recipe, args = cli("Continual pretraining on a corpus snapshot", argv)
    if recipe.cpt is None:
        raise SystemExit("recipe has no cpt section")
    run_cpt(recipe.cpt, recipe.growth, recipe.name, resume_from=args.resume_from)


if __name__ == "__main__":
    main()
