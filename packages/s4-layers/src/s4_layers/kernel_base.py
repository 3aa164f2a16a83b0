"""Shared parameterisation of the SSM kernels (diagonal and DPLR).

Parameters per layer of ``H = d_model`` independent SSMs of state size ``N = d_state``
(stored as N/2 complex pairs):

==========  ===================  =============================================================
name        shape                meaning
==========  ===================  =============================================================
log_dt      (H,)                 dt = exp(log_dt) * rate, initialised log-uniform [dt_min, dt_max]
                                 (named ``inv_dt``, dt = dt_transform(inv_dt), when
                                 dt_transform != "exp"; (H, N/2) when dt_tie=False)
A_real      (S, N/2)             Re(A) = -real_transform(A_real)
A_imag      (S, N/2)             Im(A) = imag_transform(A_imag)  (absent when is_real)
B           (S, N/2, 2)          complex B (view_as_real; (S, N/2) real when is_real)
P           (rank, S, N/2, 2)    DPLR low-rank factor (DPLR kernel only)
C           (channels, H, N/2, 2) complex C, the true output matrix (never C-tilde)
==========  ===================  =============================================================

S = ``n_ssm`` (default H): A, B, P are shared by the H / S channels h, h + S, h + 2S, ... (the
original's tiling ``(v t) n``); dt is always per channel.

``lr`` (float, None, or a dict with keys "dt", "A", "B", "C"; P follows A): a float reaches every
SSM parameter including C, as in the original; 0 freezes (registered as a buffer).
``wd`` (float or a dict with keys "dt", "A", "B"): weight decay of dt, A (and P), B; a key missing
from the dict leaves that parameter at the optimiser's weight decay. C never gets an SSM weight
decay (as in the original); it carries only its ``lr`` when one is given.

Transforms keep the original's meaning: relu is ``relu(x) + 1e-4`` (never exactly 0), sigmoid,
softplus, exp, none (identity). Where we differ from the original: the stored C is the true
output matrix, not C-tilde (see ``s4_layers.compat`` for checkpoints), and the conjugate half kept
is Im(A) >= 0 (the original keeps Im(A) <= 0: same real system).
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
from s4_layers._step_cache import parameter_key, step_input_ok
from s4_layers.optim import register

REAL_TRANSFORMS = ("exp", "relu", "sigmoid", "softplus", "none")
IMAG_TRANSFORMS = ("none", "exp", "relu", "sigmoid", "softplus")
DT_TRANSFORMS = ("exp", "relu", "sigmoid", "softplus", "none")
_MIN_DECAY = 1e-4  # |Re(A)| floor: purely imaginary inits (fout, legt) are clamped to -1e-4
_RELU_FLOOR = 1e-4  # the original's relu transform adds this so a parameter never reaches 0


def _forward_transform(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == "exp":
        return torch.exp(x)
    if name == "relu":
        return F.relu(x) + _RELU_FLOOR
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "softplus":
        return F.softplus(x)
    return x


def _inverse_transform(name: str, y: torch.Tensor) -> torch.Tensor:
    if name == "exp":
        return torch.log(y)
    if name == "relu":
        return (y - _RELU_FLOOR).clamp(min=0.0)
    if name == "sigmoid":
        return torch.logit(y.clamp(max=1 - 1e-4))
    if name == "softplus":
        return y + torch.log(-torch.expm1(-y))
    return y


def parse_lr(lr: float | dict | None) -> dict[str, float | None]:
    """Per-parameter learning rates {"dt", "A", "B", "C"}: a float reaches all four."""
    if isinstance(lr, dict):
        unknown = set(lr) - {"dt", "A", "B", "C"}
        if unknown:
            raise S4InputError(
                f"lr: expected keys among ['A', 'B', 'C', 'dt'], got {sorted(unknown)}"
            )
        return {k: lr.get(k) for k in ("dt", "A", "B", "C")}
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float))):
        raise S4InputError(f"lr: expected a float, None or a dict, got {lr!r}")
    return {"dt": lr, "A": lr, "B": lr, "C": lr}


def parse_wd(wd: float | dict | None) -> dict[str, float | None]:
    """Per-parameter weight decays {"dt", "A", "B"} (None: the optimiser's own)."""
    if isinstance(wd, dict):
        unknown = set(wd) - {"dt", "A", "B"}
        if unknown:
            raise S4InputError(f"wd: expected keys among ['A', 'B', 'dt'], got {sorted(unknown)}")
        return {k: wd.get(k) for k in ("dt", "A", "B")}
    if wd is not None and (isinstance(wd, bool) or not isinstance(wd, (int, float))):
        raise S4InputError(f"wd: expected a float, None or a dict, got {wd!r}")
    return {"dt": wd, "A": wd, "B": wd}


def _register(
    module: nn.Module, name: str, tensor: torch.Tensor, lr: float | None, wd: float | None
) -> None:
    """optim.register, except that wd=None leaves the optimiser's weight decay in charge."""
    register(module, name, tensor, lr, 0.0 if wd is None else wd)
    param = module._parameters.get(name)
    if wd is None and param is not None:
        param._optim.pop("weight_decay")  # type: ignore[attr-defined]


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
        wd: float | dict | None = 0.0,
        real_transform: str = "exp",
        imag_transform: str = "none",
        l_max: int | None = None,
        auto_extend: bool = True,
        backend: str | None = None,
        init_kw: dict[str, Any] | None = None,
        n_ssm: int | None = None,
        deterministic: bool = False,
        dt_tie: bool = True,
        dt_transform: str = "exp",
        dt_fast: bool = False,
        is_real: bool = False,
        bandlimit: float | None = None,
        **init_args: Any,
    ) -> None:
        """Options shared with the original SSMKernel keep its meaning and defaults:

        n_ssm: number of independent (A, B, P) copies, shared across the H / n_ssm channel
            groups (None: H); dt stays per channel.  deterministic: dt log-spaced over
            [dt_min, dt_max] and C reading out the first HiPPO coefficient (needs dt_tie and
            dt_transform="exp").  dt_tie: one dt per channel (False: one per state, diag only).
        dt_transform: dt = dt_transform(inv_dt).  dt_fast: dt = dt_transform(sinh(inv_dt)).
        is_real: real-valued diagonal SSM with d_state real states (an EMA bank; diag only).
        bandlimit: zero C where dt |Im A| / (2 pi) >= bandlimit / 2 (the S4ND frequency mask).
        **init_args: passed to ``hippo_core.dplr`` (e.g. P_scale, imag_scale), like init_kw.
        """
        super().__init__()
        check_int("d_model", d_model)
        if is_real:  # d_state real states (stored as d_state complex pairs)
            check_int("d_state", d_state)
        else:
            check_even("d_state", d_state)
        check_int("channels", channels)
        check_int("rank", rank)
        check_choice("init", init, hippo_core.INITS)
        check_choice("real_transform", real_transform, REAL_TRANSFORMS)
        check_choice("imag_transform", imag_transform, IMAG_TRANSFORMS)
        check_choice("dt_transform", dt_transform, DT_TRANSFORMS)
        check_dt_range(dt_min, dt_max)
        if l_max is not None:
            check_int("l_max", l_max)
        n_ssm = d_model if n_ssm is None else check_int("n_ssm", n_ssm)
        if d_model % n_ssm:
            raise S4InputError(f"n_ssm: expected a divisor of d_model={d_model}, got {n_ssm}")
        if self.family != "diag" and (is_real or not dt_tie):
            raise S4InputError(
                "is_real, dt_tie: expected is_real=False and dt_tie=True for the DPLR kernel "
                f"(a per-state dt or a real state breaks its low-rank form), got "
                f"is_real={is_real}, dt_tie={dt_tie}"
            )
        if deterministic and (not dt_tie or dt_transform != "exp"):
            raise S4InputError(
                "deterministic: expected dt_tie=True and dt_transform='exp', got "
                f"dt_tie={dt_tie}, dt_transform={dt_transform!r}"
            )
        if bandlimit is not None and (isinstance(bandlimit, bool) or bandlimit <= 0):
            raise S4InputError(f"bandlimit: expected None or a float > 0, got {bandlimit!r}")
        # the original: a real-valued SSM of d_state states is stored like a complex one of 2N
        N = 2 * d_state if is_real else d_state
        self.H, self.N, self.channels, self.rank = d_model, N, channels, rank
        self.init, self.l_max, self.auto_extend, self.backend = init, l_max, auto_extend, backend
        self.real_transform, self.imag_transform = real_transform, imag_transform
        self.n_ssm, self.deterministic, self.is_real, self.bandlimit = (
            n_ssm,
            deterministic,
            is_real,
            bandlimit,
        )
        self.dt_tie, self.dt_transform, self.dt_fast = dt_tie, dt_transform, dt_fast
        lrs, wds = parse_lr(lr), parse_wd(wd)

        init_rank = rank
        measure = init.removeprefix("diag-")
        if measure in hippo_core.MIN_RANK and (self.family == "diag" or init.startswith("diag-")):
            # P is unused here, but the NPLR form behind Lambda needs its minimal rank
            init_rank = max(rank, hippo_core.MIN_RANK[measure])
        init_kw = {**(init_kw or {}), **init_args}
        system = hippo_core.dplr(init, N, rank=init_rank, H=n_ssm, **init_kw)
        N2 = N // 2
        Lambda = torch.as_tensor(system.Lambda, dtype=torch.complex64).expand(n_ssm, N2)

        # log dt ~ U[log dt_min, log dt_max] (deterministic: evenly spaced over the channels)
        log_min, log_max = math.log(dt_min), math.log(dt_max)
        if deterministic:
            log_dt = torch.linspace(log_min, log_max, d_model)
        else:
            shape = (d_model,) if dt_tie else (d_model, N2)
            log_dt = log_min + torch.rand(*shape) * (log_max - log_min)
        raw_dt = log_dt if dt_transform == "exp" else _inverse_transform(dt_transform, log_dt.exp())
        if dt_fast:
            raw_dt = torch.asinh(raw_dt)
        self._dt_name = "log_dt" if dt_transform == "exp" and not dt_fast else "inv_dt"
        _register(self, self._dt_name, raw_dt, lrs["dt"], wds["dt"])

        neg_real = (-Lambda.real).clamp(min=_MIN_DECAY)
        A_real = _inverse_transform(real_transform, neg_real)
        _register(self, "A_real", A_real.clone(), lrs["A"], wds["A"])
        if not is_real:
            imag = Lambda.imag
            if imag_transform != "none":
                imag = imag.abs().clamp(min=1e-6)  # positive transforms need a positive imag part
            A_imag = _inverse_transform(imag_transform, imag)
            _register(self, "A_imag", A_imag.clone(), lrs["A"], wds["A"])
        B = torch.as_tensor(system.B, dtype=torch.complex64).expand(n_ssm, N2)
        B = B.real.clone() if is_real else torch.view_as_real(B).clone()
        _register(self, "B", B, lrs["B"], wds["B"])
        if self.family == "dplr":
            P = torch.as_tensor(system.P, dtype=torch.complex64).expand(-1, n_ssm, N2)
            _register(self, "P", torch.view_as_real(P).clone(), lrs["A"], wds["A"])

        if deterministic:
            # y = first HiPPO coefficient: x_hippo = V x (V (N, N/2), identity for diag inits),
            # so C = V[0, :] in the 2 Re(C x) convention
            V = system.V
            row = torch.zeros(N2, dtype=torch.complex64)
            if V is None:
                row[0] = 1.0
            else:
                row = torch.as_tensor(V, dtype=torch.complex64)[0]
            C = torch.view_as_real(row.expand(channels, d_model, N2)).clone()
        else:
            C = torch.randn(channels, d_model, N2, 2) * math.sqrt(0.5)
        if is_real:
            C = C[..., 0].contiguous()
        if lrs["C"] is None:
            self.C = nn.Parameter(C)
        else:  # as in the original: C takes the lr, never an SSM weight decay
            _register(self, "C", C, lrs["C"], None)
        self._step_cache: dict[str, Any] | None = None

    @property
    def mode(self) -> str:
        """The kernel family under the original's name (``S4Block(mode="dplr" | "diag")``)."""
        return self.family

    # -- accessors (in the working precision: float32 for 16-bit parameters) -------------------
    def _work(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(real_dtype_of(t.dtype))

    def _per_channel(self, t: torch.Tensor) -> torch.Tensor:
        """(..., n_ssm, N/2) -> (..., H, N/2): channel h uses SSM copy h mod n_ssm."""
        reps = self.H // t.shape[-2]
        return t if reps == 1 else t.repeat(*([1] * (t.dim() - 2)), reps, 1)

    def _dt_values(self, rate: float = 1.0) -> torch.Tensor:
        """dt = dt_transform(inv_dt) * rate ((H,), or (H, N/2) when dt_tie=False)."""
        raw = self._work(getattr(self, self._dt_name))
        if self.dt_fast:
            raw = torch.sinh(raw)
        return _forward_transform(self.dt_transform, raw) * rate

    def _A_continuous(self) -> torch.Tensor:
        """A = -real_transform(A_real) + i imag_transform(A_imag), (H, N/2) complex."""
        real = -_forward_transform(self.real_transform, self._work(self.A_real))
        if self.is_real:
            imag = torch.zeros_like(real)
        else:
            imag = _forward_transform(self.imag_transform, self._work(self.A_imag))
        return self._per_channel(torch.complex(real, imag))

    def dt(self, rate: float = 1.0) -> torch.Tensor:
        """dt = dt_transform(inv_dt) * rate: (H,). ``rate`` must be a finite number > 0.
        With dt_tie=False the per-state dt is folded into :meth:`A` and :meth:`B_c` (dt A and
        dt B: exact for zoh, bilinear and dss) and this returns ``rate``."""
        rate = check_rate(rate)
        if self.dt_tie:
            return self._dt_values(rate)
        dtype = real_dtype_of(self.A_real.dtype)
        return torch.full((self.H,), rate, dtype=dtype, device=self.A_real.device)

    def A(self) -> torch.Tensor:
        """(H, N/2) complex (times the per-state dt when dt_tie=False)."""
        A = self._A_continuous()
        return A if self.dt_tie else A * self._dt_values()

    def B_c(self) -> torch.Tensor:
        """(H, N/2) complex (times the per-state dt when dt_tie=False)."""
        B = self._work(self.B)
        B = torch.complex(B, torch.zeros_like(B)) if self.is_real else torch.view_as_complex(B)
        B = self._per_channel(B)
        return B if self.dt_tie else B * self._dt_values()

    def C_c(self) -> torch.Tensor:
        """(channels, H, N/2) complex; with ``bandlimit`` the entries whose frequency
        dt |Im A| / (2 pi) (dt at rate 1) reaches bandlimit / 2 are zeroed."""
        C = self._work(self.C)
        C = torch.complex(C, torch.zeros_like(C)) if self.is_real else torch.view_as_complex(C)
        if self.bandlimit is not None:
            dt = self._dt_values()
            dt = dt.unsqueeze(-1) if self.dt_tie else dt
            freqs = dt * self._A_continuous().imag.abs() / (2 * math.pi)
            C = C * (freqs < self.bandlimit / 2).to(C.real.dtype)
        return C

    def P_c(self) -> torch.Tensor:
        """(rank, H, N/2) complex."""
        return self._per_channel(torch.view_as_complex(self._work(self.P)))

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
        if step_input_ok(u, state, self.H, self.N // 2, self.C.dtype):
            return  # the hot path: a step is a few small ops
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
