"""Supervised fine-tuning with trl's SFTTrainer, NEFTune noise scaled per example (also when packing).

    python -m training.sft --recipe training/recipes/tiny-cpu.yaml

The recipe's ``neftune_noise_alpha`` (8) is read from the stage args as usual, but applied by
``training.neftune.PerExampleNEFTune`` instead of transformers' row-length hook (see that module for why).
Data: a prompt/completion (or text / messages) table, from a snapshot table or from local files.
"""

from __future__ import annotations

from trl import SFTConfig, SFTTrainer

from training.config import StageSpec
from training.data import base_lineage, load_table
from training.modeling import check_loadable, cli, load_model, load_tokenizer, save_final, stage_args
from training.neftune import PerExampleNEFTune


class PerExampleNEFTuneSFTTrainer(SFTTrainer):
    """SFTTrainer whose NEFTune noise uses each example's own length; everything else is trl's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.per_example_neftune_alpha = self.neftune_noise_alpha
        self.neftune_noise_alpha = None  # keeps transformers' row-length hook from being attached as well

    def train(self, *args, **kwargs):
        if self.per_example_neftune_alpha is None:
            return super().train(*args, **kwargs)
        hooks = PerExampleNEFTune(self.model, self.per_example_neftune_alpha)
        try:
            return super().train(*args, **kwargs)
        finally:
            hooks.remove()


def run_sft(stage: StageSpec, dataset=None, dataset_id: str | None = None, recipe_name: str = ""):
    """Train; `dataset` (a datasets.Dataset) and its id replace the stage's data source when given."""
    check_loadable(stage.model)  # a masked checkpoint is refused before the data is read
    source = {"dataset_id": dataset_id}
    if dataset is None:
        dataset, dataset_id, source = load_table(stage.data, "sft")
    sample = (
        r.get("prompt", "") + r.get("completion", r.get("text", ""))
        for r in dataset.select(range(min(2000, len(dataset))))
    )
    tokenizer = load_tokenizer(stage.model, sample)
    model = load_model(stage.model, tokenizer)
    args = SFTConfig(**stage_args(stage, "sft"))
    trainer = PerExampleNEFTuneSFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    lineage = {
        **base_lineage(recipe_name, "sft", stage.model, tokenizer),
        **source,
        "neftune_noise_alpha": trainer.per_example_neftune_alpha,
        "neftune": "per-example",
    }
    save_final(trainer, args.output_dir, lineage)
    return trainer


def main(argv: list[str] | None = None) -> None:
    recipe, _ = cli("Supervised fine-tuning (NEFTune per example)", argv)
    if recipe.sft is None:
        raise SystemExit("recipe has no sft section")
    run_sft(recipe.sft, recipe_name=recipe.name)


if __name__ == "__main__":
    main()
