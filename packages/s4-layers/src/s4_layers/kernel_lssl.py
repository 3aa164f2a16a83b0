r"""LSSL kernel (Gu et al. 2021, "Combining Recurrent, Convolutional, and Continuous-time Models
with Linear State-Space Layers"): a dense HiPPO transition, discretised per feature.

Continuous system (shared by the H features): ``x' = A x + B u``, A (N, N) and B (N,) real from
``hippo_core.transition(measure, N)``. Feature h has its own step dt_h, on a log-spaced grid
``dt_h = exp(linspace(log dt_min, log dt_max, H))_h``. The generalised bilinear transform (GBT)
with parameter alpha discretises it:

    Abar_h = (I - alpha dt_h A)^{-1} (I + (1 - alpha) dt_h A)
    Bbar_h = dt_h (I - alpha dt_h A)^{-1} B

(alpha = 0 forward Euler, 1/2 bilinear, 1 backward Euler); then ``x_k = Abar x_{k-1} + Bbar u_k``,
``y_k = C x_k`` with C (channels, H, N). The state is real, (batch, H, N).

The convolution kernel ``K[c, h, l] = C[c, h] Abar_h^l Bbar_h`` comes from the Krylov matrix
``[Bbar, Abar Bbar, Abar^2 Bbar, ...]`` built by doubling: X <- [X, Abar^m X], Abar^m squared
each round, so log2(L) matrix products.

``learn``: 0 = LSSL-fixed (A, B, dt are buffers, never trained), 1 = dt trained,
2 = dt, A and B trained (the adaptive transition). Trained ones take ``lr`` (see
:func:`s4_layers.register`). :func:`lssl_recurrence` is the plain float64 reference.
"""

from __future__ import annotations

import math

import torch
from torch import nn

import hippo_core
from s4_layers._checks import S4InputError, check_choice, check_length, describe
from s4_layers.optim import register

LSSL_DISCS = {"forward": 0.0, "bilinear": 0.5, "backward": 1.0}
LEARN_MODES = (0, 1, 2)


