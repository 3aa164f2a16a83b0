r"""HiPPO online function approximation: what the matrices are for.

A HiPPO operator keeps, at every time ``t``, the coefficients ``c(t)`` of the orthogonal
projection of the history of a signal onto ``N`` basis functions under a measure. The
coefficients evolve by the linear ODE of :func:`~hippo_core.transition`, so they can be
updated online, one sample at a time, and the signal (its whole history for LegS, its recent
window for the translated measures) can be read back from ``c(t)`` at any step.

Reconstruction bases (``x`` is the position in the memory window, 0 = oldest, 1 = now;
``P_n`` the Legendre polynomials, ``L_n`` the Laguerre polynomials):

========= ===================================================================================
measure   signal read back from the coefficients c (N,)
========= ===================================================================================
legs      f(x t) = sum_n c_n sqrt(2n+1) P_n(2x - 1),             x in [0, 1] (all history)
legt      f(t - theta + x theta) = sum_n c_n sqrt(2n+1) P_n(2x - 1), x in [0, 1]
lmu       f(t - theta + x theta) = sum_n c_n P_n(1 - 2x),          x in [0, 1]
fout      f(t - theta + x theta) = c_0 + sum_m sqrt2 (c_{2m} cos(2 pi m x)
          - c_{2m+1} sin(2 pi m x)),                               x in [0, 1]
lagt      f(t - s) = sum_n (c_n / beta) L_n(s) e^{-s/2},           s >= 0 is the lag
========= ===================================================================================

Window lengths default to the measure's own (:func:`~hippo_core.transition`): legt and fout
``theta = 2`` (the original's scaling), lmu ``theta = 1``; lagt's ``beta`` only scales ``B``.

Discretisation: the time-invariant measures use :func:`~hippo_core.discretize` with step
``dt``. LegS is time-varying, ``c' = (A c + B f) / t``, and timescale-invariant, so ``dt``
does not matter: it is stepped in sample units with sub-steps where it is stiff. Samples sit
at ``t_k = (k + 1) dt``; the signal is taken as constant on ``[0, t_0]`` and linear between
samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from hippo_core._checks import check_choice, check_finite_array, check_int, check_real
from hippo_core.discretize import discretize
from hippo_core.measures import transition

APPROXIMATION_MEASURES: tuple[str, ...] = ("legs", "legt", "lmu", "fout", "fourier", "lagt")
"""Measures with a reconstruction basis in :func:`hippo_reconstruct`."""

_LEGS_METHODS = ("forward", "backward", "bilinear")


def _measure_kwargs(measure: str, theta: float | None, beta: float | None) -> dict[str, float]:
    """The measure's parameters that were given (``None`` keeps the measure's default)."""
    if measure in ("legt", "lmu", "fout", "fourier") and theta is not None:
        return {"theta": theta}
    if measure == "lagt" and beta is not None:
        return {"beta": beta}
    return {}


def _as_signal(signal: np.ndarray) -> np.ndarray:
    f = check_finite_array("signal", signal).astype(np.float64)
    if f.ndim != 1 or f.size < 1:
        raise ValueError(f"signal: expected a 1-D array of samples (L,), got shape {f.shape}")
    return f


def hippo_project(
    signal: np.ndarray,
    measure: str = "legt",
    N: int = 64,
    *,
    dt: float | None = None,
    method: str = "bilinear",
    theta: float | None = None,
    beta: float | None = None,
    substeps: float = 2.0,
) -> np.ndarray:
    """Online HiPPO projection: coefficients after every sample.

    Args:
        signal: ``(L,)`` samples ``f(t_k)`` at ``t_k = (k + 1) dt``.
        measure: one of :data:`APPROXIMATION_MEASURES`.
        N: number of coefficients.
        dt: sample spacing in time units; default ``1 / L`` (the signal spans unit time).
        method: discretisation (``forward``, ``backward``, ``bilinear``; ``zoh`` too for the
            time-invariant measures).
        theta: window length of legt / lmu / fout, in time units (default: the measure's).
        beta: input scale of lagt (default 1).
        substeps: LegS only: early steps are split into ``ceil(substeps * N / k)`` parts.

    Returns:
        ``(L, N)`` float64: row ``k`` holds ``c(t_k)``.
    """
    check_choice("measure", measure, APPROXIMATION_MEASURES)
    f = _as_signal(signal)
    N = check_int("N", N)
    L = f.size
    dt = 1.0 / L if dt is None else check_real("dt", dt, positive=True)
    substeps = check_real("substeps", substeps, positive=True)
    A, B = transition(measure, N, **_measure_kwargs(measure, theta, beta))
    coefs = np.empty((L, N))
    # The signal is piecewise linear between samples and constant on [0, t_0]: each step
    # feeds the mean of its two end samples, which makes the input error O(dt^2).
    previous = np.concatenate([f[:1], f[:-1]])
    if measure == "legs":
        check_choice("method", method, _LEGS_METHODS)
        return _legs_project(A, B, f, previous, method, substeps)
    Ad, Bd = discretize(A, B, dt, method)
    c = np.zeros(N)
    for k in range(L):
        c = Ad @ c + Bd * (0.5 * (previous[k] + f[k]))
        coefs[k] = c
    return coefs


def _legs_project(
    A: np.ndarray, B: np.ndarray, f: np.ndarray, previous: np.ndarray, method: str, substeps: float
) -> np.ndarray:
    """LegS recurrence ``c' = (A c + B f) / t`` in sample units (t_k = k + 1).

    On [0, t_0] the signal is constant, and the projection of a constant is exactly
    ``f_0 e_0`` (``A e_0 + B = 0``), so the first step is exact. Early steps are stiff (the
    step is ``A / t`` with ``|A| ~ N``): step ``k`` is split into ``ceil(substeps * N / k)``
    sub-steps, which costs ``O(N log L)`` extra solves and removes the error that otherwise
    grows with ``N``.
    """
    L, N = f.size, A.shape[0]
    coefs = np.empty((L, N))
    c = np.zeros(N)
    c[0] = f[0]
    coefs[0] = c
    for k in range(1, L):
        m = max(1, int(np.ceil(substeps * N / k)))
        for j in range(m):
            frac = (j + 0.5) / m
            t_mid = k + frac  # in sample units, between t_{k-1} = k and t_k = k + 1
            # the sub-step of c' = (A c + B u) / t is a time-invariant step of size 1/(t m)
            Ad, Bd = discretize(A, B, 1.0 / (t_mid * m), method)
            c = Ad @ c + Bd * (previous[k] + (f[k] - previous[k]) * frac)
        coefs[k] = c
    return coefs


def hippo_basis(
    measure: str, N: int, x: np.ndarray, *, theta: float | None = None, beta: float | None = None
) -> np.ndarray:
    """Reconstruction basis ``(len(x), N)``: ``f(points) = basis @ c`` (module table).

    ``x`` is the relative window position in ``[0, 1]`` (legs, legt, lmu, fout) or the lag
    ``s >= 0`` in time units (lagt). ``theta`` does not enter (positions are relative);
    ``beta`` divides the lagt basis.
    """
    check_choice("measure", measure, APPROXIMATION_MEASURES)
    N = check_int("N", N)
    x = check_finite_array("x", x).astype(np.float64).reshape(-1)
    n = np.arange(N)
    if measure == "lagt":
        beta = 1.0 if beta is None else check_real("beta", beta, positive=True)
        if np.any(x < 0):
            raise ValueError(f"x: expected lags s >= 0 for lagt, got min {x.min()}")
        return special.eval_laguerre(n[None, :], x[:, None]) * np.exp(-x[:, None] / 2) / beta
    if np.any((x < 0) | (x > 1)):
        raise ValueError(
            f"x: expected window positions in [0, 1] for {measure}, got [{x.min()}, {x.max()}]"
        )
    if measure in ("fout", "fourier"):
        check_int("N", N, minimum=2)
        basis = np.zeros((x.size, N))
        basis[:, 0] = 1.0
        for m in range(1, N // 2):
            basis[:, 2 * m] = np.sqrt(2.0) * np.cos(2 * np.pi * m * x)
            basis[:, 2 * m + 1] = -np.sqrt(2.0) * np.sin(2 * np.pi * m * x)
        return basis
    if measure == "lmu":
        # lmu's B_n = (-1)^n (2n+1) puts "now" (x = 1) at P_n(-1) = (-1)^n
        return special.eval_legendre(n[None, :], 1 - 2 * x[:, None])
    return special.eval_legendre(n[None, :], 2 * x[:, None] - 1) * np.sqrt(2 * n + 1.0)


def hippo_reconstruct(
    coefs: np.ndarray,
    measure: str,
    x: np.ndarray | int = 256,
    *,
    theta: float | None = None,
    beta: float | None = None,
) -> np.ndarray:
    """Read the signal back from coefficients ``c`` (``(N,)`` or ``(..., N)``).

    ``x``: evaluation points (see :func:`hippo_basis`), or an int ``M`` for ``M`` evenly
    spaced points on ``[0, 1]`` (lags on ``[0, 10]`` for lagt). Returns ``(..., len(x))``.
    """
    c = np.asarray(coefs, dtype=np.float64)
    if c.ndim < 1:
        raise ValueError(f"coefs: expected shape (..., N), got {c.shape}")
    if isinstance(x, int | np.integer):
        x = np.linspace(0.0, 10.0 if measure == "lagt" else 1.0, check_int("x", x))
    basis = hippo_basis(measure, c.shape[-1], x, theta=theta, beta=beta)
    return c @ basis.T


@dataclass
class HiPPO:
    """A HiPPO memory: ``HiPPO("legt", N=64, dt=1e-3).project(f)`` then ``.reconstruct(c)``."""

    measure: str = "legt"
    N: int = 64
    dt: float | None = None
    method: str = "bilinear"
    theta: float | None = None
    beta: float | None = None

    def __post_init__(self) -> None:
        check_choice("measure", self.measure, APPROXIMATION_MEASURES)
        check_int("N", self.N)

    def project(self, signal: np.ndarray) -> np.ndarray:
        """``(L,)`` samples -> ``(L, N)`` coefficients (see :func:`hippo_project`)."""
        return hippo_project(
            signal,
            self.measure,
            self.N,
            dt=self.dt,
            method=self.method,
            theta=self.theta,
            beta=self.beta,
        )

    def reconstruct(self, coefs: np.ndarray, x: np.ndarray | int = 256) -> np.ndarray:
        """Coefficients ``(..., N)`` -> signal at ``x`` (see :func:`hippo_reconstruct`)."""
        return hippo_reconstruct(coefs, self.measure, x, theta=self.theta, beta=self.beta)
