"""Language-model metrics aggregated over the whole epoch (or stream): cross-entropy,
perplexity and bits per token are functions of the token-weighted MEAN cross-entropy, so they
cannot be averaged per batch (mean of exp(ce_b) > exp(mean ce_b); batches of unequal token
counts weigh differently). Each keeps the token-weighted cross-entropy sum and the
token count (summed across DDP processes by torchmetrics) and transforms at ``compute``:

    cross_entropy = sum_ce / n_tokens,    perplexity = exp(sum_ce / n_tokens),
    bits_per_dim = sum_ce / n_tokens / ln 2
"""

from __future__ import annotations

import math

import torch
from torchmetrics import Metric

# metric names of s4_tasks.metrics that are transforms of the mean cross-entropy
EPOCH_TRANSFORMS = {
    "cross_entropy": lambda ce: ce,
    "perplexity": math.exp,
    "bits_per_dim": lambda ce: ce / math.log(2),
}


class MeanCrossEntropyTransform(Metric):
    """``update(logits (..., V), y (...))``; ``compute()`` = transform(mean token CE)."""

    full_state_update = False

    def __init__(self, name: str) -> None:
        super().__init__()
        if name not in EPOCH_TRANSFORMS:
            raise ValueError(f"name: expected one of {sorted(EPOCH_TRANSFORMS)}, got {name!r}")
        self.transform_name = name
        self.add_state(
            "ce_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state(
            "count", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )

    def update(self, logits: torch.Tensor, y: torch.Tensor) -> None:
        # summed in the logits' dtype (no float64 copy of a (B, L, V) tensor), kept in float64
        ce = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"
        )
        self.ce_sum += ce.double()
        self.count += y.numel()

    def compute(self) -> torch.Tensor:
        mean = float(self.ce_sum / self.count.clamp(min=1))
        return torch.tensor(EPOCH_TRANSFORMS[self.transform_name](mean), dtype=torch.float32)
