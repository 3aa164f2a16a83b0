r"""Residual connections by the original's names: ``z = f(x, y)``, x the block input and y the
(dropped-out) layer output, both (B, L, H) or one step (B, H)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from s4_layers._checks import S4InputError


class Residual(nn.Module):
    """``z = alpha x + beta y`` ("R": alpha = beta = 1; alpha = 0 drops the skip)."""

    def __init__(
        self, i_layer: int, d_input: int, d_model: int, alpha: float = 1.0, beta: float = 1.0
    ) -> None:
        super().__init__()
        if d_input != d_model and alpha != 0.0:
            raise S4InputError(
                f"residual: expected the layer to keep the width {d_input} (or alpha=0), "
                f"got output width {d_model}"
            )
        self.i_layer, self.d_input, self.d_output = i_layer, d_input, d_model
        self.alpha, self.beta = alpha, beta

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = self.beta * y if self.beta != 1.0 else y
        if not self.alpha:
            return y
        # one op; x first where it can be, so the sum takes x's layout: the residual stream
        # stays as it came (the next LayerNorm needs no copy) whatever layout the layer gave y
        return x + y if self.alpha == 1.0 else torch.add(y, x, alpha=self.alpha)


class Feedforward(Residual):
    """``z = y``: no skip connection ("F", "N", "ff", "feedforward", "none")."""

    def __init__(self, i_layer: int, d_input: int, d_model: int) -> None:
        super().__init__(i_layer, d_input, d_model, alpha=0.0, beta=1.0)


class Affine(Residual):
    """``z = alpha x + c y`` with a learnt c (one scalar, or one per feature when
    ``scalar=False``) initialised to beta * i_layer^(-gamma) ("A")."""

    def __init__(self, *args: Any, scalar: bool = True, gamma: float = 0.0, **kw: Any) -> None:
        super().__init__(*args, **kw)
        c = self.beta * self.i_layer ** (-gamma)
        self.affine = nn.Parameter(c * torch.ones(1 if scalar else self.d_input))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # x + c y as one op in x's layout, as Residual (alpha = 1 is no multiply of x)
        return torch.addcmul(x if self.alpha == 1.0 else self.alpha * x, self.affine, y)


class Highway(Residual):
    """``r = sigmoid(W_x x + W_y y)``, ``z = s (1 - r) x + r y`` ("H"); W_y is a vector when
    ``elemwise``; s = 1.732 with ``scaling_correction``."""

    def __init__(
        self, *args: Any, scaling_correction: bool = False, elemwise: bool = False
    ) -> None:
        super().__init__(*args)
        self.scaling_correction = 1.732 if scaling_correction else 1.0
        self.elemwise = elemwise
        self.Wx = nn.Linear(self.d_input, self.d_input)
        if elemwise:
            self.Wy = nn.Parameter(torch.randn(self.d_input))
        else:
            self.Wy = nn.Linear(self.d_input, self.d_input)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = self.Wy * y if self.elemwise else self.Wy(y)
        r = torch.sigmoid(self.Wx(x) + y)
        return self.scaling_correction * (1.0 - r) * x + r * y


class DecayResidual(Residual):
    """``beta = i_layer^(-power)``, ``z = alpha x + beta y`` with alpha = sqrt(1 - beta^2)
    (``l2``) or 1 - beta ("D")."""

    def __init__(self, *args: Any, power: float = 0.5, l2: bool = True) -> None:
        super().__init__(*args)
        self.power, self.l2 = power, l2

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        beta = self.i_layer ** (-self.power)
        alpha = (1.0 - beta**2) ** 0.5 if self.l2 else 1.0 - beta
        return alpha * x + beta * y


RESIDUALS: dict[str, type[Residual]] = {
    "R": Residual,
    "residual": Residual,
    "F": Feedforward,
    "N": Feedforward,
    "ff": Feedforward,
    "feedforward": Feedforward,
    "none": Feedforward,
    "H": Highway,
    "highway": Highway,
    "D": DecayResidual,
    "decay": DecayResidual,
    "A": Affine,
    "affine": Affine,
}


def make_residual(
    residual: bool | str | dict | None, i_layer: int, d_input: int, d_model: int
) -> Residual | None:
    """None / False -> None (the block output replaces x, no dropout: the original's rule);
    True -> "R"; a name of :data:`RESIDUALS`; or ``{"_name_": name, **kwargs}``."""
    if residual is None or residual is False:
        return None
    if residual is True:
        residual = "R"
    kw: dict[str, Any] = {}
    if isinstance(residual, dict):
        kw = dict(residual)
        residual = kw.pop("_name_", "R")
    if not isinstance(residual, str) or residual not in RESIDUALS:
        raise S4InputError(
            f"residual: expected None, a bool, one of {sorted(RESIDUALS)} or a dict with "
            f"'_name_', got {residual!r}"
        )
    return RESIDUALS[residual](i_layer, d_input, d_model, **kw)
