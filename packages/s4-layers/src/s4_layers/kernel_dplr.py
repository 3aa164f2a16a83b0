"""S4 kernel: diagonal plus low-rank A, bilinear discretisation (see functional.dplr).

Step modes (``setup_step(mode=...)``), both exact for the full conjugate system:

- "dense": the discretised (N, N) real matrices dA, dB (interleaved real basis); O(N^2) a step.
- "linear": the O(N r) diagonal-plus-low-rank step,
  x' = (I - dt/2 A)^{-1} [(I + dt/2 A) x + dt B u] with the inverse applied by Woodbury:
  (I - dt/2 A)^{-1} = 2/dt [D - D P (I + Q)^{-1} P^* D],  D = (2/dt - Lambda)^{-1},
  Q = P^* D P = 2 Re(sum_n conj(P_r) D P_s)  (real r x r, because the conjugate halves pair up).
"""

from __future__ import annotations

import torch

from s4_layers._checks import S4InputError, check_choice
from s4_layers.functional.discretize import (
    complex_to_real,
    dplr_bilinear_dense,
    output_to_real,
    real_to_complex,
)
from s4_layers.functional.dplr import (
    DPLR_DISCS,
    dplr_forward_euler,
    dplr_forward_state,
    dplr_kernel,
    dplr_next_state,
    dplr_state_output,
)
from s4_layers.kernel_base import SSMKernelBase

STEP_MODES = ("dense", "linear")


class SSMKernelDPLR(SSMKernelBase):
    """DPLR SSM kernel (S4). ``forward(L, rate) -> K (channels, H, L)``.

    The true C is stored; C-tilde = C (I - Abar^L) is computed for every call's L (Abar^L by
    repeated squaring of the dense discretised matrix), so any L is exact. ``l_max`` only
    bounds L (``auto_extend=False`` turns a longer input into an error).
    """

    mode = "dplr"

    def __init__(self, d_model: int, d_state: int = 64, disc: str = "bilinear", **kw) -> None:
        check_choice("disc", disc, DPLR_DISCS)
        super().__init__(d_model, d_state, **kw)
        self.disc = disc

    def forward(self, L: int, rate: float = 1.0) -> torch.Tensor:
        L = self.check_length(L)
        return dplr_kernel(
            self.dt(rate), self.A(), self.P_c(), self.B_c(), self.C_c(), L, backend=self.backend
        )

    def state_output(self, state: torch.Tensor, L: int, rate: float = 1.0) -> torch.Tensor:
        """Output contribution of an initial state: (batch, channels, H, L)."""
        self._check_state(state, state.shape[0] if isinstance(state, torch.Tensor) else -1)
        return dplr_state_output(
            self.dt(rate), self.A(), self.P_c(), self.C_c(), state, L, backend=self.backend
        )

    def next_state(self, u: torch.Tensor, state: torch.Tensor | None, rate: float = 1.0):
        """State after the input u (batch, H, L): (batch, H, N/2)."""
        self._check_u(u)
        if state is not None:
            self._check_state(state, u.shape[0])
        return dplr_next_state(
            self.dt(rate), self.A(), self.P_c(), self.B_c(), u, state, backend=self.backend
        )

    def forward_state(self, u: torch.Tensor, state: torch.Tensor, rate: float = 1.0):
        """(state output (batch, channels, H, L), next state) sharing one dense computation."""
        self._check_u(u)
        self._check_state(state, u.shape[0])
        return dplr_forward_state(
            self.dt(rate),
            self.A(),
            self.P_c(),
            self.B_c(),
            self.C_c(),
            u,
            state,
            backend=self.backend,
        )

    def setup_step(self, mode: str | None = "dense", rate: float = 1.0) -> None:
        """Cache the step matrices (parameters are not modified; conv mode keeps working)."""
        mode = check_choice("mode", mode or "dense", STEP_MODES)
        dt, A, P, B, C = self.dt(rate), self.A(), self.P_c(), self.B_c(), self.C_c()
        cache = {"rate": rate, "mode": mode}
        if mode == "dense":
            dA, dB = dplr_bilinear_dense(dt, A, P, B)
            cache.update(dA=dA, dB=dB, C=output_to_real(C))
        else:
            D = 1 / (2 / dt.unsqueeze(-1) - A)  # (H, N2)
            Q = 2 * torch.einsum("rhn,hn,shn->hrs", P.conj(), D, P).real  # (H, r, r)
            eye = torch.eye(Q.shape[-1], dtype=Q.dtype, device=Q.device)
            cache.update(dt=dt, A=A, P=P, B=B, C=C, D=D, E=torch.linalg.inv(eye + Q))
        self._step_cache = cache

    def step(self, u: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One bilinear step. u (batch, H), state (batch, H, N/2) complex ->
        (y (batch, channels, H), next state)."""
        self._check_step_input(u, state)
        c = self._step_cache if self._step_cache is not None else self._cache(1.0)
        if c["mode"] == "dense":
            x = complex_to_real(state)
            # (H, N, N) x (H, N, B): one bmm over H (matmul broadcasting would copy dA B times)
            x = torch.bmm(c["dA"], x.permute(1, 2, 0)).permute(2, 0, 1) + c["dB"] * u.unsqueeze(-1)
            y = torch.einsum("chn,bhn->bch", c["C"], x)
            return y, real_to_complex(x)
        dt = c["dt"].unsqueeze(-1)
        v = dplr_forward_euler(c["dt"], c["A"], c["P"], state) + dt * c["B"] * u.unsqueeze(-1)
        Dv = c["D"] * v
        s = 2 * torch.einsum("rhn,bhn->bhr", c["P"].conj(), Dv).real  # P^* D v
        s = torch.einsum("hrs,bhs->bhr", c["E"], s)  # (I + Q)^{-1} P^* D v
        x = 2 / dt * (Dv - c["D"] * torch.einsum("rhn,bhr->bhn", c["P"], s.to(Dv.dtype)))
        y = 2 * torch.einsum("chn,bhn->bch", c["C"], x).real
        return y, x


def SSMKernel(mode: str = "dplr", d_model: int = 1, d_state: int = 64, **kw):
    """Factory: ``mode="diag"`` -> :class:`SSMKernelDiag`, ``"dplr"`` -> :class:`SSMKernelDPLR`."""
    from s4_layers.kernel_diag import SSMKernelDiag

    check_choice("mode", mode, ("diag", "dplr"))
    cls = SSMKernelDiag if mode == "diag" else SSMKernelDPLR
    if kw.get("disc") is None:
        kw.pop("disc", None)
    return cls(d_model, d_state, **kw)


__all__ = ["STEP_MODES", "S4InputError", "SSMKernel", "SSMKernelDPLR"]
