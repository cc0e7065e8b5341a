"""Growth surgery: the grown model computes the original function; once unmasked everything trains; shapes."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from training.growth.depth import expand_depth, expand_depth_state_dict, layer_plan, new_layer_indices
from training.growth.shapes import LLAMA3_70B, LLAMA3_MOTIF_102B, PAPER_VOCAB_102B, count_on_meta, param_counts
from training.growth.width import MaskSchedule, grow_width, grown_config, query_head_map, relative_error

from .conftest import RECIPE


def tiny(layers: int = 4) -> LlamaForCausalLM:
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        max_position_embeddings=64,
        attn_implementation="eager",
    )
    model = LlamaForCausalLM(cfg).to(torch.float64)
    with torch.no_grad():  # norms at 1 hide mistakes in where the norm weights go: make them distinct
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model.eval()


def logits(model: LlamaForCausalLM, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids).logits


IDS = torch.randint(0, 97, (2, 11), generator=torch.Generator().manual_seed(1))


def width_target(model: LlamaForCausalLM, kv_heads: int = 2) -> LlamaConfig:
    return grown_config(
        model.config, hidden_size=48, intermediate_size=64, num_attention_heads=6, num_key_value_heads=kv_heads
    )


def test_layer_plan_matches_recipe():
    assert len(layer_plan(80, 5)) == 96
    assert new_layer_indices(80, 5)[:3] == [5, 11, 17] and new_layer_indices(80, 5)[-1] == 95
    with pytest.raises(ValueError):
        layer_plan(80, 7)


def test_depth_expansion_is_exact_and_freezes():
    model = tiny()
    grown = expand_depth(model, every=2, freeze_original=True)
    assert grown.config.num_hidden_layers == 6 and model.config.num_hidden_layers == 4  # input untouched
    assert [layer.self_attn.layer_idx for layer in grown.model.layers] == list(range(6))
    assert relative_error(logits(model, IDS), logits(grown, IDS)) <= 1e-12
    trainable = {n.split(".")[2] for n, p in grown.named_parameters() if p.requires_grad}
    assert trainable == {"2", "5"}
    # The copy reuses the previous block's weights except the two zeroed output projections
    assert torch.equal(grown.model.layers[2].self_attn.q_proj.weight, model.model.layers[1].self_attn.q_proj.weight)
    assert not grown.model.layers[2].mlp.down_proj.weight.any()


def test_depth_state_dict_matches_module_surgery():
    model = tiny()
    sd = expand_depth_state_dict(model.state_dict(), 4, 2)
    ref = expand_depth(model, every=2).state_dict()
    assert sd.keys() == ref.keys()
    assert all(torch.equal(sd[k], ref[k]) for k in ref)


def test_query_heads_stay_in_their_kv_group():
    old, new = LLAMA3_70B, LLAMA3_MOTIF_102B
    mapping = query_head_map(old, new)
    assert mapping[:9] == [0, 1, 2, 3, 4, 5, 6, 7, 9]  # slot 8 is group 0's new head
    for j, k in enumerate(mapping):  # KV head of the head is unchanged: j // 8 == k // 9
        assert j // 8 == k // 9
    assert len(set(mapping)) == 64


@pytest.mark.parametrize("kv_heads", [2, 3])
def test_width_growth_is_exact(kv_heads):
    model = tiny()
    grown, growth = grow_width(model, width_target(model, kv_heads))
    assert grown.config.hidden_size == 48 and grown.config.num_key_value_heads == kv_heads
    assert relative_error(logits(model, IDS), logits(grown, IDS)) <= 1e-6


def test_plain_zero_init_is_not_exact():
    """Without the masked RMSNorm (new dims zero, plain norm over d') the function changes: why the norm matters."""
    model = tiny()
    grown, growth = grow_width(model, width_target(model))
    growth.set_all(1.0)
    growth.fold()
    new_head_cols = [h * 8 + i for h in (2, 5) for i in range(8)]  # heads 2 and 5 are new (groups of 2 -> 3)
    with torch.no_grad():  # zero everything new that feeds the residual stream: the 'plain zero-init'
        grown.model.embed_tokens.weight[:, 32:] = 0
        for layer in grown.model.layers:
            layer.self_attn.o_proj.weight[32:] = 0
            layer.self_attn.o_proj.weight[:, new_head_cols] = 0
            layer.mlp.down_proj.weight[32:] = 0
            layer.mlp.down_proj.weight[:, 48:] = 0
    # Everything new now adds 0, yet every RMSNorm divides by the RMS over 48 dims instead of 32
    assert relative_error(logits(model, IDS), logits(grown, IDS)) > 1e-3


def test_depth_then_width_is_exact():
    model = tiny()
    deep = expand_depth(model, every=2)
    grown, _ = grow_width(deep, width_target(deep))
    assert grown.config.num_hidden_layers == 6
    assert relative_error(logits(model, IDS), logits(grown, IDS)) <= 1e-6


def test_schedule_opens_per_layer():
    s = MaskSchedule(start=10, ramp=4, stagger=2)
    assert s.value(0, 10) == 0.0 and s.value(0, 12) == 0.5 and s.value(0, 14) == 1.0
    assert s.value(3, 14) == 0.0 and s.value(3, 18) == 0.5  # layer 3 starts 3 * 2 steps later
    assert s.end(num_layers=4) == 10 + 5 * 2 + 4


def test_unmasked_model_trains_every_parameter_and_folds(tmp_path):
    model = tiny()
    grown, growth = grow_width(model, width_target(model, kv_heads=3))
    schedule = MaskSchedule(start=0, ramp=2, stagger=1)
    growth.set_step(1, schedule)  # partly open: embedding at 0.5, layer 1 at 0, ...
    assert growth.components[0][0].mask[-1] == 0.5 and growth.components[1][0].mask[-1] == 0.0
    growth.set_step(schedule.end(4), schedule)
    grown.train()
    before = {n: p.detach().clone() for n, p in grown.named_parameters()}
    loss = grown(input_ids=IDS, labels=IDS).loss
    loss.backward()
    no_grad = [n for n, p in grown.named_parameters() if p.grad is None or not p.grad.any()]
    assert no_grad == []
    torch.optim.SGD(grown.parameters(), lr=0.1).step()
    unchanged = [n for n, p in grown.named_parameters() if torch.equal(p, before[n])]
    assert unchanged == []

    grown.eval()
    expected = logits(grown, IDS)
    folded = growth.fold()
    assert type(folded.model.norm).__name__ == "LlamaRMSNorm"
    assert relative_error(expected, logits(folded, IDS)) <= 1e-6
    folded.save_pretrained(tmp_path)
    loaded = LlamaForCausalLM.from_pretrained(tmp_path, dtype=torch.float64, attn_implementation="eager")
    assert type(loaded) is LlamaForCausalLM and loaded.config.hidden_size == 48
    assert relative_error(expected, logits(loaded, IDS)) <= 1e-6


def test_fold_refuses_closed_masks():
    model = tiny()
    _, growth = grow_width(model, width_target(model))
    with pytest.raises(ValueError, match="not fully open"):
        growth.fold()


def test_shapes_reproduce_recipe_without_allocating():
    counts = param_counts(LLAMA3_MOTIF_102B)
    # Hand count: per layer 9216*9216*2 (q, o) + 2*9216*1024 (k, v) + 3*9216*30720 + 2*9216 = 1,038,108,672
    assert counts["layer"] == 1_038_108_672
    assert counts["total"] == 96 * 1_038_108_672 + 2 * 128256 * 9216 + 9216
    assert 101.5e9 < counts["total"] < 102.5e9
    assert 70.0e9 < param_counts(LLAMA3_70B)["total"] < 71.0e9
    assert count_on_meta(LLAMA3_MOTIF_102B) == counts["total"]
    assert counts["total"] == 102_022_456_320  # Llama-3's vocabulary, 128,256
    assert param_counts(PAPER_VOCAB_102B)["total"] == 102_017_737_728  # the paper's 128,000


def test_offline_growth_shard_by_shard_equals_in_process_growth(tmp_path):
    from training.config import GrowthSpec
    from training.growth.grow import grow_checkpoint, main
    from training.growth.width import base_config

    model = tiny()
    model.config.initializer_range = 0.05
    model.save_pretrained(tmp_path / "base", max_shard_size="40KB")  # several input files
    assert len(list((tmp_path / "base").glob("*.safetensors"))) > 2
    spec = GrowthSpec(depth_every=2, hidden_size=48, intermediate_size=64, num_attention_heads=6, num_key_value_heads=3)
    out = grow_checkpoint(tmp_path / "base", spec, tmp_path / "grown", seed=3, max_shard_bytes=60_000)
    assert len(list(out.glob("*.safetensors"))) > 2  # several output files

    deep = expand_depth(model, every=2)
    expected, growth = grow_width(deep, width_target(deep, kv_heads=3), seed=3)
    loaded = LlamaForCausalLM.from_pretrained(out, dtype=torch.float64, attn_implementation="eager")
    got, want = loaded.state_dict(), expected.state_dict()
    assert got.keys() == want.keys()
    assert [k for k in want if not torch.equal(got[k], want[k])] == []  # bit for bit
    assert loaded.config.msg_growth == {
        "base_hidden_size": 32,
        "base_intermediate_size": 48,
        "base_num_attention_heads": 4,
        "base_num_key_value_heads": 2,
    }
    # The masks re-attached from the checkpoint's record give back the original function
    from training.growth.width import MaskedGrowth

    MaskedGrowth(loaded, base_config(loaded.config))
    assert relative_error(logits(model, IDS), logits(loaded.eval(), IDS)) <= 1e-6
    from training.data import read_lineage

    assert read_lineage(out)["mask_step"] == 0 and read_lineage(out)["growth"]["num_key_value_heads"] == 3
    with pytest.raises(FileExistsError):
        main(["--base", str(tmp_path / "base"), "--recipe", str(RECIPE), "--out", str(out)])


def test_grown_config_keeps_attention_implementation():
    model = tiny()  # eager
    assert width_target(model)._attn_implementation == "eager"
    model.config._attn_implementation = "sdpa"
    assert width_target(model)._attn_implementation == "sdpa"


def test_masks_attach_to_a_model_on_the_meta_device():
    """Under FSDP's cpu-RAM-efficient loading, ranks other than 0 hold the model on meta until rank 0's weights
    arrive; the masks (which depend only on the configs) must still be real tensors."""
    from training.growth.width import MaskedGrowth

    model = tiny()
    target = width_target(model)
    with torch.device("meta"):
        grown = LlamaForCausalLM(target)
    growth = MaskedGrowth(grown, model.config)
    hidden = growth.components[1][0]
    assert hidden.mask.device.type == "cpu" and hidden.mask.tolist() == [1.0] * 32 + [0.0] * 16
