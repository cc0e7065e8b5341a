"""Fused linear + cross-entropy in chunks: the LM loss without materialising the (tokens x 128k) logits.

With Llama-3's 128,256-token vocabulary, a 4 x 4096-token micro-batch has 2.1G logits: 4.2 GB in bf16 and 8.4 GB
more when the loss upcasts them to fp32, plus their gradient. Here the hidden states are cut into chunks of C
tokens; for each chunk the forward pass computes the logits, the loss and, right away, the gradients (as Liger
Kernel's fused linear cross-entropy does, https://github.com/linkedin/Liger-Kernel), then frees the logits:

    z = h_c W^T  (C x V, fp32),   p = softmax(z),   loss_c = sum_t [logsumexp(z_t) - z_t[y_t]]
    dL/dz = (p - onehot(y)) / n,  dL/dh_c = (dL/dz) W,  dL/dW += (dL/dz)^T h_c

with n the number of target tokens (labels != -100) of the whole batch. Peak extra memory is C x V fp32
(4096 x 128256 x 4 B = 2.1 GB) whatever the batch, and no matmul is recomputed in the backward pass.
``use_chunked_loss(model)`` swaps it into a LlamaForCausalLM's forward when labels are given.
"""

from __future__ import annotations

import types

import torch
from transformers.modeling_outputs import CausalLMOutputWithPast

IGNORE = -100


class FusedLinearCrossEntropy(torch.autograd.Function):
    """mean over targets of CE(h W^T, y), computed chunk by chunk; gradients are made in forward."""

    @staticmethod
    def forward(
        ctx,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        labels: torch.Tensor,
        chunk_size: int,
        num_items: int | torch.Tensor | None = None,
    ):
        n = (labels != IGNORE).sum().clamp_min(1) if num_items is None else torch.as_tensor(num_items)
        acc = torch.promote_types(hidden.dtype, torch.float32)  # fp32 for bf16 models (fp64 stays fp64 in tests)
        need_grad = hidden.requires_grad or weight.requires_grad
        grad_h = torch.zeros_like(hidden) if need_grad else None
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device) if need_grad else None
        total = torch.zeros((), dtype=acc, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk_size):
            h = hidden[start : start + chunk_size]
            y = labels[start : start + chunk_size]
            z = (h @ weight.T).to(acc)  # (C, V) logits of this chunk only
            valid = y != IGNORE
            y_safe = torch.where(valid, y, torch.zeros_like(y))
            lse = torch.logsumexp(z, dim=-1)
            total += ((lse - z.gather(1, y_safe[:, None])[:, 0]) * valid).sum()
            if need_grad:
                g = torch.softmax(z, dim=-1)  # becomes dL/dz in place: (p - onehot) / n on target rows, 0 elsewhere
                g[torch.arange(len(y), device=y.device), y_safe] -= 1.0
                g *= (valid.to(acc) / n)[:, None]
                grad_h[start : start + chunk_size] = (g.to(weight.dtype) @ weight).to(hidden.dtype)
                grad_w += g.T @ h.to(acc)
        ctx.save_for_backward(grad_h, grad_w.to(weight.dtype) if need_grad else None)
        return total / n

    @staticmethod
    def backward(ctx, grad_out):
        grad_h, grad_w = ctx.saved_tensors
        return grad_out * grad_h, grad_out * grad_w, None, None, None


def fused_linear_cross_entropy(hidden, weight, labels, chunk_size: int = 4096, num_items=None) -> torch.Tensor:
    """CE of logits `hidden @ weight.T` against `labels` (-100 = ignore), summed over targets and divided by
    `num_items` (the Trainer's token count across gradient-accumulation steps) or, by default, their number."""
    return FusedLinearCrossEntropy.apply(hidden, weight, labels, chunk_size, num_items)


def causal_lm_loss(model, input_ids, labels, chunk_size: int = 4096, num_items=None, **kwargs) -> torch.Tensor:
    """HF's shifted next-token loss (hidden at t predicts labels at t+1), without full logits."""
    hidden = model.model(input_ids=input_ids, **kwargs).last_hidden_state
    d = hidden.shape[-1]
    return fused_linear_cross_entropy(
        hidden[:, :-1].reshape(-1, d), model.lm_head.weight, labels[:, 1:].reshape(-1), chunk_size, num_items
    )


def use_chunked_loss(model, chunk_size: int = 4096):
    """Make `model.forward(..., labels=...)` return the chunked loss (and no logits); other calls are unchanged.

    The instance's own forward is replaced, so FSDP / DDP wrappers still call it as the root forward.
    """
    original = model.forward

    def forward(self, input_ids=None, labels=None, **kwargs):
        if labels is None or not self.training:
            return original(input_ids=input_ids, labels=labels, **kwargs)
        num_items = kwargs.pop("num_items_in_batch", None)  # Trainer: normalise across gradient accumulation
        kwargs.pop("use_cache", None)
        loss = causal_lm_loss(self, input_ids, labels, chunk_size, num_items, use_cache=False, **kwargs)
        return CausalLMOutputWithPast(loss=loss)

    model.forward = types.MethodType(forward, model)
    return model
