"""Masked Structural Growth (MSG) width expansion of a Llama model.

Yao et al. 2023, "Masked Structural Growth for 2x Faster Language Model Pre-training" (arXiv:2305.02869).
The hidden size d -> d', the FFN size f -> f' and the number of query heads h -> h' (and optionally KV heads
g -> g') grow, with the head dimension kept. Every new unit is multiplied by a mask that starts at 0, so the
grown model computes exactly the original function, and opens to 1 over training steps (a per-layer
schedule). At 1 the masks are identities and are folded away: the result is a plain ``LlamaForCausalLM``.

Legend: x = residual stream in R^{d'}; c in R^{d'} = hidden mask of one component (1 on the d original dims,
m on the d'-d new ones); a in R^{h'} = head mask; n in R^{f'} = FFN-neuron mask; w = RMSNorm weight.

Each component (the embedding, each decoder layer, the final norm) reads and writes the new hidden dims only
through its own mask c:

    embedding:       x0 = c_emb * E[token]
    masked RMSNorm:  y  = c * w * x / sqrt( sum_i c_i x_i^2 / sum_i c_i + eps )
    attention:       x += c * W_o (a (x) head_outputs)            (each head's output scaled by its a_j)
    MLP:             x += c * W_down (n * act(W_gate y) * W_up y)
    LM head:         logits = W_lm (c_final * w * x / rms_c(x))

With every new mask entry at 0 the new dims of x stay exactly 0, each RMSNorm averages over the original d
dims only (a plain zero-init is not exact: the mean over d' > d dims would shrink the RMS by d/d'), new heads
and neurons contribute 0, and the original weights see the original activations: same logits. With every
mask at 1 each equation is the plain Llama one, so folding is removing the hooks.

GQA: HF Llama maps query head j to KV head j // (h/g). Growing 64 heads / 8 KV heads to 72 / 8 turns groups of
8 into groups of 9, so the original query heads are re-indexed (head r of group k goes to k*9 + r) and the new
head of each group takes slot k*9 + 8; new KV heads (g' > g) get only new query heads.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaRMSNorm


def grown_config(
    config: LlamaConfig,
    hidden_size: int,
    intermediate_size: int,
    num_attention_heads: int,
    num_key_value_heads: int | None = None,
) -> LlamaConfig:
    """A copy of `config` with the new widths; head_dim is kept (and written explicitly)."""
    new = LlamaConfig.from_dict(config.to_dict())
    # to_dict() does not carry the attention implementation: without this the recipe's flash_attention_2 would
    # silently become the default (sdpa) for the whole of CPT
    new._attn_implementation = config._attn_implementation
    new.head_dim = config.head_dim
    new.hidden_size = hidden_size
    new.intermediate_size = intermediate_size
    new.num_attention_heads = num_attention_heads
    new.num_key_value_heads = num_key_value_heads or config.num_key_value_heads
    check_growth(config, new)
    return new


def check_growth(old: LlamaConfig, new: LlamaConfig) -> None:
    """Raise ValueError unless `new` is a valid MSG growth of `old`."""
    problems = []
    if new.head_dim != old.head_dim:
        problems.append(f"head_dim changes {old.head_dim} -> {new.head_dim}")
    for name in ("hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads"):
        if getattr(new, name) < getattr(old, name):
            problems.append(f"{name} shrinks")
    if new.num_attention_heads % new.num_key_value_heads:
        problems.append("num_attention_heads must be a multiple of num_key_value_heads")
    elif new.num_attention_heads // new.num_key_value_heads < old.num_attention_heads // old.num_key_value_heads:
        problems.append("query heads per KV group must not shrink (each original group must fit)")
    if getattr(old, "attention_bias", False) or getattr(old, "mlp_bias", False):
        problems.append("biases are not supported (Llama has none)")
    if old.tie_word_embeddings != new.tie_word_embeddings:
        problems.append("tie_word_embeddings must not change")
    if problems:
        raise ValueError("invalid width growth: " + "; ".join(problems))


def query_head_map(old: LlamaConfig, new: LlamaConfig) -> list[int]:
    """New index of each original query head, keeping it in its KV group (see module docstring)."""
    group_old = old.num_attention_heads // old.num_key_value_heads
    group_new = new.num_attention_heads // new.num_key_value_heads
    return [(j // group_old) * group_new + j % group_old for j in range(old.num_attention_heads)]


def _head_rows(heads: list[int], head_dim: int) -> torch.Tensor:
    """Row indices of the given heads in a (heads * head_dim)-row projection."""
    return (torch.tensor(heads)[:, None] * head_dim + torch.arange(head_dim)[None, :]).reshape(-1)


def grown_shape(key: str, new: LlamaConfig) -> tuple[int, ...]:
    """Shape of a Llama tensor in the grown model, from its name alone (works on the meta device)."""
    d, f, hd = new.hidden_size, new.intermediate_size, new.head_dim
    if key.endswith(("embed_tokens.weight", "lm_head.weight")):
        return (new.vocab_size, d)
    if key.endswith("norm.weight"):
        return (d,)
    if key.endswith("q_proj.weight"):
        return (new.num_attention_heads * hd, d)
    if key.endswith(("k_proj.weight", "v_proj.weight")):
        return (new.num_key_value_heads * hd, d)
    if key.endswith("o_proj.weight"):
        return (d, new.num_attention_heads * hd)
    if key.endswith(("gate_proj.weight", "up_proj.weight")):
        return (f, d)
    if key.endswith("down_proj.weight"):
        return (d, f)
    raise ValueError(f"unexpected tensor {key}")


def init_new(key: str, shape: tuple[int, ...], new: LlamaConfig, seed: int) -> torch.Tensor:
    """The fresh float32 values a grown tensor starts from, a pure function of (key, shape, seed).

    HF Llama's own init (normal(0, initializer_range) for projections and embeddings, 1 for norms), drawn from a
    generator seeded per tensor name: the same tensor gets the same values whether the model is grown in memory
    or shard by shard from files (``training.growth.grow``), in any order. MSG allows any init for new units: the
    masks keep them inert until they open.
    """
    if key.endswith("norm.weight"):
        return torch.ones(shape)
    g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
    return torch.empty(shape).normal_(0.0, new.initializer_range, generator=g)


def grow_width_tensor(key: str, w: torch.Tensor, old: LlamaConfig, new: LlamaConfig, seed: int = 0) -> torch.Tensor:
    """One tensor of the grown model: fresh values (``init_new``) with the original weights in their slots."""
    d, f, hd = old.hidden_size, old.intermediate_size, old.head_dim
    t = init_new(key, grown_shape(key, new), new, seed).to(device=w.device, dtype=w.dtype)
    if key.endswith(("embed_tokens.weight", "lm_head.weight")):
        t[:, :d] = w
    elif key.endswith("norm.weight"):  # input, post-attention and final RMSNorm weights
        t[:d] = w
    elif key.endswith("q_proj.weight"):
        t[_head_rows(query_head_map(old, new), hd), :d] = w
    elif key.endswith(("k_proj.weight", "v_proj.weight")):
        t[_head_rows(list(range(old.num_key_value_heads)), hd), :d] = w  # KV heads keep their index
    elif key.endswith("o_proj.weight"):
        t[:d, _head_rows(query_head_map(old, new), hd)] = w
    elif key.endswith(("gate_proj.weight", "up_proj.weight")):
        t[:f, :d] = w
    elif key.endswith("down_proj.weight"):
        t[:d, :f] = w
    return t


def grow_width_state_dict(
    old_sd: dict[str, torch.Tensor], old: LlamaConfig, new: LlamaConfig, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Pure: the grown state dict; every tensor of `old_sd` lands in exactly one slice of its grown tensor."""
    return {key: grow_width_tensor(key, w, old, new, seed) for key, w in old_sd.items()}


