"""Epoch-level metrics as ``torchmetrics.Metric`` objects (exact over batches and DDP ranks).

Averaging per-batch values is wrong for perplexity (``mean_b exp(CE_b) != exp(mean CE)``)
and for per-token means when batches hold different numbers of targets. Each metric here
keeps two sums over every position seen, reduced across processes by torchmetrics
(``dist_reduce_fx="sum"``), and applies its formula once in ``compute()``::

    accuracy      = sum(argmax == y) / N
    cross_entropy = sum(CE_token) / N                 (nats)
    bits_per_dim  = bits_per_byte = cross_entropy / ln 2
    perplexity    = exp(cross_entropy)
    mse           = sum((pred - y)^2) / N_entries

``update(logits, y)`` takes the same arguments as the functions of ``s4_tasks.metrics``
(and checks them the same way).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torchmetrics import Metric, MetricCollection

from s4_tasks.metrics import METRICS, _check_class_args


class TokenMean(Metric):
    """``transform(sum / count)`` over every position of every update (see module doc)."""

    full_state_update = False

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(**kwargs)
        if name not in METRICS:
            raise ValueError(f"name: expected one of {sorted(METRICS)}, got {name!r}")
        self.metric_name = name
        self.add_state(
            "total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state("count", default=torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, logits: torch.Tensor, y: torch.Tensor) -> None:
        logits, y = logits.detach(), y.detach()
        if self.metric_name == "mse":
            METRICS["mse"](logits, y)  # validates the shapes
            self.total += ((logits - y.to(logits.dtype)) ** 2).sum().double()
            self.count += y.numel()
            return
        _check_class_args(logits, y, self.metric_name)
        flat, target = logits.reshape(-1, logits.shape[-1]), y.reshape(-1).long()
        if self.metric_name == "accuracy":
            self.total += (flat.argmax(-1) == target).sum().double()
        else:
            self.total += F.cross_entropy(flat.double(), target, reduction="sum")
        self.count += target.numel()

    def compute(self) -> torch.Tensor:
        mean = self.total / self.count.clamp(min=1)
        if self.metric_name in ("bits_per_dim", "bits_per_byte"):
            return (mean / math.log(2.0)).float()
        if self.metric_name == "perplexity":
            return torch.exp(mean).float()
        return mean.float()


def epoch_metrics(names: list[str] | tuple[str, ...], prefix: str = "") -> MetricCollection:
    """A ``MetricCollection`` of :class:`TokenMean` for ``names`` (from ``METRICS``)."""
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"names: unknown {unknown}; expected names from {sorted(METRICS)}")
    return MetricCollection({n: TokenMean(n) for n in names}, prefix=prefix or None)
