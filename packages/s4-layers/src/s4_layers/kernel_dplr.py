"""S4 kernel: diagonal plus low-rank A, bilinear discretisation (see functional.dplr).

Step forms (``setup_step(mode=...)``, the original's spelling), both exact for the full
conjugate system, both built from :mod:`s4_layers.functional.discretize` and run by the fused
real forms of :mod:`s4_layers.functional.step` (one real bmm over H reads the old state and
gives the output too):

- "dense": the discretised (N, N) real matrices dA, dB (interleaved real basis); O(N^2) a step.
- "linear": the O(N r) diagonal-plus-low-rank step, x' = (I - dt/2 A)^{-1} [(I + dt/2 A) x
  + dt B u] with the forward half applied directly and the backward half by Woodbury.
"""

from __future__ import annotations

import torch

from s4_layers._checks import check_choice
from s4_layers.functional.discretize import dplr_bilinear_dense
from s4_layers.functional.dplr import (
    DPLR_DISCS,
    _dplr_forward_state,
    _dplr_next_state,
    _dplr_state_output,
)
from s4_layers.functional.dplr_state import dplr_kernel_feedback
from s4_layers.functional.step import (
    dplr_dense_step,
    dplr_dense_step_terms,
    dplr_linear_fused_step,
    dplr_linear_fused_terms,
)
from s4_layers.kernel_base import SSMKernelBase

STEP_MODES = ("dense", "linear")  # the step forms, under the original's argument name


class SSMKernelDPLR(SSMKernelBase):
    """DPLR SSM kernel (S4). ``forward(L, rate) -> K (channels, H, L)``.

    The true C is stored and the kernel is computed for every call's L as the impulse response
    of the diagonal system with low-rank feedback (``functional.dplr_state``), so any L is
    exact. ``l_max`` only bounds L (``auto_extend=False`` turns a longer input into an error).
    """

    family = "dplr"

    def __init__(self, d_model: int, d_state: int = 64, disc: str = "bilinear", **kw) -> None:
        check_choice("disc", disc, DPLR_DISCS)
        super().__init__(d_model, d_state, **kw)
        self.disc = disc

    def forward(self, L: int, rate: float = 1.0) -> torch.Tensor:
        L = self.fit_length(L)
        dt, A, P, B, C = self.dt(rate), self.A(), self.P_c(), self.B_c(), self.C_c()
        return dplr_kernel_feedback(dt, A, P, B, C, L, self.backend)

    def state_output(self, state: torch.Tensor, L: int, rate: float = 1.0) -> torch.Tensor:
        """Output contribution of an initial state: (batch, channels, H, L)."""
        self._check_state(state)
        L = self.fit_length(L)
        dt, A, P, C = self.dt(rate), self.A(), self.P_c(), self.C_c()
        return _dplr_state_output(dt, A, P, C, state, L, self.backend)

    def next_state(self, u: torch.Tensor, state: torch.Tensor | None, rate: float = 1.0):
        """State after the input u (batch, H, L): (batch, H, N/2)."""
        u = self._check_u(u)
        if state is not None:
            self._check_state(state, u.shape[0])
        dt, A, P, B = self.dt(rate), self.A(), self.P_c(), self.B_c()
        return _dplr_next_state(dt, A, P, B, u, state, self.backend)

    def forward_state(self, u: torch.Tensor, state: torch.Tensor, rate: float = 1.0):
        """(state output (batch, channels, H, L), next state) sharing one dense computation."""
        u = self._check_u(u)
        self._check_state(state, u.shape[0])
        dt, A, P, B, C = self.dt(rate), self.A(), self.P_c(), self.B_c(), self.C_c()
        return _dplr_forward_state(dt, A, P, B, C, u, state, self.backend)

    def setup_step(self, mode: str | None = "dense", rate: float = 1.0) -> None:
        """Cache the step terms of the chosen step form (``mode``: "dense" | "linear").
        Parameters are not modified (conv mode keeps working); :meth:`step` re-derives the
        cache when they change."""
        form = check_choice("mode", mode or "dense", STEP_MODES)
        dt, A, P, B, C = self.dt(rate), self.A(), self.P_c(), self.B_c(), self.C_c()
        # real terms only, the output folded onto the old state (see functional.step)
        if form == "dense":
            E, dB = dplr_bilinear_dense(dt, A, P, B)
            terms, step = dplr_dense_step_terms(E, dB, C), dplr_dense_step
        else:
            terms, step = dplr_linear_fused_terms(dt, A, P, B, C), dplr_linear_fused_step
        cache = {"form": form, "terms": terms, "step": step}
        self._store_step_cache(cache, mode=form, rate=rate)

    def step(self, u: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One bilinear step. u (batch, H), state (batch, H, N/2) complex ->
        (y (batch, channels, H), next state)."""
        self._check_step_input(u, state)
        c = self._current_step_cache()
        y, x = c["step"](c["terms"], state, u.to(c["terms"]["G"].dtype))
        return y.to(u.dtype), x


__all__ = ["STEP_MODES", "SSMKernelDPLR"]
