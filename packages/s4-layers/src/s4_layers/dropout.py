"""Dropout variants of the original: tied along the sequence, and stochastic depth."""

from __future__ import annotations

import torch
from torch import nn

from s4_layers._checks import S4InputError


def _check_p(name: str, p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise S4InputError(f"{name}: expected a probability in [0, 1), got {p!r}")
    return float(p)


def _apply_mask(x: torch.Tensor, keep: torch.Tensor, p: float) -> torch.Tensor:
    """x * keep / (1 - p). The mask is scaled while it is small (one value per kept track), so
    the full-size x is multiplied once, in the forward and in the backward; 16-bit x divides
    itself instead (a 16-bit 1 / (1 - p) would bias every kept value by its rounding)."""
    if x.element_size() < 4:
        return x * keep / (1.0 - p)
    return x * (keep.to(x.dtype) / (1.0 - p))


class Dropout(nn.Dropout):
    """``nn.Dropout`` (same rule: each element kept with probability 1 - p, scaled by
    1 / (1 - p); same ``p`` and ``inplace``) whose CPU mask is drawn by ``torch.rand``.

    On CPU ``F.dropout`` draws its mask with ``bernoulli_``, about twice as slow as ``rand``
    (measured on (64, 64, 64) float32: 1.33 ms against 0.61 ms), and a short-sequence
    training step has a few dropouts per layer. Keeping u >= p of a float32 uniform u is the
    same Bernoulli(1 - p) draw, to float32's 2^-24 resolution of p. Other devices (fused
    kernels) and evaluation go to ``nn.Dropout`` itself.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.device.type != "cpu" or x.is_complex():
            return super().forward(x)
        # the uniform in float32 whatever x's dtype (a 16-bit uniform would quantise p); in x's
        # layout (a mask of another layout makes the product a strided loop)
        keep = torch.rand_like(x, dtype=torch.float32).ge_(self.p)
        mask = (keep if x.dtype == torch.float32 else keep.to(x.dtype)).mul_(1.0 / (1.0 - self.p))
        return x.mul_(mask) if self.inplace else x * mask


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
        return _apply_mask(x, keep, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, transposed={self.transposed}"


def make_dropout(p: float, tie: bool = False, transposed: bool = True) -> nn.Module:
    """Identity for p = 0, :class:`TiedDropout` when ``tie``, else :class:`Dropout` (an
    ``nn.Dropout``)."""
    p = _check_p("dropout", p)
    if p == 0.0:
        return nn.Identity()
    return TiedDropout(p, transposed=transposed) if tie else Dropout(p)


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
        return _apply_mask(x, keep, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"
