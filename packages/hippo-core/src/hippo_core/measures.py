r"""Continuous-time HiPPO matrices ``(A, B)`` for each measure.

Every matrix uses the *stable* sign convention

.. math:: x'(t) = A x(t) + B u(t),

so the eigenvalues of ``A`` have non-positive real parts and the memory decays. (The HiPPO
paper writes :math:`x' = -Ax + Bu`; our ``A`` is the negative of the paper's.)

Index conventions: ``n`` is the row, ``k`` the column, both from 0 to ``N-1``;
``r_n = \sqrt{2n+1}``. LegS is the only time-varying measure: its true ODE is
:math:`x' = \tfrac1t (A x + B u)`; ``transition`` returns the ``(A, B)`` of that form.

========== ===================================================================================
measure    formula (stable convention)
========== ===================================================================================
legs       scaled Legendre, uniform measure on [0, t]:
           A_nk = -r_n r_k (n > k), -(n+1) (n = k), 0 (n < k);  B_n = r_n
legt       translated Legendre, uniform on the window [t - theta, t], orthonormal basis:
           A_nk = -(r_n r_k / theta) * (1 if n < k else (-1)^(n-k));  B_n = (-1)^n r_n / theta
lmu        the same memory in the unnormalised basis of the Legendre Memory Unit:
           A_nk = -((2n+1) / theta) * (1 if n < k else (-1)^(n-k));  B_n = (-1)^n (2n+1) / theta
lagt       translated Laguerre, measure beta e^{-beta s} over the lag s = t - x:
           A_nk = -beta (n >= k), 0 (n < k);  B_n = beta
glagt      generalised Laguerre L^(alpha), tilted by beta (HiPPO appendix, "generalized
           Laguerre"), orthonormal basis: with T = ((1+beta)/2) I + strictly-lower ones and
           D = diag(sqrt(Gamma(n+alpha+1) / n!)): A = -D^{-1} T D, B_n = binom(n+alpha, n) / D_n.
           glagt(alpha=0, beta=1) is lagt(beta=1).
fout       translated Fourier (FouT), window [t-1, t], basis 1, sqrt2 sin(2 pi j s),
           sqrt2 cos(2 pi j s) at indices 0, 2j-1, 2j: with b = (1, 0, sqrt2, 0, sqrt2, ...)
           (the basis at s = 0) and S the skew coupling S[2j, 2j-1] = 2 pi j = -S[2j-1, 2j]:
           A = S - 2 b b^T, B = 2 b
fourier    FouD, the diagonal approximation of FouT: the low-rank term replaced by a uniform
           decay, A = S - I/2, B = 2 b (eigenvalues -1/2 +- 2 pi i j, the spacing of S4D-Lin)
========== ===================================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from hippo_core._checks import check_choice, check_int, check_real, reject_unknown

Matrices = tuple[np.ndarray, np.ndarray]


def _legs(N: int) -> Matrices:
    r = np.sqrt(2 * np.arange(N) + 1.0)
    A = -np.tril(np.outer(r, r), -1) - np.diag(np.arange(N) + 1.0)
    return A, r.copy()


def _legendre_translated_pattern(N: int) -> np.ndarray:
    """M_nk = 1 (n < k), (-1)^(n-k) (n >= k): the sign pattern shared by legt and lmu."""
    n = np.arange(N)[:, None]
    k = np.arange(N)[None, :]
    return np.where(n < k, 1.0, (-1.0) ** (n - k))


def _legt(N: int, theta: float = 1.0) -> Matrices:
    theta = check_real("theta", theta, positive=True)
    r = np.sqrt(2 * np.arange(N) + 1.0)
    A = -np.outer(r, r) * _legendre_translated_pattern(N) / theta
    B = (-1.0) ** np.arange(N) * r / theta
    return A, B


def _lmu(N: int, theta: float = 1.0) -> Matrices:
    theta = check_real("theta", theta, positive=True)
    d = 2 * np.arange(N) + 1.0
    A = -d[:, None] * _legendre_translated_pattern(N) / theta
    B = (-1.0) ** np.arange(N) * d / theta
    return A, B


def _lagt(N: int, beta: float = 1.0) -> Matrices:
    beta = check_real("beta", beta, positive=True)
    return -beta * np.tril(np.ones((N, N))), beta * np.ones(N)


def _glagt(N: int, alpha: float = 0.0, beta: float = 0.01) -> Matrices:
    alpha = check_real("alpha", alpha)
    beta = check_real("beta", beta)
    if alpha <= -1:
        raise ValueError(f"glagt needs alpha > -1 (the measure s^alpha e^-s), got {alpha}")
    n = np.arange(N)
    T = (1.0 + beta) / 2.0 * np.eye(N) + np.tril(np.ones((N, N)), -1)
    # D_n^2 = Gamma(n + alpha + 1) / n! is the squared norm of L_n^(alpha) under s^alpha e^-s.
    D = np.exp(0.5 * (special.gammaln(n + alpha + 1.0) - special.gammaln(n + 1.0)))
    A = -(T * D[None, :]) / D[:, None]
    B = special.binom(n + alpha, n) / D
    return A, B


def fourier_basis_vector(N: int) -> np.ndarray:
    """b = (1, 0, sqrt2, 0, sqrt2, ...): every Fourier basis function evaluated at s = 0."""
    b = np.zeros(N)
    b[0] = 1.0
    b[2::2] = np.sqrt(2.0)
    return b


def fourier_skew(N: int) -> np.ndarray:
    """S[2j, 2j-1] = 2 pi j = -S[2j-1, 2j]: how the (sin, cos) pairs rotate as the window moves.

    Sines sit at odd indices and cosines at even ones, so for even N the unpaired last basis
    function is a sine, which vanishes at the window's ends and never feeds back (an unpaired
    cosine would integrate the input without rotating and spoil the memory).
    """
    S = np.zeros((N, N))
    for j in range(1, N // 2 + 1):
        sine, cosine = 2 * j - 1, 2 * j
        if cosine < N:
            S[cosine, sine] = 2 * np.pi * j
            S[sine, cosine] = -2 * np.pi * j
    return S


def _fout(N: int) -> Matrices:
    b = fourier_basis_vector(N)
    return fourier_skew(N) - 2.0 * np.outer(b, b), 2.0 * b


def _fourier(N: int) -> Matrices:
    return fourier_skew(N) - 0.5 * np.eye(N), 2.0 * fourier_basis_vector(N)


_BUILDERS: dict[str, tuple[Callable[..., Matrices], tuple[str, ...]]] = {
    "legs": (_legs, ()),
    "legt": (_legt, ("theta",)),
    "lmu": (_lmu, ("theta",)),
    "lagt": (_lagt, ("beta",)),
    "glagt": (_glagt, ("alpha", "beta")),
    "fout": (_fout, ()),
    "fourier": (_fourier, ()),
}

MEASURES: tuple[str, ...] = tuple(_BUILDERS)
"""Names accepted by :func:`transition`."""


def transition(measure: str, N: int, **kwargs: float) -> Matrices:
    """Continuous-time HiPPO matrices for ``measure``.

    Args:
        measure: one of :data:`MEASURES` (see the module docstring for every formula).
        N: state size, ``N >= 1``.
        **kwargs: measure parameters: ``theta`` (legt, lmu: window length), ``beta`` (lagt:
            time scale; glagt: tilt), ``alpha`` (glagt).

    Returns:
        ``(A, B)``: ``A`` of shape ``(N, N)`` and ``B`` of shape ``(N,)``, float64, in the
        stable convention ``x' = A x + B u``.
    """
    check_choice("measure", measure, MEASURES)
    N = check_int("N", N)
    builder, allowed = _BUILDERS[measure]
    reject_unknown(f"transition({measure!r})", kwargs, allowed)
    A, B = builder(N, **kwargs)
    return np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
