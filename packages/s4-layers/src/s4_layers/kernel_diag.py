"""S4D kernel: diagonal A, discretised by zoh, bilinear, dss or forward Euler
(formulas in :mod:`s4_layers.functional.discretize`)."""

from __future__ import annotations

import torch

from s4_layers._checks import S4InputError, check_choice
from s4_layers.functional.diag import (
    _diag_all_states,
    _diag_kernel,
    _diag_next_state,
    _diag_state_output,
)
from s4_layers.functional.discretize import DIAG_DISCS, discretize_diag
from s4_layers.functional.step import diag_step, diag_step_terms
from s4_layers.kernel_base import SSMKernelBase


class SSMKernelDiag(SSMKernelBase):
    """Diagonal SSM kernel (S4D). ``forward(L, rate) -> K (channels, H, L)``.

    Args (besides :class:`~s4_layers.kernel_base.SSMKernelBase`'s):
        disc: "zoh" (default) | "bilinear" | "dss" | "forward". For dss the normalisation
            length is ``l_max`` when set, else the L of each call (so dss kernels depend on L).
    Any init is accepted; the low-rank part of a DPLR init is dropped (legs -> S4D-LegS).
    """

    family = "diag"

    def __init__(self, d_model: int, d_state: int = 64, disc: str = "zoh", **kw) -> None:
        check_choice("disc", disc, DIAG_DISCS)
        kw.pop("rank", None)
        super().__init__(d_model, d_state, rank=1, **kw)
        self.disc = disc

    def _L_norm(self, L: int) -> int:
        return self.l_max if (self.disc == "dss" and self.l_max is not None) else L

    def forward(self, L: int, rate: float = 1.0) -> torch.Tensor:
        L = self.fit_length(L)
        dt, A, B, C = self.dt(rate), self.A(), self.B_c(), self.C_c()
        # dss: the normalisation length, then the first L terms
        return _diag_kernel(dt, A, B, C, self._L_norm(L), self.disc, self.backend)[..., :L]

    def state_output(self, state: torch.Tensor, L: int, rate: float = 1.0) -> torch.Tensor:
        """Output contribution of an initial state: (batch, channels, H, L)."""
        self._check_state(state)
        L = self.fit_length(L)
        return _diag_state_output(
            self.dt(rate), self.A(), self.C_c(), state, L, self.disc, self.backend
        )

    def next_state(self, u: torch.Tensor, state: torch.Tensor | None, rate: float = 1.0):
        """State after the input u (batch, H, L): (batch, H, N/2)."""
        u = self._check_u(u)
        if state is not None:
            self._check_state(state, u.shape[0])
        dt, A, B = self.dt(rate), self.A(), self.B_c()
        return _diag_next_state(
            dt, A, B, u, state, self.disc, self._L_norm(u.shape[-1]), self.backend
        )

    def forward_state(self, u: torch.Tensor, state: torch.Tensor, rate: float = 1.0):
        """(state output (batch, channels, H, L), next state (batch, H, N/2))."""
        return self.state_output(state, u.shape[-1], rate), self.next_state(u, state, rate)

    def all_states(
        self,
        u: torch.Tensor,
        state: torch.Tensor | None = None,
        rate: float = 1.0,
        max_chunk_bytes: int = 2**28,
    ) -> torch.Tensor:
        """Every state x_k (batch, H, N/2, L) (see functional.diag_all_states for memory)."""
        u = self._check_u(u)
        if state is not None:
            self._check_state(state, u.shape[0])
        dt, A, B = self.dt(rate), self.A(), self.B_c()
        L_norm = self._L_norm(u.shape[-1])
        return _diag_all_states(dt, A, B, u, state, self.disc, L_norm, max_chunk_bytes)

    def setup_step(self, mode: str | None = None, rate: float = 1.0, L: int | None = None) -> None:
        """Cache dA, dB and the real output row for :meth:`step` (parameters are not
        modified). ``mode`` is ignored: a diagonal system has a single O(N) step form. The
        cache is re-derived by :meth:`step` when parameters change. disc="dss" needs its
        normalisation length: ``L``, else ``l_max``."""
        L_norm = L if L is not None else self.l_max
        if self.disc == "dss" and L_norm is None:
            raise S4InputError(
                "setup_step: disc='dss' expected a normalisation length (pass L or set l_max), "
                "got neither"
            )
        dA, dB, _ = discretize_diag(self.dt(rate), self.A(), self.B_c(), self.disc, L_norm)
        # real terms only (a complex einsum with a batch axis is a per-batch loop on CPU)
        cache = {"terms": diag_step_terms(dA, dB, self.C_c()), "step": diag_step}
        self._store_step_cache(cache, mode=mode, rate=rate, L=L)

    def step(self, u: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x' = dA x + dB u, y = 2 Re(C x'). u (batch, H), state (batch, H, N/2) ->
        (y (batch, channels, H), x')."""
        self._check_step_input(u, state)
        terms = self._current_step_cache()["terms"]
        w = terms["C_real"].dtype  # the working precision
        # dtype tests before .to: a no-op .to still costs a dispatch (a step is a few ops)
        y, x = diag_step(terms, state, u if u.dtype == w else u.to(w))  # see functional.step
        return (y if u.dtype == w else y.to(u.dtype)), x
