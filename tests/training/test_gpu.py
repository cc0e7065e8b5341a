"""GPU checks (skipped without CUDA/ROCm): the fused loss in bf16 on the device, and packed flash/sdpa training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from training.losses import fused_linear_cross_entropy

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA/ROCm GPU")]


def test_fused_cross_entropy_bf16_on_gpu_matches_fp32_reference():
    g = torch.Generator(device="cuda").manual_seed(0)
    h = torch.randn(3000, 256, device="cuda", generator=g).bfloat16().requires_grad_()
    w = (torch.randn(32000, 256, device="cuda", generator=g) * 0.02).bfloat16().requires_grad_()
    y = torch.randint(0, 32000, (3000,), device="cuda", generator=g)
    expected = F.cross_entropy(h.float() @ w.float().T, y)
    got = fused_linear_cross_entropy(h, w, y, chunk_size=1024)
    torch.testing.assert_close(got, expected, rtol=2e-2, atol=2e-2)
    got.backward()
    assert torch.isfinite(h.grad).all() and torch.isfinite(w.grad).all()


def test_bench_paths_run_on_gpu():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from bench_gpu_train import main

    results = main(["--seq", "512", "--batch", "1", "--steps", "2", "--warmup", "1", "--no-compile"])
    assert all(r.tokens_per_s > 0 and r.note != "out of memory" for r in results)
