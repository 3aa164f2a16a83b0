r"""Continuous-time HiPPO matrices ``(A, B)`` for each measure.

Every name that exists in the original state-spaces/s4 (``src/models/hippo/hippo.py``) gives
the same matrices as there, with the original's scalings as the defaults. Every matrix uses
the *stable* sign convention

.. math:: x'(t) = A x(t) + B u(t),

so the eigenvalues of ``A`` have non-positive real parts. (The HiPPO paper writes
:math:`x' = -Ax + Bu`; our ``A`` is the negative of the paper's, as in the original code.)

Index conventions: ``n`` is the row, ``k`` the column, both from 0 to ``N-1``;
``r_n = \sqrt{2n+1}``. LegS is time-varying: its true ODE is :math:`x' = \tfrac1t (A x + B u)`;
``transition`` returns the ``(A, B)`` of that form.

Fourier layout (even ``N``): index 0 is the constant, index ``2m`` the cosine and ``2m+1``
the (negated) sine of frequency ``m = 1 .. N/2-1``; index 1 is an unused state (zero row and
column in FouT, a decaying dead state in FouD), as in the original. ``b = (1, 0, sqrt2, 0,
sqrt2, 0, ...)`` is the basis at the window's ends and ``S_w`` the rotation
``S_w[2m+1, 2m] = w m = -S_w[2m, 2m+1]``.

============== ================================================================================
measure        formula (stable convention)
============== ================================================================================
legs           scaled Legendre, uniform measure on [0, t]:
               A_nk = -r_n r_k (n > k), -(n+1) (n = k), 0 (n < k);  B_n = r_n
legsd          LegS with its rank-1 term removed (the diagonal part S4D-LegS uses):
               A = A_legs + r r^T / 2  (= -I/2 + skew),  B = r / 2
legt           translated Legendre on the window [t - theta, t], default theta = 2 (the
               original "halves A and B for timescale correctness"; theta = 1 is the HiPPO
               paper's LegT): A_nk = -(r_n r_k / theta) (1 if n >= k else (-1)^(n-k)),
               B_n = r_n / theta
lmu            Legendre Memory Unit (legt in the unnormalised basis, window theta = 1):
               A_nk = -((2n+1) / theta) (1 if n < k else (-1)^(n-k)),
               B_n = (-1)^n (2n+1) / theta
lagt           translated Laguerre, orthonormal Laguerre functions L_n(s) e^{-s/2} over the
               lag s: A = I/2 - tril(1) (diagonal -1/2),  B_n = beta (an input scale)
tlagt          tilted Laguerre (the original's earlier variant):
               A = (1 - beta)/2 I - tril(1),  B_n = beta
glagt          generalised Laguerre L^(alpha) with tilt beta: with D_n = sqrt(Gamma(n+alpha+1)
               / n!) and T = (1+beta)/2 I + strictly-lower ones: A = -D^{-1} T D,
               B_n = binom(n+alpha, n) / D_n * beta^((1-alpha)/2) / sqrt(Gamma(1-alpha))
fout, fourier  translated Fourier (FouT) on the window [t - theta, t], default theta = 2 (as
               the original): A = (S_{2 pi} - 2 b b^T) / theta,  B = 2 b / theta
               (theta = 2: A = S_pi - b b^T, B = b)
fourier2       FouT on the unit window ("orthonormal on [0, 1]"): fout with theta = 1,
               A = S_{2 pi} - 2 b b^T,  B = 2 b
fourier_decay  FouT (theta = 2) with half the low-rank term: A = S_pi - b b^T / 2,  B = b / 2
foud,          FouD, the diagonal approximation of FouT: the low-rank term replaced by a
fourier_diag   uniform decay, A = S_{2 pi} - I/2,  B = b
random         A_nk ~ N(0, 1) / N,  B_n ~ N(0, 1)  (seeded by ``seed``)
diagonal       A = -diag(exp(z)), z_n ~ N(0, 1),  B_n ~ N(0, 1)  (seeded by ``seed``)
============== ================================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from hippo_core._checks import (
    check_choice,
    check_even,
    check_int,
    check_real,
    check_seed,
    reject_unknown,
)

Matrices = tuple[np.ndarray, np.ndarray]


def _r(N: int) -> np.ndarray:
    """r_n = sqrt(2n + 1)."""
    return np.sqrt(2 * np.arange(N) + 1.0)


def _legs(N: int) -> Matrices:
    r = _r(N)
    A = -np.tril(np.outer(r, r), -1) - np.diag(np.arange(N) + 1.0)
    return A, r


def _legsd(N: int) -> Matrices:
    A, r = _legs(N)
    return A + 0.5 * np.outer(r, r), r / 2


def _legt(N: int, theta: float = 2.0) -> Matrices:
    theta = check_real("theta", theta, positive=True)
    n = np.arange(N)[:, None]
    k = np.arange(N)[None, :]
    # the sign pattern 1 (n >= k), (-1)^(n-k) (n < k)
    pattern = np.where(n >= k, 1.0, (-1.0) ** (n - k))
    r = _r(N)
    return -np.outer(r, r) * pattern / theta, r / theta


def _lmu(N: int, theta: float = 1.0) -> Matrices:
    theta = check_real("theta", theta, positive=True)
    n = np.arange(N)[:, None]
    k = np.arange(N)[None, :]
    d = 2 * np.arange(N) + 1.0
    A = -d[:, None] * np.where(n < k, 1.0, (-1.0) ** (n - k)) / theta
    return A, (-1.0) ** np.arange(N) * d / theta


def _lagt(N: int, beta: float = 1.0) -> Matrices:
    beta = check_real("beta", beta, positive=True)
    return np.eye(N) / 2 - np.tril(np.ones((N, N))), np.full(N, beta)


def _tlagt(N: int, beta: float = 1.0) -> Matrices:
    beta = check_real("beta", beta, positive=True)
    return (1 - beta) / 2 * np.eye(N) - np.tril(np.ones((N, N))), np.full(N, beta)


def _glagt(N: int, alpha: float = 0.0, beta: float = 0.01) -> Matrices:
    alpha = check_real("alpha", alpha)
    beta = check_real("beta", beta, positive=True)
    if not -1 < alpha < 1:
        raise ValueError(
            "alpha: expected -1 < alpha < 1 (the measure s^alpha e^-s needs alpha > -1; the "
            f"factor 1/sqrt(Gamma(1 - alpha)) needs alpha < 1), got {alpha}"
        )
    n = np.arange(N)
    T = (1.0 + beta) / 2.0 * np.eye(N) + np.tril(np.ones((N, N)), -1)
    # D_n^2 = Gamma(n + alpha + 1) / n! is the squared norm of L_n^(alpha) under s^alpha e^-s.
    D = np.exp(0.5 * (special.gammaln(n + alpha + 1.0) - special.gammaln(n + 1.0)))
    A = -(T * D[None, :]) / D[:, None]
    # B_n = binom(n + alpha, n) / D_n * beta^((1 - alpha)/2) / sqrt(Gamma(1 - alpha))
    scale = beta ** ((1 - alpha) / 2) * np.exp(-0.5 * special.gammaln(1 - alpha))
    return A, special.binom(n + alpha, n) / D * scale


def fourier_basis_vector(N: int) -> np.ndarray:
    """b = (1, 0, sqrt2, 0, sqrt2, ...): every Fourier basis function at the window's ends."""
    b = np.zeros(N)
    b[0::2] = np.sqrt(2.0)
    b[0] = 1.0
    return b


