"""Dry run of the 102B recipe's sharding: per-rank memory for 64, 128 and 256 ranks, without a GPU or any memory.

    python -m training.dryrun                  # the recipe's 102B model, 64 / 128 / 256 ranks
    python -m training.dryrun --ranks 8 16     # other world sizes

The grown model (``training.growth.shapes.LLAMA3_MOTIF_102B``, Llama-3's vocabulary of 128,256) is built on the
meta device and sharded with torch's own ``fully_shard`` (FSDP2: every decoder layer, then the root), as
accelerate does for the recipe, in a process group of the "fake" backend (torch.testing's FakeStore: collectives
are no-ops), once per world size. Rank 0's local shards (the largest: FSDP2 cuts each tensor on dim 0 into
ceil(n / W)-row chunks) give the per-rank numbers. Bytes per parameter follow accelerate's FSDP2 mixed precision:
sharded parameters are upcast to fp32 (4 B), gradients are fp32 (4 B), AdamW keeps two fp32 moments (8 B); bf16
copies exist only for the layer being all-gathered, so the largest FSDP group's bf16 size is printed beside them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch

from training.growth.shapes import LLAMA3_MOTIF_102B

GB = 1e9
PARAM_BYTES, GRAD_BYTES, ADAM_BYTES = 4, 4, 8  # fp32 master weights, fp32 gradients, AdamW exp_avg + exp_avg_sq


@dataclass(frozen=True)
class RankMemory:
    ranks: int
    params_per_rank: int
    largest_group: int  # parameters of the largest FSDP group (all-gathered in bf16 during its forward/backward)

    @property
    def param_gb(self) -> float:
        return self.params_per_rank * PARAM_BYTES / GB

    @property
    def grad_gb(self) -> float:
        return self.params_per_rank * GRAD_BYTES / GB

    @property
    def optimizer_gb(self) -> float:
        return self.params_per_rank * ADAM_BYTES / GB

    @property
    def total_gb(self) -> float:
        return self.param_gb + self.grad_gb + self.optimizer_gb

    @property
    def gathered_gb(self) -> float:
        return self.largest_group * 2 / GB


def shard_on_meta(config, ranks: int) -> RankMemory:
    """Build `config` on the meta device, fully_shard it over `ranks` fake ranks, and read rank 0's shards."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from torch.testing._internal.distributed.fake_pg import FakeStore
    from transformers import LlamaForCausalLM

    dist.init_process_group("fake", store=FakeStore(), rank=0, world_size=ranks)
    try:
        mesh = init_device_mesh("cpu", (ranks,))
        with torch.device("meta"):
            model = LlamaForCausalLM(config)
        layer = sum(p.numel() for p in model.model.layers[0].parameters())
        root = sum(p.numel() for p in model.parameters()) - layer * len(model.model.layers)
        for block in model.model.layers:
            fully_shard(block, mesh=mesh)
        fully_shard(model, mesh=mesh)
        local = sum(p.to_local().numel() for p in model.parameters())
    finally:
        dist.destroy_process_group()
    return RankMemory(ranks, local, max(layer, root))


def table(rows: list[RankMemory], total_params: int) -> str:
    lines = [
        f"102B dry run on the meta device: {total_params:,} parameters (vocabulary 128,256), FSDP2 full sharding",
        "",
        "| ranks | params / rank | params fp32 (GB) | grads fp32 (GB) | AdamW fp32 (GB) | total (GB) "
        "| largest gathered group bf16 (GB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.ranks} | {r.params_per_rank:,} | {r.param_gb:.2f} | {r.grad_gb:.2f} | {r.optimizer_gb:.2f} "
            f"| {r.total_gb:.2f} | {r.gathered_gb:.2f} |"
        )
    lines += [
        "",
        "Not included: activations (with activation checkpointing, one layer's inputs per micro-batch row), the",
        "chunked loss's 4,096 x 128,256 fp32 logits chunk (2.1 GB), NCCL/RCCL buffers and the allocator's slack.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[RankMemory]:
    parser = argparse.ArgumentParser(description="Per-rank memory of the 102B recipe under FSDP2, on the meta device")
    parser.add_argument("--ranks", type=int, nargs="+", default=[64, 128, 256])
    args = parser.parse_args(argv)
    rows = [shard_on_meta(LLAMA3_MOTIF_102B, n) for n in args.ranks]
    with torch.device("meta"):
        from transformers import LlamaForCausalLM

        total = sum(p.numel() for p in LlamaForCausalLM(LLAMA3_MOTIF_102B).parameters())
    print(table(rows, total))
    return rows


if __name__ == "__main__":
    main()
