"""Epoch means of per-batch values, weighted by batch size and summed across DDP processes.

    mean = sum_b n_b v_b / sum_b n_b        (v_b: a batch's mean value, n_b: its batch size)

A NaN value stays in the mean (it must show). torchmetrics' ``MeanMetric`` is not used: with
``nan_strategy="disable"`` (the only setting without a host sync per update) it drops the
weights (torchmetrics 1.9).
"""

from __future__ import annotations

import torch
from torchmetrics import Metric


class BatchWeightedMean(Metric):
    """``update(value (), batch_size)``; ``compute()`` = the weighted mean above."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state(
            "total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state(
            "count", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )

    def update(self, value: torch.Tensor, batch_size: int) -> None:
        self.total += value.detach().double() * batch_size
        self.count += batch_size

    def compute(self) -> torch.Tensor:
        return (self.total / self.count).float()
