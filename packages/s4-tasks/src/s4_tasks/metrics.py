"""Metrics and losses on logits ``(..., C)`` with integer targets ``(...)``.

- accuracy = mean(argmax_c logits == y)
- cross_entropy = mean(logsumexp_c logits - logits[y])   (nats)
- bits_per_dim = bits_per_byte = cross_entropy / ln 2   (bits per predicted symbol)
- perplexity = exp(cross_entropy)
- mse(pred, y) = mean((pred - y)^2), same shapes

All reduce to a scalar tensor; the losses keep their graph. Every leading shape is allowed
(per-step targets (B, L) included) as long as ``logits.shape[:-1] == y.shape``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

LN2 = math.log(2.0)


def _check_class_args(logits: torch.Tensor, y: torch.Tensor, name: str) -> None:
    if logits.dim() < 1 or tuple(logits.shape[:-1]) != tuple(y.shape):
        raise ValueError(
            f"{name}: expected logits (..., C) and targets (...) with matching leading dims, "
            f"got logits {tuple(logits.shape)} and y {tuple(y.shape)}"
        )
    if y.is_floating_point() or y.is_complex():
        raise ValueError(f"{name}: expected integer class targets, got {y.dtype}")


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of positions where argmax over the last dim equals y (scalar, no grad)."""
    _check_class_args(logits, y, "accuracy")
    with torch.no_grad():
        return (logits.argmax(dim=-1) == y).float().mean()


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy in nats over all positions (scalar, differentiable)."""
    _check_class_args(logits, y, "cross_entropy")
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1).long())


def bits_per_dim(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy in bits: cross_entropy / ln 2 (bits per dim / per byte)."""
    return cross_entropy(logits, y) / LN2


def bits_per_byte(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy in bits per byte-valued symbol (the same quantity as bits_per_dim)."""
    return bits_per_dim(logits, y)


def perplexity(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """exp(cross-entropy in nats)."""
    return torch.exp(cross_entropy(logits, y))


def mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all entries; ``pred`` and ``y`` must have the same shape."""
    if tuple(pred.shape) != tuple(y.shape):
        raise ValueError(
            f"mse: expected pred and y of the same shape, got {tuple(pred.shape)} and "
            f"{tuple(y.shape)}"
        )
    return F.mse_loss(pred, y.to(pred.dtype))


METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "accuracy": accuracy,
    "cross_entropy": cross_entropy,
    "bits_per_dim": bits_per_dim,
    "bits_per_byte": bits_per_byte,
    "perplexity": perplexity,
    "mse": mse,
}

# Which metrics make sense for each output kind (the trainer logs these).
METRICS_FOR: dict[str, tuple[str, ...]] = {
    "class": ("accuracy", "cross_entropy"),
    "seq_class": ("accuracy", "cross_entropy", "bits_per_dim", "perplexity"),
    "regression": ("mse",),
}


def loss_for(output_kind: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss: cross_entropy for class / seq_class, mse for regression."""
    if output_kind in ("class", "seq_class"):
        return cross_entropy
    if output_kind == "regression":
        return mse
    raise ValueError(
        f"output_kind must be one of ['class', 'seq_class', 'regression'], got {output_kind!r}"
    )
