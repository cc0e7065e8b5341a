"""KTO with trl's KTOTrainer and reference log-probs computed once, cached on disk, reused across runs.

    python -m training.kto --recipe training/recipes/tiny-cpu.yaml

Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic Optimization" (arXiv:2402.01306). The
reference model is frozen, so its log-probs of each (prompt, completion) depend only on

    key = sha256(reference model fingerprint, dataset snapshot id, tokenizer fingerprint, max_length[, KL batch])

and not on beta, the learning rate or the desirable/undesirable weights that a sweep varies. With
``precompute_ref_log_probs=True`` trl computes them before training; ``CachedRefKTOTrainer`` stores them under
``ref_cache_dir/<key>/`` and, on the next run with the same key, loads them and runs no reference forward pass.
The KL term's mismatched completions are paired within batches of ``per_device_train_batch_size``, so when the
loss needs them (loss_type "kto") that batch size joins the key. A checksum of the tokenized examples is stored
and checked on load, so a cache can never be applied to different rows.

The reference fingerprint is the reference checkpoint's content (``training.checkpoint.checkpoint_fingerprint``:
config, index and the sha256 of every weight file, computed on the main process and broadcast), or trl's hash of
the weights for a reference passed in memory; never a name, which could point at other weights and make a
different reference reuse stale log-probs.

Under FSDP, trl 1.16 loads the reference from the policy's path (``from_pretrained``; with accelerate's
cpu-RAM-efficient loading only local rank 0 reads it, the others start on the meta device), shards it with
``prepare_fsdp`` and frees it after the precompute, so the reference pass below runs on the sharded model;
``_compute_all`` refuses an unsharded one there (a 102B model does not fit one device).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path

import torch
import trl
from trl import KTOConfig, KTOTrainer

from training.checkpoint import checkpoint_fingerprint, is_sharded
from training.config import StageSpec
from training.data import base_lineage, load_table
from training.modeling import check_loadable, cli, load_model, load_tokenizer, save_final, stage_args
from training.tokenizer import tokenizer_fingerprint


def ref_cache_key(
    reference: str, dataset_id: str, tokenizer_fp: str, max_length: int | None, kl_batch: int | None
) -> str:
    parts = {
        "reference": reference,
        "dataset": dataset_id,
        "tokenizer": tokenizer_fp,
        "max_length": max_length,
        "kl_batch": kl_batch,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def rows_checksum(dataset) -> str:
    """sha256 over the tokenized prompt and completion ids, in order."""
    h = hashlib.sha256()
    for column in ("prompt_ids", "completion_ids", "KL_completion_ids"):
        if column in dataset.column_names:
            h.update(json.dumps(dataset.select_columns([column]).to_dict()[column]).encode())
    return h.hexdigest()


# trl methods this module overrides or calls, with the parameters they have in trl 1.16.0 (the pinned version).
# `_precompute_ref_logps` is private: trl may rename or re-sign it in any release, and an override that no longer
# matches would be silently bypassed (reference log-probs recomputed every run, or cached under the wrong key).
TRL_PRIVATE_API = {
    "_precompute_ref_logps": ["self", "dataset", "name", "batch_size"],
    "compute_ref_log_probs": ["self", "model", "inputs"],
}


def check_trl_private_api(trainer_cls: type = KTOTrainer, version: str = trl.__version__) -> None:
    """Raise RuntimeError, naming the trl version, unless trl's KTOTrainer has the methods overridden here."""
    for name, expected in TRL_PRIVATE_API.items():
        method = getattr(trainer_cls, name, None)
        found = list(inspect.signature(method).parameters) if callable(method) else None
        if found != expected:
            raise RuntimeError(
                f"trl {version}: KTOTrainer.{name} is {found if found else 'missing'}, expected {expected} "
                f"(training/kto.py overrides it for trl 1.16.0; check the override against this trl before use)"
            )