def gbt_discretize(
    A: torch.Tensor, B: torch.Tensor, dt: torch.Tensor, alpha: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""GBT of ``(A (N, N), B (N,))`` for each of ``dt (H,)``: ``(Abar (H, N, N), Bbar (H, N))``.

    ``Abar = (I - alpha dt A)^{-1} (I + (1 - alpha) dt A)``, ``Bbar = dt (I - alpha dt A)^{-1} B``.
    """
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    dtA = dt[:, None, None] * A  # (H, N, N)
    lhs = eye - alpha * dtA
    rhs = torch.cat([eye + (1 - alpha) * dtA, (dt[:, None] * B)[..., None]], dim=-1)
    solved = torch.linalg.solve(lhs, rhs)  # one factorisation for both
    return solved[..., :-1], solved[..., -1]


def krylov(dA: torch.Tensor, x: torch.Tensor, L: int) -> torch.Tensor:
    r"""``[x, dA x, dA^2 x, ..., dA^{L-1} x]`` by doubling: (..., N, N), (..., N) -> (..., N, L).

    Round r holds the first 2^r columns X; then X <- [X, dA^{2^r} X] and dA^{2^r} is squared.
    """
    X = x.unsqueeze(-1)
    power = dA
    while X.shape[-1] < L:
        X = torch.cat([X, power @ X], dim=-1)
        if X.shape[-1] < L:
            power = power @ power
    return X[..., :L]


def lssl_kernel(dA: torch.Tensor, dB: torch.Tensor, C: torch.Tensor, L: int) -> torch.Tensor:
    r"""``K[c, h, l] = C[c, h] dA_h^l dB_h``: dA (H, N, N), dB (H, N), C (channels, H, N) ->
    K (channels, H, L)."""
    return torch.einsum("chn,hnl->chl", C, krylov(dA, dB, L))


def lssl_recurrence(dA, dB, C, u, state=None):
    r"""Plain float64 reference: unrolled ``x_k = dA x_{k-1} + dB u_k``, ``y_k = C x_k``.

    dA (H, N, N), dB (H, N), C (channels, H, N), u (batch, H, L), state (batch, H, N) or None.
    Returns ``(y (batch, channels, H, L), x_L (batch, H, N))`` in float64.
    """
    dA, dB, C, u = (t.detach().double() for t in (dA, dB, C, u))
    batch, H, L = u.shape
    x = torch.zeros(batch, H, dA.shape[-1], dtype=torch.float64)
    if state is not None:
        x = state.detach().double().clone()
    ys = []
    for k in range(L):
        x = torch.einsum("hij,bhj->bhi", dA, x) + dB * u[:, :, k, None]
        ys.append(torch.einsum("chn,bhn->bch", C, x))
    return torch.stack(ys, -1), x


class SSMKernelLSSL(nn.Module):
    """LSSL kernel with the interface of :class:`~s4_layers.SSMKernelDiag` (``mode="lssl"``).

    Args:
        d_model: H.  d_state: N.  channels: output copies (C has a channels axis).
        init (alias ``measure``): any ``hippo_core.MEASURES`` name (legs, legt, lagt, fout, ...).
        alpha: GBT parameter in [0, 1]; ``disc`` ("forward" | "bilinear" | "backward") names
            0, 1/2, 1 and is used when alpha is None (default bilinear).
        dt_min, dt_max: the log-spaced dt grid over H.  learn: 0 | 1 | 2 (module doc).
        lr: learning rate of the trained SSM tensors (None = the optimiser's).
        l_max: kernel length bound (extended by doubling when ``auto_extend``).
        init_kw: measure parameters (theta, beta, alpha of glagt).
    The S4 options real_transform/imag_transform/backend/rank/wd have no meaning here; they are
    accepted only at their S4 defaults, so a setting that would be ignored is refused instead.
    """

    mode = "lssl"

    def __init__(
        self,
        d_model: int,
        d_state: int = 64,
        channels: int = 1,
        init: str = "legs",
        alpha: float | None = None,
        disc: str | None = None,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        learn: int = 0,
        lr: float | None = None,
        l_max: int | None = None,
        auto_extend: bool = True,
        init_kw: dict | None = None,
        measure: str | None = None,
        real_transform: str = "exp",
        imag_transform: str = "none",
        backend: str | None = None,
        rank: int = 1,
        wd: float = 0.0,
    ) -> None:
        super().__init__()
        for name, value in (("d_model", d_model), ("d_state", d_state), ("channels", channels)):
            check_length(value, name)
        measure = measure if measure is not None else init
        check_choice("init", measure, hippo_core.MEASURES)
        if alpha is None:
            alpha = LSSL_DISCS[check_choice("disc", disc or "bilinear", LSSL_DISCS)]
        elif disc is not None:
            raise S4InputError(f"alpha, disc: expected one of them, got alpha={alpha}, {disc=}")
        if not 0.0 <= float(alpha) <= 1.0:
            raise S4InputError(f"alpha: expected a GBT parameter in [0, 1], got {alpha}")
        if not 0 < dt_min <= dt_max:
            raise S4InputError(
                f"dt_min, dt_max: expected 0 < dt_min <= dt_max, got {dt_min}, {dt_max}"
            )
        if learn not in LEARN_MODES:
            raise S4InputError(f"learn: expected one of {list(LEARN_MODES)}, got {learn!r}")
        unused = {
            "real_transform": (real_transform, "exp"),
            "imag_transform": (imag_transform, "none"),
            "backend": (backend, None),
            "rank": (rank, 1),
            "wd": (wd, 0.0),
        }
        for name, (value, default) in unused.items():
            if value != default:
                raise S4InputError(
                    f"{name}: expected {default!r} (an S4 option without meaning for mode='lssl'), "
                    f"got {value!r}"
                )
        if l_max is not None:
            check_length(l_max, "l_max")
        self.H, self.N, self.channels = d_model, d_state, channels
        self.measure, self.alpha, self.learn = measure, float(alpha), learn
        self.l_max, self.auto_extend = l_max, auto_extend
        A, B = hippo_core.transition(measure, d_state, **(init_kw or {}))
        # The paper's grid of timescales: dt log-spaced over the H features.
        log_dt = torch.linspace(math.log(dt_min), math.log(dt_max), d_model)
        register(self, "log_dt", log_dt, lr if learn >= 1 else 0.0)
        register(self, "A", torch.as_tensor(A, dtype=torch.float32), lr if learn == 2 else 0.0)
        register(self, "B", torch.as_tensor(B, dtype=torch.float32), lr if learn == 2 else 0.0)
        self.C = nn.Parameter(torch.randn(channels, d_model, d_state) / math.sqrt(d_state))
        self._step_cache: dict | None = None

    def extra_repr(self) -> str:
        return (
            f"H={self.H}, N={self.N}, channels={self.channels}, measure={self.measure!r}, "
            f"alpha={self.alpha}, learn={self.learn}"
        )

    # -- the discrete system ---------------------------------------------------------------
    def dt(self, rate: float = 1.0) -> torch.Tensor:
        return torch.exp(self.log_dt) * rate

    def discrete(self, rate: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(dA (H, N, N), dB (H, N)) at step dt * rate, in C's dtype."""
        dtype = self.C.dtype
        return gbt_discretize(
            self.A.to(dtype), self.B.to(dtype), self.dt(rate).to(dtype), self.alpha
        )

    def check_length(self, L: int) -> int:
        L = check_length(L)
        if self.l_max is not None and L > self.l_max:
            if not self.auto_extend:
                raise S4InputError(
                    f"L: expected a length <= l_max={self.l_max} (auto_extend=False), got L={L}"
                )
            while self.l_max < L:
                self.l_max *= 2
        return L

    def forward(self, L: int, rate: float = 1.0) -> torch.Tensor:
        """K (channels, H, L), K[c, h, l] = C[c, h] dA_h^l dB_h."""
        L = self.check_length(L)
        dA, dB = self.discrete(rate)
        return lssl_kernel(dA, dB, self.C, L)

    # -- state passing -----------------------------------------------------------------------
    def default_state(self, *batch: int, device=None) -> torch.Tensor:
        """Zero state (*batch, H, N), real."""
        device = self.C.device if device is None else device
        return torch.zeros(*batch, self.H, self.N, dtype=self.C.dtype, device=device)

    def _check_state(self, state: torch.Tensor, batch: int) -> None:
        expected = (batch, self.H, self.N)
        if not isinstance(state, torch.Tensor) or tuple(state.shape) != expected:
            got = describe(state) if isinstance(state, torch.Tensor) else type(state).__name__
            raise S4InputError(f"state: expected real (batch, H, N) = {expected}, got {got}")
        if state.is_complex():
            raise S4InputError(f"state: expected a real tensor, got {describe(state)}")

    def _check_u(self, u: torch.Tensor) -> None:
        if not isinstance(u, torch.Tensor) or u.dim() != 3 or u.shape[1] != self.H:
            got = describe(u) if isinstance(u, torch.Tensor) else type(u).__name__
            raise S4InputError(f"u: expected shape (batch, H, L) with H={self.H}, got {got}")

    def state_output(self, state: torch.Tensor, L: int, rate: float = 1.0) -> torch.Tensor:
        """Contribution of an initial state: ``C dA^{k+1} x0`` -> (batch, channels, H, L)."""
        self._check_state(state, state.shape[0] if isinstance(state, torch.Tensor) else -1)
        dA, _ = self.discrete(rate)
        first = torch.einsum("hij,bhj->bhi", dA, state)
        return torch.einsum("chn,bhnl->bchl", self.C, krylov(dA, first, L))

    def next_state(
        self, u: torch.Tensor, state: torch.Tensor | None, rate: float = 1.0
    ) -> torch.Tensor:
        """``dA^L x0 + sum_l dA^{L-1-l} dB u_l``: u (batch, H, L) -> (batch, H, N)."""
        self._check_u(u)
        L = u.shape[-1]
        dA, dB = self.discrete(rate)
        # The Krylov columns dA^j dB, taken newest-first against u.
        x = torch.einsum("hnl,bhl->bhn", krylov(dA, dB, L).flip(-1), u.to(dA.dtype))
        if state is not None:
            self._check_state(state, u.shape[0])
            x = x + torch.einsum("hij,bhj->bhi", torch.linalg.matrix_power(dA, L), state)
        return x

    def forward_state(self, u: torch.Tensor, state: torch.Tensor, rate: float = 1.0):
        """(state output (batch, channels, H, L), next state (batch, H, N))."""
        return self.state_output(state, u.shape[-1], rate), self.next_state(u, state, rate)

    # -- recurrent mode ---------------------------------------------------------------------
    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        """Cache dA, dB for :meth:`step`; ``mode`` is ignored (one dense O(N^2) step form).
        Call again after the parameters change."""
        dA, dB = self.discrete(rate)
        self._step_cache = {"rate": rate, "dA": dA, "dB": dB}

    def step(self, u: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x' = dA x + dB u, y = C x'. u (batch, H), state (batch, H, N) ->
        (y (batch, channels, H), x')."""
        if not isinstance(u, torch.Tensor) or u.dim() != 2 or u.shape[1] != self.H:
            got = describe(u) if isinstance(u, torch.Tensor) else type(u).__name__
            raise S4InputError(f"u: expected one step of shape (batch, H={self.H}), got {got}")
        self._check_state(state, u.shape[0])
        if self._step_cache is None:
            self.setup_step()
        c = self._step_cache
        x = torch.einsum("hij,bhj->bhi", c["dA"], state) + c["dB"] * u.unsqueeze(-1)
        return torch.einsum("chn,bhn->bch", self.C, x), x
