"""Continual-pretraining throughput and MFU: the project's training path vs a plain Hugging Face loop, one run.

    .venv/bin/python bench/bench_gpu_train.py            # one H100 / H200: ~1B Llama, seq 4096, bf16 (make bench-gpu)
    .venv/bin/python bench/bench_gpu_train.py --tiny     # CPU smoke test of both paths, seconds
    .venv/bin/python bench/bench_gpu_train.py --dry-run  # print the model, the FLOP count and the plan only

Model: Llama-3.2-1B shape (hidden 2048, 16 layers, 32 heads, 8 KV heads, FFN 8192, vocab 128256, tied
embeddings), random init, bf16 weights, AdamW (fused on CUDA), sequence 4096, same micro-batch for both paths.

- plain: ``LlamaForCausalLM(input_ids, labels=input_ids).loss`` with sdpa; one document per row; HF's loss
  materialises the (tokens x 128256) logits in bf16 and again in fp32.
- project: what ``training.cpt`` runs: packed rows (documents of random lengths, position ids restarting per
  document, no padding), flash_attention_2 varlen when flash-attn is installed (else sdpa with the packed
  block-diagonal mask), the fused chunked cross-entropy of ``training.losses`` (no full logits), and
  ``torch.compile`` of every decoder layer (as torchtitan does; layers are identical, so one graph).

FLOPs per trained token (forward + backward), PaLM's convention (Chowdhery et al. 2022, appendix B):

    F = 6 * N + 12 * L * H * T
    N = parameters in matmuls = decoder layers + LM head (the embedding lookup multiplies nothing)
    L = layers, H = heads * head_dim = 2048, T = sequence length 4096; attention is counted in full (causal
    masking and document packing are not discounted), identically for both paths.

MFU = tokens/s * F / peak, peak = 989 TFLOP/s (H100 SXM and H200, bf16 dense, no sparsity).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

from training.data import pack  # noqa: E402
from training.losses import use_chunked_loss  # noqa: E402

PEAK_BF16 = 989e12  # H100 SXM / H200 dense bf16 FLOP/s

ONE_B = dict(
    hidden_size=2048,
    intermediate_size=8192,
    num_hidden_layers=16,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=64,
    vocab_size=128256,
    tie_word_embeddings=True,
    max_position_embeddings=8192,
    rope_theta=500000.0,
)
TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    vocab_size=512,
    tie_word_embeddings=True,
    max_position_embeddings=256,
)


def matmul_params(cfg: LlamaConfig) -> int:
    d, f, hd = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    h, g = cfg.num_attention_heads, cfg.num_key_value_heads
    layer = d * h * hd * 2 + 2 * d * g * hd + 3 * d * f
    return cfg.num_hidden_layers * layer + cfg.vocab_size * d  # + LM head (tied or not, it is a matmul)


def flops_per_token(cfg: LlamaConfig, seq: int) -> int:
    return 6 * matmul_params(cfg) + 12 * cfg.num_hidden_layers * cfg.num_attention_heads * cfg.head_dim * seq


def packed_batch(batch: int, seq: int, vocab: int, mean_doc: int, seed: int) -> dict[str, torch.Tensor]:
    """Rows packed from documents of random length (exponential, mean `mean_doc`) by training.data.pack."""
    g = torch.Generator().manual_seed(seed)

    def docs():
        while True:
            n = max(2, int(torch.empty(1).exponential_(1 / mean_doc, generator=g)))
            yield torch.randint(3, vocab, (n,), generator=g).tolist()

    rows = []
    for row, _ in pack(docs(), seq):
        rows.append(row)
        if len(rows) == batch:
            break
    return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}


def dense_batch(batch: int, seq: int, vocab: int, seed: int) -> dict[str, torch.Tensor]:
    ids = torch.randint(3, vocab, (batch, seq), generator=torch.Generator().manual_seed(seed))
    return {"input_ids": ids, "labels": ids.clone()}


@dataclass
class Result:
    path: str
    attention: str
    tokens_per_s: float
    tflops: float
    mfu: float | None
    peak_gb: float | None
    loss: float
    note: str = ""


def flash_attn_available() -> bool:
    try:
        import flash_attn  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


def run_path(name: str, cfg_kwargs: dict, args, device: torch.device, dtype: torch.dtype) -> Result:
    project = name == "project"
    attn = ("flash_attention_2" if flash_attn_available() else "sdpa") if project else "sdpa"
    cfg = LlamaConfig(**cfg_kwargs, use_cache=False)
    cfg._attn_implementation = attn
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).to(device=device, dtype=dtype).train()
    note = ""
    if project:
        use_chunked_loss(model, args.chunk)
        if args.compile:
            for layer in model.model.layers:
                layer.compile()
            note = "compiled layers"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    batches = [
        packed_batch(args.batch, args.seq, cfg.vocab_size, args.mean_doc, s)
        if project
        else dense_batch(args.batch, args.seq, cfg.vocab_size, s)
        for s in range(args.warmup + args.steps)
    ]
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()

    def step(batch, model=model, opt=opt):
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    try:
        for b in batches[: args.warmup]:
            step(b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for b in batches[args.warmup :]:
            loss = step(b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
    except torch.cuda.OutOfMemoryError:
        return Result(name, attn, 0.0, 0.0, None, None, float("nan"), "out of memory")
    finally:
        peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
        del model, opt
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    tokens_per_s = args.batch * args.seq * args.steps / elapsed
    achieved = tokens_per_s * flops_per_token(cfg, args.seq)
    mfu = achieved / args.peak if args.peak else None
    return Result(name, attn, tokens_per_s, achieved / 1e12, mfu, peak, float(loss.detach()), note)


def table(results: list[Result]) -> str:
    lines = [
        "| path | attention | tokens/s | TFLOP/s | MFU | peak memory (GiB) | last loss | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        mfu = f"{r.mfu:.3f}" if r.mfu is not None else "n/a"
        peak = f"{r.peak_gb:.1f}" if r.peak_gb is not None else "n/a"
        lines.append(
            f"| {r.path} | {r.attention} | {r.tokens_per_s:,.0f} | {r.tflops:.1f} | {mfu} | {peak} | "
            f"{r.loss:.3f} | {r.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[Result]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiny", action="store_true", help="tiny model on CPU (smoke test)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and FLOPs; run nothing")
    p.add_argument("--batch", type=int, default=2, help="micro-batch rows")
    p.add_argument("--seq", type=int, default=4096)
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps (compilation happens here)")
    p.add_argument("--chunk", type=int, default=4096, help="tokens per chunk of the fused cross-entropy")
    p.add_argument("--mean-doc", type=int, default=1024, help="mean document length of the packed rows")
    p.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--peak", type=float, default=PEAK_BF16, help="peak FLOP/s for MFU (0 = do not report)")
    p.add_argument("--paths", default="plain,project")
    args = p.parse_args(argv)

    if args.tiny:
        cfg_kwargs, device, dtype = TINY, torch.device("cpu"), torch.float32
        args.seq, args.batch, args.steps, args.warmup, args.chunk, args.mean_doc = 128, 2, 3, 1, 64, 40
        args.compile, args.peak = False, 0.0
    else:
        if not torch.cuda.is_available() and not args.dry_run:
            raise SystemExit("no GPU: use --tiny for the CPU smoke test or --dry-run for the plan")
        cfg_kwargs, device, dtype = ONE_B, torch.device("cuda"), torch.bfloat16
    cfg = LlamaConfig(**cfg_kwargs)
    fpt = flops_per_token(cfg, args.seq)
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    print(
        f"model: {matmul_params(cfg) / 1e6:,.1f}M matmul parameters, {fpt / 1e9:.3f} GFLOP per token "
        f"(6N + 12*L*H*T), seq {args.seq}, micro-batch {args.batch}, {args.steps} timed steps after "
        f"{args.warmup} warm-up; device {gpu}\n"
    )
    if args.dry_run:
        return []
    results = [run_path(name, cfg_kwargs, args, device, dtype) for name in args.paths.split(",")]
    print(table(results))
    return results


if __name__ == "__main__":
    main()