def fourier_skew(N: int, omega: float) -> np.ndarray:
    """S[2m+1, 2m] = omega m = -S[2m, 2m+1], m = 1 .. N/2 - 1: the (cos, sin) rotations."""
    S = np.zeros((N, N))
    m = np.arange(1, N // 2)
    S[2 * m + 1, 2 * m] = omega * m
    S[2 * m, 2 * m + 1] = -omega * m
    return S


def _fout(N: int, theta: float = 2.0) -> Matrices:
    theta = check_real("theta", theta, positive=True)
    b = fourier_basis_vector(N)
    return (fourier_skew(N, 2 * np.pi) - 2 * np.outer(b, b)) / theta, 2 * b / theta


def _fourier2(N: int) -> Matrices:
    return _fout(N, theta=1.0)


def _fourier_decay(N: int) -> Matrices:
    b = fourier_basis_vector(N)
    return fourier_skew(N, np.pi) - 0.5 * np.outer(b, b), 0.5 * b


def _foud(N: int) -> Matrices:
    return fourier_skew(N, 2 * np.pi) - 0.5 * np.eye(N), fourier_basis_vector(N)


def _random(N: int, seed: int | None = None) -> Matrices:
    rng = np.random.default_rng(check_seed("seed", seed))
    return rng.standard_normal((N, N)) / N, rng.standard_normal(N)


def _diagonal(N: int, seed: int | None = None) -> Matrices:
    rng = np.random.default_rng(check_seed("seed", seed))
    return -np.diag(np.exp(rng.standard_normal(N))), rng.standard_normal(N)


_BUILDERS: dict[str, tuple[Callable[..., Matrices], tuple[str, ...]]] = {
    "legs": (_legs, ()),
    "legsd": (_legsd, ()),
    "legt": (_legt, ("theta",)),
    "lmu": (_lmu, ("theta",)),
    "lagt": (_lagt, ("beta",)),
    "tlagt": (_tlagt, ("beta",)),
    "glagt": (_glagt, ("alpha", "beta")),
    "fout": (_fout, ("theta",)),
    "fourier": (_fout, ("theta",)),
    "fourier2": (_fourier2, ()),
    "fourier_decay": (_fourier_decay, ()),
    "foud": (_foud, ()),
    "fourier_diag": (_foud, ()),
    "random": (_random, ("seed",)),
    "diagonal": (_diagonal, ("seed",)),
}

MEASURES: tuple[str, ...] = tuple(_BUILDERS)
"""Names accepted by :func:`transition` (``fourier`` = ``fout``, ``fourier_diag`` = ``foud``)."""

FOURIER_MEASURES: tuple[str, ...] = (
    "fout",
    "fourier",
    "fourier2",
    "fourier_decay",
    "foud",
    "fourier_diag",
)
"""Measures built from (cos, sin) pairs: they need an even ``N``, as in the original."""


def transition(measure: str, N: int, **kwargs: float) -> Matrices:
    """Continuous-time HiPPO matrices for ``measure``.

    Args:
        measure: one of :data:`MEASURES` (see the module docstring for every formula).
        N: state size, ``N >= 1`` (even for the Fourier measures).
        **kwargs: measure parameters: ``theta`` (legt, fout: window length; lmu), ``beta``
            (lagt, tlagt: input scale / tilt; glagt: tilt), ``alpha`` (glagt), ``seed``
            (random, diagonal).

    Returns:
        ``(A, B)``: ``A`` of shape ``(N, N)`` and ``B`` of shape ``(N,)``, float64, in the
        stable convention ``x' = A x + B u``.
    """
    check_choice("measure", measure, MEASURES)
    N = check_int("N", N)
    if measure in FOURIER_MEASURES:
        check_even("N", N)
    builder, allowed = _BUILDERS[measure]
    reject_unknown(f"transition({measure!r})", kwargs, allowed)
    A, B = builder(N, **kwargs)
    return np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
