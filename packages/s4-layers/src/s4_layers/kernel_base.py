"""Shared parameterisation of the SSM kernels (diagonal and DPLR).

Parameters per layer of ``H = d_model`` independent SSMs of state size ``N = d_state``
(stored as N/2 complex pairs):

==========  ===================  =============================================================
name        shape                meaning
==========  ===================  =============================================================
log_dt      (H,)                 dt = exp(log_dt) * rate, initialised log-uniform [dt_min, dt_max]
A_real      (H, N/2)             Re(A) = -real_transform(A_real)
A_imag      (H, N/2)             Im(A) = imag_transform(A_imag)
B           (H, N/2, 2)          complex B (view_as_real)
P           (rank, H, N/2, 2)    DPLR low-rank factor (DPLR kernel only)
C           (channels, H, N/2, 2) complex C, the true output matrix (never C-tilde)
==========  ===================  =============================================================

``lr`` (float, None, or a dict with keys "dt", "A", "B"; P follows A): SSM parameters get weight
decay 0 and this learning rate; 0 freezes (registered as a buffer). C is an ordinary parameter.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import hippo_core
from s4_layers._checks import (
    S4InputError,
    check_choice,
    check_dt_range,
    check_even,
    check_int,
    check_rate,
    check_signal,
    check_state,
    complex_dtype_of,
    real_dtype_of,
)
from s4_layers._step_cache import parameter_key
from s4_layers.optim import register

REAL_TRANSFORMS = ("exp", "relu", "sigmoid", "softplus", "none")
IMAG_TRANSFORMS = ("none", "exp", "relu", "softplus")
_MIN_DECAY = 1e-4  # |Re(A)| floor: purely imaginary inits (fout, legt) are clamped to -1e-4


def _forward_transform(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == "exp":
        return torch.exp(x)
    if name == "relu":
        return F.relu(x)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "softplus":
        return F.softplus(x)
    return x


def _inverse_transform(name: str, y: torch.Tensor) -> torch.Tensor:
    if name == "exp":
        return torch.log(y)
    if name == "sigmoid":
        return torch.logit(y.clamp(max=1 - 1e-4))
    if name == "softplus":
        return y + torch.log(-torch.expm1(-y))
    return y


def parse_lr(lr: float | dict | None) -> dict[str, float | None]:
    if isinstance(lr, dict):
        unknown = set(lr) - {"dt", "A", "B"}
        if unknown:
            raise S4InputError(f"lr: expected keys among ['A', 'B', 'dt'], got {sorted(unknown)}")
        return {k: lr.get(k) for k in ("dt", "A", "B")}
    if lr is not None and not isinstance(lr, (int, float)):
        raise S4InputError(f"lr: expected a float, None or a dict, got {lr!r}")
    return {"dt": lr, "A": lr, "B": lr}


class SSMKernelBase(nn.Module):
    """Common constructor and accessors; subclasses implement the kernel and step math.

    ``family`` names the kernel family ("diag" | "dplr"; ``S4Block(mode=...)`` in the original's
    spelling, also readable as ``kernel.mode``); the step algorithm chosen by
    ``setup_step(mode=...)`` is a different thing, the "step form" (see the subclasses).

    The step cache (``setup_step``) remembers a key of every parameter and buffer (storage,
    in-place version counter, dtype, device) and the rate: :meth:`step` re-derives the cache
    when the key changed (optimiser step, ``.double()``, ``.to()``, ``load_state_dict``), so a
    step never uses stale matrices; a step before any ``setup_step`` sets up the default form.
    """

    family: str = ""

    def __init__(
        self,
        d_model: int,
        d_state: int = 64,
        channels: int = 1,
        init: str = "legs",
        rank: int = 1,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        lr: float | dict | None = None,
        wd: float = 0.0,
        real_transform: str = "exp",
        imag_transform: str = "none",
        l_max: int | None = None,
        auto_extend: bool = True,
        backend: str | None = None,
        init_kw: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_int("d_model", d_model)
        check_even("d_state", d_state)
        check_int("channels", channels)
        check_int("rank", rank)
        check_choice("init", init, hippo_core.DPLR_INITS)
        check_choice("real_transform", real_transform, REAL_TRANSFORMS)
        check_choice("imag_transform", imag_transform, IMAG_TRANSFORMS)
        check_dt_range(dt_min, dt_max)
        if l_max is not None:
            check_int("l_max", l_max)
        self.H, self.N, self.channels, self.rank = d_model, d_state, channels, rank
        self.init, self.l_max, self.auto_extend, self.backend = init, l_max, auto_extend, backend
        self.real_transform, self.imag_transform = real_transform, imag_transform
        lrs = parse_lr(lr)

        init_rank = rank
        measure = init.removeprefix("diag-")
        if measure in hippo_core.MIN_RANK and (self.family == "diag" or init.startswith("diag-")):
            # P is unused here, but the NPLR form behind Lambda needs its minimal rank
            init_rank = max(rank, hippo_core.MIN_RANK[measure])
        system = hippo_core.dplr(init, d_state, rank=init_rank, H=d_model, **(init_kw or {}))
        Lambda = torch.as_tensor(system.Lambda, dtype=torch.complex64)
        log_dt = math.log(dt_min) + torch.rand(d_model) * (math.log(dt_max) - math.log(dt_min))
        register(self, "log_dt", log_dt, lrs["dt"], wd)
        neg_real = (-Lambda.real).clamp(min=_MIN_DECAY)
        register(self, "A_real", _inverse_transform(real_transform, neg_real), lrs["A"], wd)
        imag = Lambda.imag
        if imag_transform != "none":
            imag = imag.abs().clamp(min=1e-6)  # positive transforms need a positive imag part
        register(self, "A_imag", _inverse_transform(imag_transform, imag), lrs["A"], wd)
        B = torch.view_as_real(torch.as_tensor(system.B, dtype=torch.complex64)).clone()
        register(self, "B", B, lrs["B"], wd)
        if self.family == "dplr":
            P = torch.view_as_real(torch.as_tensor(system.P, dtype=torch.complex64)).clone()
            register(self, "P", P, lrs["A"], wd)
        C = torch.randn(channels, d_model, d_state // 2, 2) * math.sqrt(0.5)
        self.C = nn.Parameter(C)
        self._step_cache: dict[str, Any] | None = None

    @property
    def mode(self) -> str:
        """The kernel family under the original's name (``S4Block(mode="dplr" | "diag")``)."""
        return self.family

    # -- accessors (in the working precision: float32 for 16-bit parameters) -------------------
    def _work(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(real_dtype_of(t.dtype))

    def dt(self, rate: float = 1.0) -> torch.Tensor:
        """dt = exp(log_dt) * rate: (H,). ``rate`` must be a finite number > 0."""
        return torch.exp(self._work(self.log_dt)) * check_rate(rate)

    def A(self) -> torch.Tensor:
        real = -_forward_transform(self.real_transform, self._work(self.A_real))
        if self.real_transform in ("relu", "sigmoid"):  # these can reach 0
            real = real.clamp(max=-_MIN_DECAY)
        imag = _forward_transform(self.imag_transform, self._work(self.A_imag))
        return torch.complex(real, imag)

    def B_c(self) -> torch.Tensor:
        return torch.view_as_complex(self._work(self.B))

    def C_c(self) -> torch.Tensor:
        return torch.view_as_complex(self._work(self.C))

    def P_c(self) -> torch.Tensor:
        return torch.view_as_complex(self._work(self.P))

    def fit_length(self, L: int) -> int:
        """Check the kernel length L against ``l_max`` and return it.

        ``l_max=None`` accepts any L. With ``auto_extend=True`` (default) an L above ``l_max``
        grows ``l_max`` by doubling until it covers L (the original's policy: a sequence of
        slowly growing lengths extends a few times, not at every call); this matters to
        disc="dss", whose normalisation length is ``l_max``. ``auto_extend=False`` refuses it.
        """
        L = check_int("L", L)
        if self.l_max is not None and L > self.l_max:
            if not self.auto_extend:
                raise S4InputError(
                    f"L: expected a length <= l_max={self.l_max} (auto_extend=False), got L={L}"
                )
            while self.l_max < L:
                self.l_max *= 2
        return L

    def default_state(self, *batch: int, device=None) -> torch.Tensor:
        """Zero state (*batch, H, N/2) complex (complex128 for a float64 layer, else complex64)."""
        device = self.C.device if device is None else device
        return torch.zeros(*batch, self.H, self.N // 2, dtype=self._state_dtype(), device=device)

    # -- boundary checks (once per public call) ------------------------------------------------
    def _state_dtype(self) -> torch.dtype:
        return complex_dtype_of(self.C.dtype)

    def _check_u(self, u: torch.Tensor, name: str = "u") -> torch.Tensor:
        """u (batch, H, L) -> u in the working precision."""
        expected = f"shape (batch, H, L) with H={self.H}"
        check_signal(name, u, self.H, 1, 3, expected, self.C.dtype)
        return u.to(real_dtype_of(self.C.dtype))

    def _check_state(self, state: torch.Tensor, batch: int | None = None) -> None:
        if batch is None:
            batch = state.shape[0] if isinstance(state, torch.Tensor) and state.dim() else -1
        check_state("state", state, (batch, self.H, self.N // 2), self._state_dtype())

    def _check_step_input(self, u: torch.Tensor, state: torch.Tensor) -> None:
        expected = f"one step of shape (batch, H={self.H})"
        check_signal("u", u, self.H, 1, 2, expected, self.C.dtype)
        self._check_state(state, u.shape[0])

    # -- step cache ----------------------------------------------------------------------------
    def _store_step_cache(self, cache: dict[str, Any], **settings: Any) -> None:
        """Keep ``cache`` with the settings that made it (rate, form, ...) and the key."""
        cache["settings"], cache["key"] = settings, parameter_key(self)
        self._step_cache = cache

    def _current_step_cache(self) -> dict[str, Any]:
        """The step cache, re-derived (same settings) when parameters changed since."""
        c = self._step_cache
        if c is None:
            self.setup_step()
        elif c["key"] != parameter_key(self):
            self.setup_step(**c["settings"])
        return self._step_cache  # type: ignore[return-value]

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:  # pragma: no cover
        raise NotImplementedError
