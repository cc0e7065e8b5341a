"""One rank of the 2-process FSDP check (run by tests/training/test_fsdp.py through torchrun, gloo on CPU).

torch's ``fully_shard`` is called directly (accelerate turns FSDP on only on GPUs): a width-grown, masked tiny
Llama with the chunked loss trains 3 steps while its masks open, is folded, saved sharded, merged, and reloaded;
an unsharded copy trained on the same batches in the same process is the reference. Writes result.json.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from transformers import LlamaConfig, LlamaForCausalLM

from training.checkpoint import is_sharded, save_consolidated, save_sharded
from training.checkpoint import main as merge_cli
from training.growth.width import MaskSchedule, grow_width, grown_config
from training.losses import use_chunked_loss

STEPS = 3
SCHEDULE = MaskSchedule(start=0, ramp=2, stagger=0)  # masks 0, 0.5, 1 at steps 0, 1, 2: open for the fold


def grown_model() -> tuple[LlamaForCausalLM, object]:
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        use_cache=False,
        attn_implementation="sdpa",
    )
    base = LlamaForCausalLM(cfg)
    target = grown_config(cfg, hidden_size=48, intermediate_size=64, num_attention_heads=6, num_key_value_heads=2)
    model, growth = grow_width(base, target, seed=1)
    use_chunked_loss(model, chunk_size=7)  # several chunks per 2 x 11 batch
    return model.train(), growth


def train(model, growth, batches) -> list[float]:
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for step, ids in enumerate(batches):
        growth.set_step(step, SCHEDULE)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
    growth.set_step(STEPS, SCHEDULE)
    return losses


def main(out: Path) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    mesh = init_device_mesh("cpu", (dist.get_world_size(),))
    g = torch.Generator().manual_seed(2)
    batches = [torch.randint(0, 64, (2, 11), generator=g) for _ in range(STEPS)]  # the same on every rank
    probe = torch.randint(0, 64, (2, 13), generator=g)

    reference, ref_growth = grown_model()
    ref_losses = train(reference, ref_growth, batches)
    ref_growth.fold()
    with torch.no_grad():
        expected = reference.eval()(input_ids=probe).logits

    model, growth = grown_model()
    for layer in model.model.layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    sharded = is_sharded(model)
    losses = train(model, growth, batches)
    growth.fold()  # under FSDP: hooks removed, open norms kept (see MaskedGrowth.fold)
    with torch.no_grad():
        sharded_logits = model.eval()(input_ids=probe).logits
    final = out / "final"
    save_consolidated(model, final, rank == 0, dist.barrier)
    save_sharded(model, out / "sharded")  # an intermediate checkpoint, merged later by the CLI
    dist.barrier()
    if rank == 0:
        reloaded = LlamaForCausalLM.from_pretrained(final, attn_implementation="sdpa").eval()
        merge_cli(["merge", str(out / "sharded"), str(out / "merged"), "--config-from", str(final)])
        merged = LlamaForCausalLM.from_pretrained(out / "merged", attn_implementation="sdpa").eval()
        with torch.no_grad():
            got = reloaded(input_ids=probe).logits
            got_cli = merged(input_ids=probe).logits
        result = {
            "sharded": sharded,
            "losses": losses,
            "reference_losses": ref_losses,
            "max_diff_sharded_vs_reference": float((sharded_logits - expected).abs().max()),
            "max_diff_reloaded_vs_reference": float((got - expected).abs().max()),
            "max_diff_cli_merge_vs_reference": float((got_cli - expected).abs().max()),
            "reloaded_class": type(reloaded).__name__,
            "reloaded_has_msg_growth": hasattr(reloaded.config, "msg_growth"),
            "files": sorted(p.name for p in final.iterdir()),
        }
        (out / "result.json").write_text(json.dumps(result, indent=2))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main(Path(os.environ.get("FSDP_TEST_OUT", sys.argv[1])))