class CachedRefKTOTrainer(KTOTrainer):
    """KTOTrainer whose precomputed reference log-probs live in a disk cache keyed as in the module docstring."""

    def __init__(self, *args, ref_cache_dir: str | Path, dataset_id: str, reference_path: str | None = None, **kwargs):
        check_trl_private_api()
        # Set before super().__init__, which runs the precompute
        self.ref_cache_dir = Path(ref_cache_dir)
        self.dataset_id = dataset_id
        self.reference_path = reference_path  # checkpoint of the reference (None: a model passed in memory)
        self._reference_fingerprint: str | None = None
        self.ref_forward_batches = 0  # reference forward passes run by this trainer (0 when the cache was used)
        self.ref_cache_hits: list[str] = []
        super().__init__(*args, **kwargs)

    @property
    def reference_fingerprint(self) -> str:
        """Content fingerprint of the reference checkpoint (main process, broadcast), else trl's weight hash."""
        if self._reference_fingerprint is None:
            if self.reference_path is None:
                self._reference_fingerprint = f"weights:{self._precompute_model_hash}"
            else:
                from accelerate.utils import broadcast_object_list

                value = [checkpoint_fingerprint(self.reference_path) if self.accelerator.is_main_process else None]
                self._reference_fingerprint = broadcast_object_list(value, from_process=0)[0]
        return self._reference_fingerprint

    def cache_dir(self, name: str) -> Path:
        reference = self.reference_fingerprint
        kl_batch = self.args.per_device_train_batch_size if self.calculate_KL else None
        key = ref_cache_key(
            reference, self.dataset_id, tokenizer_fingerprint(self.processing_class), self.args.max_length, kl_batch
        )
        return self.ref_cache_dir / f"{key}-{name}"

    def compute_ref_log_probs(self, model, inputs):
        self.ref_forward_batches += 1
        return super().compute_ref_log_probs(model, inputs)

    def _precompute_ref_logps(self, dataset, name: str, batch_size: int):
        from datasets import Dataset, concatenate_datasets

        directory = self.cache_dir(name)
        checksum = rows_checksum(dataset)
        meta_path, data_path = directory / "meta.json", directory / "ref_logps.pt"
        if meta_path.exists() and json.loads(meta_path.read_text())["rows_checksum"] == checksum:
            self.ref_cache_hits.append(name)
            cached = torch.load(data_path)
        else:
            computed = self._compute_all(dataset, batch_size)
            cached = {k: v for k, v in computed.items() if v is not None}
            if self.accelerator.is_main_process:
                directory.mkdir(parents=True, exist_ok=True)
                torch.save(cached, directory / "ref_logps.pt.tmp")
                os.replace(directory / "ref_logps.pt.tmp", data_path)  # atomic: a crash leaves no half cache
                meta = {
                    "rows_checksum": checksum,
                    "rows": len(dataset),
                    "dataset_id": self.dataset_id,
                    "max_length": self.args.max_length,
                    "reference": self.reference_fingerprint,
                }
                meta_path.write_text(json.dumps(meta, indent=2))
            self.accelerator.wait_for_everyone()
        columns = {k: v.tolist() for k, v in cached.items()}
        return concatenate_datasets([dataset, Dataset.from_dict(columns)], axis=1)

    def _compute_all(self, dataset, batch_size: int) -> dict[str, torch.Tensor | None]:
        """trl's reference pass, without its datasets-cache side effect: {"ref_logps", "ref_KL_logps"}."""
        from torch.utils.data import DataLoader

        loader = self.accelerator.prepare(
            DataLoader(dataset, batch_size=batch_size, collate_fn=self.data_collator, shuffle=False)
        )
        model = self.ref_model or self.model
        if self.is_fsdp_enabled and not is_sharded(model):
            raise RuntimeError("KTO reference pass under FSDP on an unsharded model: it would not fit at scale")
        logps, kl_logps = [], []
        for batch in loader:
            logp, kl_logp = self.compute_ref_log_probs(model, batch)
            if self.calculate_KL:
                logp, kl_logp = self.accelerator.gather_for_metrics((logp, kl_logp))
                kl_logps.append(kl_logp.float().cpu())
            else:
                logp = self.accelerator.gather_for_metrics(logp)
            logps.append(logp.float().cpu())
        return {"ref_logps": torch.cat(logps), "ref_KL_logps": torch.cat(kl_logps) if kl_logps else None}


def run_kto(stage: StageSpec, dataset=None, dataset_id: str | None = None, recipe_name: str = "", ref_model=None):
    """Train; the dataset needs columns prompt, completion, label (bool)."""
    check_loadable(stage.model)  # a masked checkpoint is refused before the data is read
    source = {"dataset_id": dataset_id}
    if dataset is None:
        dataset, dataset_id, source = load_table(stage.data, "kto")
    sample = (r["prompt"] + r["completion"] for r in dataset.select(range(min(2000, len(dataset)))))
    tokenizer = load_tokenizer(stage.model, sample)
    model = load_model(stage.model, tokenizer)
    args = KTOConfig(**{"precompute_ref_log_probs": True, **stage_args(stage, "kto")})
    trainer = CachedRefKTOTrainer(
        model=model,
        ref_model=ref_model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        ref_cache_dir=stage.ref_cache_dir or Path(args.output_dir) / "ref-logps-cache",
        dataset_id=dataset_id,
        reference_path=stage.model.path if ref_model is None else None,
    )
    trainer.train()
    lineage = {
        **base_lineage(recipe_name, "kto", stage.model, tokenizer),
        **source,
        "reference_fingerprint": trainer.reference_fingerprint,
        "ref_cache": str(trainer.cache_dir("train")),
        "ref_cache_hit": "train" in trainer.ref_cache_hits,
    }
    save_final(trainer, args.output_dir, lineage)
    return trainer


def main(argv: list[str] | None = None) -> None:
    recipe, _ = cli("KTO with cached reference log-probs", argv)
    if recipe.kto is None:
        raise SystemExit("recipe has no kto section")
    run_kto(recipe.kto, recipe_name=recipe.name)


if __name__ == "__main__":
    main()
