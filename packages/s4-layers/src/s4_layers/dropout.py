"""Dropout variants of the original: tied along the sequence, and stochastic depth."""

from __future__ import annotations

import torch
from torch import nn

from s4_layers._checks import S4InputError


def _check_p(name: str, p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise S4InputError(f"{name}: expected a probability in [0, 1), got {p!r}")
    return float(p)


class TiedDropout(nn.Module):
    """Dropout with one mask per (batch, feature), shared by every position of the sequence
    (the original's ``DropoutNd``, i.e. ``nn.Dropout1d``'s rule, scaled by 1 / (1 - p)).

    x: (B, H, L) if ``transposed`` else (B, L, H); a (B, H) step input gets a fresh mask.
    """

    def __init__(self, p: float = 0.5, transposed: bool = True) -> None:
        super().__init__()
        self.p, self.transposed = _check_p("dropout", p), transposed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.dim() <= 2:
            shape = x.shape
        elif self.transposed:
            shape = (*x.shape[:2], *([1] * (x.dim() - 2)))
        else:
            shape = (x.shape[0], *([1] * (x.dim() - 2)), x.shape[-1])
        keep = torch.rand(shape, device=x.device) < 1.0 - self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, transposed={self.transposed}"


def make_dropout(p: float, tie: bool = False, transposed: bool = True) -> nn.Module:
    """Identity for p = 0, :class:`TiedDropout` when ``tie``, else ``nn.Dropout``."""
    p = _check_p("dropout", p)
    if p == 0.0:
        return nn.Identity()
    return TiedDropout(p, transposed=transposed) if tie else nn.Dropout(p)


class StochasticDepth(nn.Module):
    """Drop a whole residual branch with probability p (Huang et al. 2016), scaling the kept
    ones by 1 / (1 - p). mode "row": one draw per batch element; "batch": one for the batch."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        if mode not in ("row", "batch"):
            raise S4InputError(f"mode: expected one of ['row', 'batch'], got {mode!r}")
        self.p, self.mode = _check_p("drop_path", p), mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        shape = (x.shape[0],) + (1,) * (x.dim() - 1) if self.mode == "row" else (1,) * x.dim()
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"
