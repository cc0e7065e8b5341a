"""Few-shot multiple-choice evaluation in the KMMLU and KorMedMCQA formats (log-likelihood or generation)."""
