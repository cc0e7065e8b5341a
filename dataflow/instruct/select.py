"""From a verdict to the datasets: SFT by threshold, KTO labels by two thresholds, and KTO's balance.

KTO (Ethayarajh et al., 2024, sec. 4.2): with lambda_D, lambda_U the desirable/undesirable weights
and n_D, n_U the example counts, lambda_D * n_D / (lambda_U * n_U) should lie in [1, 4/3]. The
recipe's 1.375 / 1 with n_D = n_U gives 1.375, just over; the report prints the ratio beside that
range so the weights (or the thresholds) can be set from the data actually produced.
"""

from __future__ import annotations

from dataflow.instruct.config import SelectConfig

BELOW_SFT_THRESHOLD = "below_sft_threshold"
KTO_RANGE = (1.0, 4.0 / 3.0)


def sft_keep(overall: float, cfg: SelectConfig) -> bool:
    return overall >= cfg.sft_min_overall


def kto_label(overall: float, cfg: SelectConfig) -> bool | None:
    """True desirable, False undesirable, None between the thresholds (left out of KTO)."""
    if overall >= cfg.kto_desirable_min:
        return True
    if overall <= cfg.kto_undesirable_max:
        return False
    return None


def kto_balance(n_desirable: int, n_undesirable: int, cfg: SelectConfig) -> dict:
    """The weighted ratio and whether it lies in KTO's recommended range."""
    ratio = (cfg.kto_lambda_d * n_desirable) / (cfg.kto_lambda_u * n_undesirable) if n_undesirable else None
    return dict(
        n_desirable=n_desirable,
        n_undesirable=n_undesirable,
        lambda_d=cfg.kto_lambda_d,
        lambda_u=cfg.kto_lambda_u,
        weighted_ratio=ratio,
        recommended=list(KTO_RANGE),
        in_range=ratio is not None and KTO_RANGE[0] <= ratio <= KTO_RANGE[1],
        # lambda_D that would put the ratio at the middle of the range for these counts
        suggested_lambda_d=(7 / 6) * cfg.kto_lambda_u * n_undesirable / n_desirable if n_desirable else None,
    )
