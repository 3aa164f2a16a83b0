"""S4D: the minimal diagonal state space layer, readable in one screen.

    x_k = exp(dt A) x_{k-1} + (exp(dt A) - 1)/A B u_k,     y_k = 2 Re(C x_k) + D u_k
    A_n = -exp(log_A_real_n) + i pi n  (S4D-Lin),  ZOH,  kernel K_l = 2 Re(sum_n C dB dA^l)

Equivalent to ``S4Block(mode="diag", init="diag-lin", disc="zoh", real_transform="exp")``
without the extras (B folded into C, GELU then a pointwise Linear + GLU).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from s4_layers._checks import S4InputError, describe
from s4_layers.functional import diag_kernel, diag_next_state, diag_state_output, fft_conv
from s4_layers.functional.discretize import discretize_diag
from s4_layers.optim import register


class S4D(nn.Module):
    """(B, H, L) -> (B, H, L) if transposed else (B, L, H) -> (B, L, H)."""

    def __init__(
        self,
        d_model: int,
        d_state: int = 64,
        dropout: float = 0.0,
        transposed: bool = True,
        lr: float | None = None,
    ) -> None:
        super().__init__()
        H, N2 = d_model, d_state // 2
        self.H, self.N, self.transposed = H, d_state, transposed
        log_dt = math.log(1e-3) + torch.rand(H) * (math.log(1e-1) - math.log(1e-3))
        register(self, "log_dt", log_dt, lr)
        register(self, "log_A_real", torch.log(0.5 * torch.ones(H, N2)), lr)
        register(self, "A_imag", math.pi * torch.arange(N2).repeat(H, 1).float(), lr)
        self.C = nn.Parameter(torch.randn(H, N2, 2) * math.sqrt(0.5))  # complex, B folded in
        self.D = nn.Parameter(torch.randn(H))
        self.activation, self.dropout = nn.GELU(), nn.Dropout(dropout)
        self.output_linear = nn.Linear(H, 2 * H)  # then GLU: back to H features

    def _ssm(self):  # (dt, A, B, C) of the diagonal system
        A = torch.complex(-torch.exp(self.log_A_real), self.A_imag)
        return torch.exp(self.log_dt), A, torch.ones_like(A), torch.view_as_complex(self.C)

    def forward(self, u: torch.Tensor, state: torch.Tensor | None = None, rate: float = 1.0):
        if not self.transposed:
            u = u.transpose(-1, -2)
        if u.dim() != 3 or u.shape[1] != self.H:
            raise S4InputError(f"u: expected (B, H={self.H}, L) after layout, got {describe(u)}")
        dt, A, B, C = self._ssm()
        L = u.shape[-1]
        y = fft_conv(u, diag_kernel(dt * rate, A, B, C.unsqueeze(0), L)[0]) + self.D[:, None] * u
        next_state = None
        if state is not None:  # continue from state: add its decaying output, carry it on
            y = y + diag_state_output(dt * rate, A, C.unsqueeze(0), state, L)[:, 0]
            next_state = diag_next_state(dt * rate, A, B, u, state)
        y = self.dropout(self.activation(y))
        W, b = self.output_linear.weight, self.output_linear.bias
        y = F.glu(torch.baddbmm(b[:, None], W.expand(len(y), -1, -1), y), dim=1)  # Linear over H
        return (y if self.transposed else y.transpose(-1, -2)), next_state

    def default_state(self, *batch: int, device=None) -> torch.Tensor:
        dtype = torch.complex128 if self.C.dtype == torch.float64 else torch.complex64
        return torch.zeros(*batch, self.H, self.N // 2, dtype=dtype, device=device or self.C.device)

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        dt, A, B, C = self._ssm()
        dA, dB, _ = discretize_diag(dt * rate, A, B, "zoh")
        self._step = (dA, dB, C)

    def step(self, u: torch.Tensor, state: torch.Tensor):
        """u (B, H), state (B, H, N/2) -> (y (B, H), next state)."""
        dA, dB, C = self._step
        state = dA * state + dB * u.unsqueeze(-1)
        y = 2 * (C * state).sum(-1).real + self.D * u
        y = F.glu(self.output_linear(self.dropout(self.activation(y))), dim=-1)
        return y, state
