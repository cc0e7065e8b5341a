"""The chunked fused linear cross-entropy equals the plain loss, value and gradients."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

from training.losses import fused_linear_cross_entropy, use_chunked_loss


def test_fused_matches_plain_cross_entropy_and_grads():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(37, 8, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(50, 8, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.randint(0, 50, (37,), generator=g)
    y[[0, 5, 36]] = -100
    expected = F.cross_entropy(h @ w.T, y, ignore_index=-100)
    eh, ew = torch.autograd.grad(expected * 3.0, (h, w))
    got = fused_linear_cross_entropy(h, w, y, chunk_size=10)  # 4 chunks, the last one short
    gh, gw = torch.autograd.grad(got * 3.0, (h, w))
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(gh, eh)
    torch.testing.assert_close(gw, ew)


def test_chunked_model_loss_equals_hf_loss():
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        use_cache=False,
    )
    model = LlamaForCausalLM(cfg).double().train()
    ids = torch.randint(0, 64, (2, 12))
    labels = ids.clone()
    labels[:, :3] = -100
    expected = model(input_ids=ids, labels=labels).loss
    grads = torch.autograd.grad(expected, list(model.parameters()))
    use_chunked_loss(model, chunk_size=5)
    out = model(input_ids=ids, labels=labels)
    assert out.logits is None
    # HF upcasts logits to float32 for its loss, hence float32 tolerances
    torch.testing.assert_close(out.loss, expected, check_dtype=False, rtol=1e-5, atol=1e-6)
    for a, b in zip(torch.autograd.grad(out.loss, list(model.parameters())), grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