def growth_record(old: LlamaConfig) -> dict:
    """What a masked checkpoint's config.json carries (``msg_growth``) so its masks can be re-attached."""
    return {
        "base_hidden_size": old.hidden_size,
        "base_intermediate_size": old.intermediate_size,
        "base_num_attention_heads": old.num_attention_heads,
        "base_num_key_value_heads": old.num_key_value_heads,
    }


def base_config(grown: LlamaConfig) -> LlamaConfig:
    """The pre-growth widths of a masked checkpoint (from its ``msg_growth`` record), for ``MaskedGrowth``."""
    record = getattr(grown, "msg_growth", None)
    if not record:
        raise ValueError("config has no msg_growth record: not a masked (MSG-grown, unfolded) checkpoint")
    old = LlamaConfig.from_dict(grown.to_dict())
    old.head_dim = grown.head_dim
    old.hidden_size = record["base_hidden_size"]
    old.intermediate_size = record["base_intermediate_size"]
    old.num_attention_heads = record["base_num_attention_heads"]
    old.num_key_value_heads = record["base_num_key_value_heads"]
    return old


class GrowthMask(nn.Module):
    """A mask over one grown axis: 1 on original units, `value` on new ones (a non-persistent buffer,
    so checkpoints of the masked model keep plain Llama keys)."""

    def __init__(self, is_new: torch.Tensor):
        super().__init__()
        self.register_buffer("is_new", is_new.bool(), persistent=False)
        self.register_buffer("mask", (~self.is_new).float(), persistent=False)

    opened = False  # every entry is 1 (kept as a Python flag: checking the tensor would sync a GPU each forward)

    def set(self, value: float) -> None:
        self.mask = torch.where(self.is_new, torch.full_like(self.mask, value), torch.ones_like(self.mask))
        self.opened = value >= 1.0

    @property
    def is_open(self) -> bool:
        return bool((self.mask == 1).all())


