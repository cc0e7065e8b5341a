"""NEFTune noise scaled per example, also inside packed rows.

Jain et al. 2023, "NEFTune: Noisy Embeddings Improve Instruction Finetuning" (arXiv:2310.05914), Algorithm 1:

    X_emb <- X_emb + (alpha / sqrt(L * d)) * eps,    eps ~ Uniform(-1, 1)^(L x d)

with L the example's own length and d the embedding width (the reference code uses each example's unpadded
length and puts no noise on padding). transformers' built-in hook uses the row length instead
(``output.size(1) * output.size(2)``): with packing, an example of 50 tokens packed into a 4096-token row would
get noise sqrt(4096 / 50) ~ 9x too small. Here L is the length of the token's own segment, found from
``position_ids`` the same way transformers' packed attention finds it (a new segment wherever the position does
not go up by 1), counting only attended tokens (``attention_mask`` = 1) when a mask is given.
"""

from __future__ import annotations

import torch


def noise_scale(
    shape: tuple[int, int],
    alpha: float,
    dim: int,
    position_ids: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """(batch, seq) tensor of alpha / sqrt(L_i * d) for each token, L_i its segment's length; 0 on padding."""
    b, t = shape
    valid = attention_mask.bool() if attention_mask is not None else torch.ones(b, t, dtype=torch.bool, device=device)
    if position_ids is None:
        seg = torch.zeros(b, t, dtype=torch.long, device=valid.device)
    else:
        pid = position_ids.expand(b, -1)
        seg = (torch.diff(pid, prepend=pid[:, :1] - 1, dim=-1) != 1).long().cumsum(-1)
    flat = (seg + torch.arange(b, device=valid.device)[:, None] * t).reshape(-1)  # a global id per (row, segment)
    counts = torch.zeros(b * t, device=valid.device).index_add_(0, flat, valid.reshape(-1).float())
    length = counts[flat].reshape(b, t).clamp_min(1)
    return torch.where(valid, alpha / torch.sqrt(length * dim), torch.zeros_like(length))


class PerExampleNEFTune:
    """Hooks on a model: a pre-hook on the decoder records position_ids / attention_mask of the current forward,
    a forward hook on the input embedding adds the noise (training mode only)."""

    def __init__(self, model: torch.nn.Module, alpha: float):
        self.alpha = alpha
        self.batch: dict[str, torch.Tensor | None] = {}
        decoder = model.get_decoder() if hasattr(model, "get_decoder") else model
        embedding = model.get_input_embeddings()
        self.handles = [
            decoder.register_forward_pre_hook(self._remember, with_kwargs=True),
            embedding.register_forward_hook(self._add_noise),
        ]

    def _remember(self, module, args, kwargs):
        self.batch = {"position_ids": kwargs.get("position_ids"), "attention_mask": kwargs.get("attention_mask")}

    def _add_noise(self, module, args, output):
        if not module.training:
            return output
        mask = self.batch.get("attention_mask")
        if mask is not None and mask.dim() != 2:  # a prepared 4D mask says nothing simple about lengths
            mask = None
        scale = noise_scale(
            output.shape[:2], self.alpha, output.shape[-1], self.batch.get("position_ids"), mask, output.device
        )
        noise = torch.zeros_like(output).uniform_(-1, 1)
        return output + noise * scale[..., None].to(output.dtype)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []
