"""S4D: the minimal diagonal state space layer, readable in one screen.

    A_n = -exp(log_A_real_n) + i pi n  (S4D-Lin),  dt = exp(log_dt), log-uniform in [dt_min, dt_max]
    ZOH:  dA = exp(dt A),  dB = (exp(dt A) - 1) / A  (B = 1, folded into C)
    x_k = dA x_{k-1} + dB u_k,   y_k = 2 Re(C x_k) + D u_k,   K_l = 2 Re(sum_n C_n dB_n dA_n^l)

Equivalent to ``S4Block(mode="diag", init="diag-lin", disc="zoh", real_transform="exp")``
with B = 1 (tested), without the extras. The Vandermonde sums are ssm_kernels' fused ops
(the same sums, without materialising (H, N/2, L)).
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from s4_layers._checks import (
    check_dt_range,
    check_even,
    check_int,
    check_rate,
    check_signal,
    check_state,
    complex_dtype_of,
    real_dtype_of,
)
from s4_layers._step_cache import (
    apply_unless_identity,
    linear_step,
    parameter_key,
    step_input_ok,
)
from s4_layers.activations import plain_activation
from s4_layers.dropout import make_dropout
from s4_layers.functional.conv import skip_conv
from s4_layers.functional.linear import linear_features
from s4_layers.functional.step import diag_step, diag_step_terms
from s4_layers.optim import register
from s4_layers.step_plan import StepPlan, affine, step_with_plan
from ssm_kernels import vandermonde, vandermonde_transpose


class S4D(nn.Module):
    """(B, H, L) -> (B, H, L) if transposed else (B, L, H) -> (B, L, H).

    ``tie_dropout``: one dropout mask per (batch, feature) for the whole sequence, the rule of
    the original s4d.py (its ``DropoutNd``, tie=True); the default drops elements.
    """

    def __init__(self, d_model: int, d_state: int = 64, dropout: float = 0.0,
                 transposed: bool = True, lr: float | None = None,
                 dt_min: float = 1e-3, dt_max: float = 1e-1,
                 tie_dropout: bool = False) -> None:  # fmt: skip
        super().__init__()
        H, N2 = check_int("d_model", d_model), check_even("d_state", d_state) // 2
        check_dt_range(dt_min, dt_max)
        self.H, self.N, self.transposed = H, d_state, transposed
        log_dt = math.log(dt_min) + torch.rand(H) * (math.log(dt_max) - math.log(dt_min))  # (H,)
        register(self, "log_dt", log_dt, lr)
        register(self, "log_A_real", torch.log(0.5 * torch.ones(H, N2)), lr)  # (H, N/2)
        register(self, "A_imag", math.pi * torch.arange(N2).repeat(H, 1).float(), lr)  # (H, N/2)
        self.C = nn.Parameter(torch.randn(H, N2, 2) * math.sqrt(0.5))  # (H, N/2) complex
        self.D = nn.Parameter(torch.randn(H))  # (H,)
        self.activation = nn.GELU()
        self.dropout = make_dropout(dropout, tie=tie_dropout, transposed=True)  # on (B, H, L)
        self.output_linear = nn.Linear(H, 2 * H)  # then GLU: back to H features
        self._step = None

    def _ssm(self, rate: float = 1.0):  # (dt (H,), A (H, N/2), B (H, N/2), C (H, N/2))
        w = real_dtype_of(self.C.dtype)  # float32 for 16-bit parameters (complex math)
        A = torch.complex(-torch.exp(self.log_A_real.to(w)), self.A_imag.to(w))
        C = torch.view_as_complex(self.C.to(w))
        return torch.exp(self.log_dt.to(w)) * check_rate(rate), A, torch.ones_like(A), C

    def _zoh(self, rate: float):
        dt, A, B, C = self._ssm(rate)
        dtA = dt[:, None] * A  # (H, N/2)
        return dtA, B * (torch.exp(dtA) - 1) / A, C  # log dA, dB (H, N/2), C (H, N/2)

    def forward(self, u: torch.Tensor, state: torch.Tensor | None = None, rate: float = 1.0):
        if not self.transposed:
            u = u.transpose(-1, -2)
        check_signal("u", u, self.H, 1, 3, f"(B, H={self.H}, L) after layout", self.C.dtype)
        dtA, dB, C = self._zoh(rate)
        v = u.to(dB.real.dtype)  # (B, H, L) in the working precision
        L = v.shape[-1]
        K = vandermonde(C * dB, dtA, L)  # K[h, l] = 2 Re(sum_n C dB exp(dtA l)): (H, L)
        y = skip_conv(v, K, self.D)  # y = K * u + D u, D u as lag 0 of K: (B, H, L)
        next_state = None
        if state is not None:  # continue from state: add its decaying output, carry it on
            check_state("state", state, (v.shape[0], self.H, self.N // 2), self._state_dtype())
            # y_state[b, h, l] = 2 Re(sum_n C dA^{l+1} x0): (B, H, L)
            y = y + vandermonde(C * torch.exp(dtA) * state, dtA, L)
            # x_L = dA^L x0 + sum_l dA^{L-1-l} dB u_l: (B, H, N/2)
            next_state = torch.exp(dtA * L) * state + vandermonde_transpose(v.flip(-1), dB, dtA, L)
        y = self.dropout(self.activation(y.to(u.dtype)))
        y = F.glu(linear_features(y.transpose(1, 2), *self._out()), dim=-1)  # (B, L, H)
        return (y.transpose(1, 2) if self.transposed else y), next_state

    def _out(self):
        return self.output_linear.weight, self.output_linear.bias

    def _state_dtype(self) -> torch.dtype:
        return complex_dtype_of(self.C.dtype)

    def default_state(self, *batch: int, device=None) -> torch.Tensor:
        device = device or self.C.device
        return torch.zeros(*batch, self.H, self.N // 2, dtype=self._state_dtype(), device=device)

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        """Cache dA, dB (ZOH); ``step`` re-derives them when the parameters change."""
        dtA, dB, C = self._zoh(rate)  # real step terms: see functional.step.diag_step
        self._step = {"terms": diag_step_terms(torch.exp(dtA), dB, C.unsqueeze(0)),
                      "step": diag_step, "rate": rate, "key": parameter_key(self)}  # fmt: skip

    def _current_step(self) -> dict:
        """The step cache, re-derived (same rate) when the parameters changed since."""
        if self._step is None or self._step["key"] != parameter_key(self):
            self.setup_step(rate=1.0 if self._step is None else self._step["rate"])
        return self._step

    def step(self, u: torch.Tensor, state: torch.Tensor):
        """u (B, H), state (B, H, N/2) -> (y (B, H), next state). Sets itself up if needed.
        Through the layer's :class:`~s4_layers.step_plan.StepPlan` where it applies."""
        return step_with_plan(self, self._build_step_plan, u, state, self._step_modules)

    def _build_step_plan(self) -> StepPlan:
        self._current_step()
        return StepPlan(
            self, (self, "_step"), self.H, self.H, self.N // 2, self.D.unsqueeze(0),
            conv=(plain_activation(self.activation, inplace=True),),
            post=(affine(self.output_linear, partial(F.glu, dim=-1)),),
            skipped=(self.dropout,),
        )  # fmt: skip

    def _step_modules(self, u: torch.Tensor, state: torch.Tensor):
        """The step module by module (every check, every module called)."""
        if not step_input_ok(u, state, self.H, self.N // 2, self.C.dtype):  # full checks
            check_signal("u", u, self.H, 1, 2, f"one step of shape (B, H={self.H})", self.C.dtype)
            check_state("state", state, (u.shape[0], self.H, self.N // 2), self._state_dtype())
        terms = self._current_step()["terms"]
        w = terms["C_real"].dtype  # the working precision (.to only when it differs)
        v = u if u.dtype == w else u.to(w)
        y, state = diag_step(terms, state, v)  # x = dA x + dB u, 2 Re(C x)
        y = torch.addcmul(y[:, 0], self.D, v)  # 2 Re(C x) + D u: (B, H)
        y = y if u.dtype == w else y.to(u.dtype)
        y = apply_unless_identity(self.dropout, apply_unless_identity(self.activation, y))
        return F.glu(linear_step(self.output_linear, y), dim=-1), state