class MaskedRMSNorm(nn.Module):
    """y = c * w * x / sqrt(sum_i c_i x_i^2 / sum_i c_i + eps); HF's LlamaRMSNorm when c = 1.

    Computed in float32 like LlamaRMSNorm, so that the masked and the plain model round the same way.
    """

    def __init__(self, weight: nn.Parameter, eps: float, hidden: GrowthMask):
        super().__init__()
        self.weight = weight
        self.variance_epsilon = eps
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x32 = x.to(torch.float32)
        if self.hidden.opened:  # LlamaRMSNorm's own arithmetic, so an open mask is bit-identical to the fold
            return self.weight * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)).to(
                dtype
            )
        c = self.hidden.mask.to(torch.float32)
        variance = (x32.pow(2) * c).sum(-1, keepdim=True) / c.sum()
        x32 = x32 * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * (x32 * c).to(dtype)


@dataclass(frozen=True)
class MaskSchedule:
    """When the masks open: component k (0 = embedding, 1..L = decoder layers, L+1 = final norm) ramps linearly
    from 0 at step `start + k * stagger` to 1 after `ramp` more steps. stagger=0 opens every layer together."""

    start: int = 0  # first step at which masks may be above 0
    ramp: int = 1000  # steps from 0 to 1 for one component
    stagger: int = 0  # delay between consecutive components (per-layer progressive opening)

    def value(self, component: int, step: int) -> float:
        t = step - self.start - component * self.stagger
        if self.ramp <= 0:
            return 1.0 if t >= 0 else 0.0
        return min(1.0, max(0.0, t / self.ramp))

    def end(self, num_layers: int) -> int:
        """First step at which every mask is 1 (fold after this)."""
        return self.start + (num_layers + 1) * self.stagger + max(self.ramp, 0)


