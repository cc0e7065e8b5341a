"""Per-example NEFTune: noise alpha / sqrt(L_i * d) with L_i the example's own length, packed or padded."""

from __future__ import annotations

import math

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from training.neftune import PerExampleNEFTune, noise_scale


def test_scale_uses_each_packed_examples_length():
    # One packed row: examples of 3, 5 and 2 tokens (positions restart at 0)
    pos = torch.tensor([[0, 1, 2, 0, 1, 2, 3, 4, 0, 1]])
    scale = noise_scale((1, 10), alpha=8.0, dim=16, position_ids=pos)
    expected = [8 / math.sqrt(3 * 16)] * 3 + [8 / math.sqrt(5 * 16)] * 5 + [8 / math.sqrt(2 * 16)] * 2
    torch.testing.assert_close(scale[0], torch.tensor(expected))
    # transformers' hook would use the row: 8 / sqrt(10 * 16) for every token
    assert not torch.allclose(scale[0], torch.full((10,), 8 / math.sqrt(160)))


def test_scale_ignores_padding_and_counts_real_tokens():
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    scale = noise_scale((2, 6), alpha=8.0, dim=4, attention_mask=mask)
    assert scale[0, 4:].tolist() == [0.0, 0.0]
    torch.testing.assert_close(scale[0, :4], torch.full((4,), 8 / math.sqrt(4 * 4)))
    torch.testing.assert_close(scale[1], torch.full((6,), 8 / math.sqrt(6 * 4)))


def test_hook_adds_exactly_the_scaled_uniform_noise():
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=30,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
    )
    model = LlamaForCausalLM(cfg)
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11]])
    pos = torch.tensor([[0, 1, 0, 1, 2, 3, 4]])  # examples of 2 and 5 tokens
    clean = model.get_input_embeddings()(ids).detach()
    hooks = PerExampleNEFTune(model, alpha=8.0)
    captured = []
    model.get_input_embeddings().register_forward_hook(lambda m, a, out: captured.append(out.detach()))
    model.train()
    torch.manual_seed(123)
    model(input_ids=ids, position_ids=pos, use_cache=False)
    torch.manual_seed(123)
    u = torch.zeros_like(clean).uniform_(-1, 1)  # the same draw the hook made
    scale = torch.tensor([8 / math.sqrt(2 * 16)] * 2 + [8 / math.sqrt(5 * 16)] * 5)
    torch.testing.assert_close(captured[0], clean + u * scale[None, :, None])
    model.eval()  # no noise outside training
    model(input_ids=ids, position_ids=pos, use_cache=False)
    torch.testing.assert_close(captured[1], clean)
    hooks.remove()
    model.train()
    model(input_ids=ids, position_ids=pos, use_cache=False)
    torch.testing.assert_close(captured[2], clean)
