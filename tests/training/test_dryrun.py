"""The 102B dry run: torch's fully_shard on the meta device over fake ranks gives the per-rank memory."""

from __future__ import annotations

import pytest

from training.dryrun import main
from training.growth.shapes import LLAMA3_MOTIF_102B, param_counts

pytestmark = pytest.mark.slow


def test_dry_run_prints_per_rank_memory_for_64_128_256(capsys):
    rows = main([])
    total = param_counts(LLAMA3_MOTIF_102B)["total"]
    assert [r.ranks for r in rows] == [64, 128, 256]
    for r in rows:  # rank 0 holds the ceil(n / W) chunks: at least its share, at most one row per tensor more
        assert total / r.ranks <= r.params_per_rank < total / r.ranks + 10_000_000
    # 16 bytes per parameter (fp32 weights, grads, 2 Adam moments): 1.63 TB / 256 = 6.4 GB, not 16 GB
    assert rows[2].total_gb == pytest.approx(16 * total / 256 / 1e9, rel=1e-3)
    assert 6.3 < rows[2].total_gb < 6.5 and 25.4 < rows[0].total_gb < 25.6
    # the root group (embedding + LM head: 2 x 128,256 x 9,216) is the largest all-gathered group
    assert rows[0].largest_group == 2 * 128256 * 9216 + 9216
    out = capsys.readouterr().out
    assert "| 256 | 398,525,220 |" in out and "102,022,456,320 parameters" in out
