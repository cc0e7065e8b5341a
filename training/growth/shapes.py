"""The 70B -> 102B growth arithmetic, from configs alone (nothing is allocated).

Run ``python -m training.growth.shapes`` for the table. Per decoder layer (no biases, head_dim = 128):

    attention = d * (h * hd)  [q]  +  2 * d * (g * hd)  [k, v]  +  (h * hd) * d  [o]
    MLP       = 3 * d * f     [gate, up, down]
    norms     = 2 * d
    total     = L * layer + V * d [embedding] + V * d [untied LM head] + d [final norm]

Llama-3-70B (L 80, d 8192, f 28672, h 64, g 8, V 128256):  70,553,706,496 parameters.
Recipe's 102B (L 96, d 9216, f 30720, h 72, g 8, V 128256): 102,022,456,320 parameters (102.0B).
Depth alone (96 layers at 70B widths) gives 84.2B; width alone (80 layers at 102B widths) gives 85.4B.

Vocabulary: these counts use Llama-3's 128,256 tokens (the 70B checkpoint's embedding and LM head, which growth
keeps). The paper states 128,000; with that vocabulary the grown model has 2 x 256 x 9,216 = 4,718,592 fewer
parameters: 102,017,737,728 (``param_counts(PAPER_VOCAB_102B)``).
"""

from __future__ import annotations

from transformers import LlamaConfig

LLAMA3_70B = LlamaConfig(
    vocab_size=128256,
    hidden_size=8192,
    intermediate_size=28672,
    num_hidden_layers=80,
    num_attention_heads=64,
    num_key_value_heads=8,
    head_dim=128,
    max_position_embeddings=8192,
    rope_theta=500000.0,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)

# The recipe's target: depth 80 -> 96 (LlamaPro, one copy every 5 blocks), then width by MSG with head_dim kept:
# 72 heads * 128 = 9216 = d; 8 KV heads -> query groups grow from 8 to 9 heads.
LLAMA3_MOTIF_102B = LlamaConfig(
    **{
        **LLAMA3_70B.to_diff_dict(),
        "hidden_size": 9216,
        "intermediate_size": 30720,
        "num_hidden_layers": 96,
        "num_attention_heads": 72,
        "num_key_value_heads": 8,
        "head_dim": 128,
    }
)

# The same model with the paper's stated vocabulary of 128,000 (for comparing with its parameter count)
PAPER_VOCAB_102B = LlamaConfig(**{**LLAMA3_MOTIF_102B.to_diff_dict(), "vocab_size": 128000})


def param_counts(cfg: LlamaConfig) -> dict[str, int]:
    """Parameter count per part of a Llama model (see the module docstring for the formulas)."""
    d, f, hd = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    h, g, n_layers, v = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.num_hidden_layers, cfg.vocab_size
    attention = d * h * hd + 2 * d * g * hd + h * hd * d
    mlp = 3 * d * f
    layer = attention + mlp + 2 * d
    embed = v * d
    head = 0 if cfg.tie_word_embeddings else v * d
    return {
        "attention_per_layer": attention,
        "mlp_per_layer": mlp,
        "layer": layer,
        "layers": n_layers * layer,
        "embedding": embed,
        "lm_head": head,
        "total": n_layers * layer + embed + head + d,
    }


def count_on_meta(cfg: LlamaConfig) -> int:
    """The same count from an actual model built on the meta device (no memory is allocated)."""
    import torch
    from transformers import LlamaForCausalLM

    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    return sum(p.numel() for p in model.parameters())


def growth_table(src: LlamaConfig = LLAMA3_70B, dst: LlamaConfig = LLAMA3_MOTIF_102B) -> str:
    """Markdown table of the growth: shapes, then parameter counts."""
    rows = [
        ("layers", src.num_hidden_layers, dst.num_hidden_layers),
        ("d_model", src.hidden_size, dst.hidden_size),
        ("FFN", src.intermediate_size, dst.intermediate_size),
        ("query heads", src.num_attention_heads, dst.num_attention_heads),
        ("KV heads", src.num_key_value_heads, dst.num_key_value_heads),
        (
            "query heads per KV head",
            src.num_attention_heads // src.num_key_value_heads,
            dst.num_attention_heads // dst.num_key_value_heads,
        ),
        ("head dim", src.head_dim, dst.head_dim),
        ("vocabulary", src.vocab_size, dst.vocab_size),
    ]
    a, b = param_counts(src), param_counts(dst)
    rows += [(f"params: {k}", a[k], b[k]) for k in ("attention_per_layer", "mlp_per_layer", "layer", "embedding")]
    rows += [
        ("params: total", a["total"], b["total"]),
        ("params: total (B)", f"{a['total'] / 1e9:.2f}", f"{b['total'] / 1e9:.2f}"),
    ]
    lines = ["| | Llama-3-70B | grown |", "|---|---:|---:|"]
    lines += [f"| {name} | {x:,} | {y:,} |" if isinstance(x, int) else f"| {name} | {x} | {y} |" for name, x, y in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(growth_table())
