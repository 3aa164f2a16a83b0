r"""LSSL: the Linear State-Space Layer, the first version of S4 (Gu et al. 2021).

``y = W act(K * u + D u) + b`` with K (channels, H, L) from :class:`SSMKernelLSSL` (a dense HiPPO
transition, GBT-discretised on a log-spaced dt grid over H), D (channels, H) a skip, and a
position-wise linear map from channels * H back to H. ``learn=0`` is LSSL-fixed (nothing of the
SSM trained), 1 trains dt, 2 trains A and B too.

The same kernel also plugs into :class:`~s4_layers.FFTConv` / :class:`~s4_layers.S4Block` as
``mode="lssl"`` through the ``SSMKernel`` factory (in s4-train: ``model.layer.mode=lssl``).
"""

from __future__ import annotations

import torch
from torch import nn

from s4_layers._checks import S4InputError, describe
from s4_layers.activations import activation as make_activation
from s4_layers.dropout import make_dropout
from s4_layers.functional.conv import skip_conv
from s4_layers.kernel_lssl import SSMKernelLSSL


class LSSL(nn.Module):
    """The LSSL layer. forward(x, state=None, rate=1.0) -> (y, next_state); y has x's shape.

    Args:
        d_model: H.  d_state: N.  channels: SSM copies per feature, mixed by the output linear.
        measure: a ``hippo_core.MEASURES`` name.  alpha / disc: the GBT (see the kernel).
        dt_min, dt_max: the dt grid.  learn: 0 | 1 | 2.  lr: lr of the trained SSM tensors.
        activation: after the D skip.  dropout: after the activation.
        transposed: (B, H, L) if True else (B, L, H).  l_max: kernel length bound.
    State: (B, H, N) real (see :meth:`default_state`).
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 64,
        channels: int = 1,
        measure: str = "legs",
        alpha: float | None = None,
        disc: str | None = None,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        learn: int = 0,
        lr: float | None = None,
        activation: str | None = "gelu",
        dropout: float = 0.0,
        transposed: bool = True,
        l_max: int | None = None,
        init_kw: dict | None = None,
    ) -> None:
        super().__init__()
        self.H, self.channels, self.transposed = d_model, channels, transposed
        self.kernel = SSMKernelLSSL(
            d_model,
            d_state,
            channels=channels,
            init=measure,
            alpha=alpha,
            disc=disc,
            dt_min=dt_min,
            dt_max=dt_max,
            learn=learn,
            lr=lr,
            l_max=l_max,
            init_kw=init_kw,
        )
        self.D = nn.Parameter(torch.randn(channels, d_model))
        self.activation = make_activation(activation, dim=1)
        self.dropout = make_dropout(dropout)
        self.output_linear = nn.Linear(channels * d_model, d_model)

    def _to_bhl(self, x: torch.Tensor) -> torch.Tensor:
        axis = 1 if self.transposed else 2
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[axis] != self.H:
            layout = "(B, H, L)" if self.transposed else "(B, L, H)"
            got = describe(x) if isinstance(x, torch.Tensor) else type(x).__name__
            raise S4InputError(f"x: expected {layout} with H={self.H}, got {got}")
        return x if self.transposed else x.transpose(1, 2)

    def _mix(self, y: torch.Tensor) -> torch.Tensor:
        """(B, channels * H, ...) -> activation, dropout, W . + b -> (B, H, ...)."""
        y = self.dropout(self.activation(y))
        return torch.einsum("oi,bi...->bo...", self.output_linear.weight, y) + (
            self.output_linear.bias.view(-1, *([1] * (y.dim() - 2)))
        )

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None, rate: float = 1.0):
        """x (B, H, L) or (B, L, H) -> (y like x, next_state or None when no state given)."""
        u = self._to_bhl(x)
        L = u.shape[-1]
        # y = K * u + D u, per channel: (B, channels, H, L)
        y = skip_conv(u.unsqueeze(1), self.kernel(L, rate=rate), self.D)
        next_state = None
        if state is not None:
            y_state, next_state = self.kernel.forward_state(u, state, rate=rate)
            y = y + y_state
        y = self._mix(y.flatten(1, 2))
        return (y if self.transposed else y.transpose(1, 2)), next_state

    def default_state(self, *batch: int, device=None) -> torch.Tensor:
        return self.kernel.default_state(*batch, device=device)

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        self.kernel.setup_step(mode=mode, rate=rate)

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, H), state (B, H, N) -> (y (B, H), next state)."""
        y, state = self.kernel.step(x, state)
        y = y + self.D * x.unsqueeze(1)
        return self._mix(y.flatten(1, 2)), state