class MaskedGrowth:
    """The masks of a width-grown model and the hooks that apply them; `fold()` removes both."""

    def __init__(self, model: LlamaForCausalLM, old: LlamaConfig):
        new = model.config
        device = model.lm_head.weight.device
        if device.type == "meta":  # a rank that FSDP's cpu-RAM-efficient loading left on meta: masks are cheap and
            device = torch.device("cpu")  # depend only on the configs, so they are built for real (FSDP moves them)
        self.model = model
        self.handles: list = []
        # Every checkpoint of the masked model says so in its config.json: its tensors have plain Llama names,
        # yet until the masks are open and folded it computes a different function than a plain Llama would
        new.msg_growth = growth_record(old)

        def mask(n_old: int, n_new: int, new_idx: list[int] | None = None) -> GrowthMask:
            is_new = torch.ones(n_new, dtype=torch.bool, device=device)
            is_new[torch.tensor(new_idx) if new_idx is not None else slice(0, n_old)] = False
            return GrowthMask(is_new)

        d_old, d_new = old.hidden_size, new.hidden_size
        old_heads = query_head_map(old, new)
        base = model.model
        base.growth_hidden_embed = mask(d_old, d_new)
        self.handles.append(base.embed_tokens.register_forward_hook(_scale_output(base.growth_hidden_embed)))
        self.components: list[list[GrowthMask]] = [[base.growth_hidden_embed]]
        for layer in base.layers:
            hidden = layer.growth_hidden = mask(d_old, d_new)
            ffn = layer.growth_ffn = mask(old.intermediate_size, new.intermediate_size)
            heads = layer.growth_heads = mask(old.num_attention_heads, new.num_attention_heads, old_heads)
            for name in ("input_layernorm", "post_attention_layernorm"):
                norm = getattr(layer, name)
                setattr(layer, name, MaskedRMSNorm(norm.weight, norm.variance_epsilon, hidden))
            o_proj, down = layer.self_attn.o_proj, layer.mlp.down_proj
            self.handles += [
                o_proj.register_forward_pre_hook(_scale_heads(heads, new.head_dim)),
                o_proj.register_forward_hook(_scale_output(hidden)),
                down.register_forward_pre_hook(_scale_input(ffn)),
                down.register_forward_hook(_scale_output(hidden)),
            ]
            self.components.append([hidden, ffn, heads])
        final = base.growth_hidden_final = mask(d_old, d_new)
        base.norm = MaskedRMSNorm(base.norm.weight, base.norm.variance_epsilon, final)
        self.components.append([final])

    def set_step(self, step: int, schedule: MaskSchedule) -> None:
        for k, masks in enumerate(self.components):
            for m in masks:
                m.set(schedule.value(k, step))

    def set_all(self, value: float) -> None:
        for masks in self.components:
            for m in masks:
                m.set(value)

    def fold(self) -> LlamaForCausalLM:
        """Remove masks and hooks (all masks must be 1); returns the same model object, now plain Llama.

        Under FSDP (parameters are DTensors) the norm modules are kept: FSDP tracks each parameter by the module
        that owns it, so they cannot be swapped; an open ``MaskedRMSNorm`` computes LlamaRMSNorm's arithmetic
        exactly and its masks are non-persistent, so the saved weights are a plain Llama checkpoint all the same.
        """
        if not all(m.is_open for masks in self.components for m in masks):
            raise ValueError("masks are not fully open yet: train past MaskSchedule.end() before folding")
        for h in self.handles:
            h.remove()
        self.handles = []
        if hasattr(self.model.config, "msg_growth"):
            del self.model.config.msg_growth
        base = self.model.model
        if type(base.norm.weight).__name__ == "DTensor":
            return self.model

        def plain(norm: MaskedRMSNorm) -> LlamaRMSNorm:
            out = LlamaRMSNorm(norm.weight.shape[0], eps=norm.variance_epsilon)
            out.weight = norm.weight
            return out

        for layer in base.layers:
            layer.input_layernorm = plain(layer.input_layernorm)
            layer.post_attention_layernorm = plain(layer.post_attention_layernorm)
            del layer.growth_hidden, layer.growth_ffn, layer.growth_heads
        base.norm = plain(base.norm)
        del base.growth_hidden_embed, base.growth_hidden_final
        return self.model


def _scale_output(m: GrowthMask):
    return lambda module, args, output: output * m.mask.to(output.dtype)


def _scale_input(m: GrowthMask):
    return lambda module, args: (args[0] * m.mask.to(args[0].dtype),)


def _scale_heads(m: GrowthMask, head_dim: int):
    def hook(module, args):
        x = args[0]  # (..., heads * head_dim), the concatenated head outputs
        return ((x.unflatten(-1, (-1, head_dim)) * m.mask.to(x.dtype)[:, None]).flatten(-2),)

    return hook


def grow_width(
    model: LlamaForCausalLM, new_config: LlamaConfig, seed: int = 0
) -> tuple[LlamaForCausalLM, MaskedGrowth]:
    """A new, masked model of the grown widths computing the same function as `model` (masks at 0).

    New weights get HF Llama's init drawn per tensor name (``init_new``), so this equals the offline growth of
    ``training.growth.grow`` bit for bit. Returns the model and its `MaskedGrowth` (drive it with `set_step`,
    then `fold()` at the end).
    """
    old = model.config
    check_growth(old, new_config)
    param = next(model.parameters())
    grown = LlamaForCausalLM(new_config).to(device=param.device, dtype=param.dtype)
    grown.load_state_dict(grow_width_state_dict(model.state_dict(), old, new_config, seed))
    grown.train(model.training)
    return grown, MaskedGrowth(grown, old)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||a|| (Frobenius), the equivalence metric of the growth tests."""
    return float((a - b).norm() / a.norm().clamp_min(math.ulp(1.0)))
