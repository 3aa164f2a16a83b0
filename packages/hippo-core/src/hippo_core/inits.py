r"""Initialisations of S4 (DPLR) and S4D (diagonal) state space layers.

:func:`dplr` returns ``(Lambda, P, B, V)`` for ``H`` independent copies (one per channel of a
layer), each a system ``x' = (diag(Lambda) - P^T conj(P)) x + B u`` in the conjugate-pair
convention (only one of each conjugate pair is stored; the full system has
``[Lambda, conj Lambda]`` and so on).

=========== ==========================================================================
init        system
=========== ==========================================================================
legs        NPLR form of HiPPO-LegS (S4)
legt        NPLR form of HiPPO-LegT (rank >= 2: its exact correction has rank 2)
fout        NPLR form of HiPPO-FouT (S4-FouT)
fourier     HiPPO-FouD (already normal: P = 0)
lagt        NPLR form of HiPPO-LagT
lin         S4D-Lin: Lambda_n = -real_value + i * imag_scale * pi * n, B = 1
inv         S4D-Inv: Lambda_n = -real_value + i * imag_scale * (N/pi) (N / (2n+1) - 1), B = 1
real        S4D-Real: Lambda_n = -(n + 1), B = 1
rand        Lambda_n = -real_value + i * imag_scale * pi * (N/2) * U(0, 1), B = 1 (seeded)
diag-X      the same as X with P = 0 (S4D-X); diag-legs is S4D-LegS, the diagonal part of
            the NPLR form of LegS. legt and fout have purely imaginary normal parts, so
            diag-legt and diag-fout take the real part -real_value (else nothing decays)
=========== ==========================================================================

Options (keyword arguments) from the S4D paper's ablations:

- ``real_value`` (float > 0, default 0.5): the real part of every eigenvalue is
  ``-real_value`` (lin, inv, rand, diag-legt, diag-fout; the other HiPPO inits keep the
  measure's own real part).
- ``imag_scale`` (float >= 0, default 1.0): multiplies the imaginary parts (every init).
- ``P_scale`` (float, default 0.0): lin / inv / real / rand in DPLR mode: ``P`` is drawn
  ``P_scale * N(0, 1)`` (complex) instead of zero.
- ``seed`` (int or None): seeds the random inits (rand, and P when ``P_scale > 0``).
- ``measure_kw`` (dict): parameters of the HiPPO measure (e.g. ``{"theta": 2.0}``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hippo_core._checks import (
    check_choice,
    check_even,
    check_int,
    check_real,
    reject_unknown,
)
from hippo_core.nplr import MIN_RANK, nplr

HIPPO_INITS = ("legs", "legt", "fout", "fourier", "lagt")
DIAGONAL_INITS = ("lin", "inv", "real", "rand")
DPLR_INITS: tuple[str, ...] = (
    HIPPO_INITS + DIAGONAL_INITS + tuple(f"diag-{name}" for name in HIPPO_INITS + DIAGONAL_INITS)
)
"""Every name :func:`dplr` accepts."""

_OPTIONS = ("real_value", "imag_scale", "P_scale", "seed", "measure_kw")


class DPLR(NamedTuple):
    """``A[h] = diag(Lambda[h]) - sum_r P[r, h, :, None] * conj(P[r, h, None, :])``.

    Attributes:
        Lambda: ``(H, N//2)`` complex128 diagonal part.
        P: ``(rank, H, N//2)`` complex128 low-rank factor (zeros for diagonal inits).
        B: ``(H, N//2)`` complex128 input matrix.
        V: ``(N, N//2)`` complex128 basis change from the HiPPO state (``x_hippo =
            V_f x``), or ``None`` for inits not derived from a HiPPO matrix.
    """

    Lambda: np.ndarray
    P: np.ndarray
    B: np.ndarray
    V: np.ndarray | None


def _diagonal_eigenvalues(
    init: str, N: int, real_value: float, imag_scale: float, rng: np.random.Generator
) -> np.ndarray:
    n = np.arange(N // 2)
    if init == "lin":
        imag = np.pi * n
    elif init == "inv":
        imag = N / np.pi * (N / (2 * n + 1) - 1)
    elif init == "rand":
        imag = np.sort(np.pi * (N // 2) * rng.random(N // 2))
    else:  # real
        return -(n + 1.0) + 0j
    return -real_value + 1j * imag_scale * imag


def dplr(init: str, N: int, rank: int = 1, H: int = 1, **kwargs: Any) -> DPLR:
    """Diagonal-plus-low-rank initialisation for ``H`` copies of an ``N``-state SSM.

    Args:
        init: one of :data:`DPLR_INITS` (see the module docstring).
        N: even state size (the full real system; ``N//2`` complex pairs are returned).
        rank: rank of the low-rank term (``legt`` needs at least 2).
        H: number of copies (channels). Random inits draw each copy independently.
        **kwargs: ``real_value``, ``imag_scale``, ``P_scale``, ``seed``, ``measure_kw``.

    Returns:
        :class:`DPLR` ``(Lambda (H, N//2), P (rank, H, N//2), B (H, N//2), V)``.
    """
    check_choice("init", init, DPLR_INITS)
    N = check_even("N", check_int("N", N))
    rank = check_int("rank", rank)
    H = check_int("H", H)
    reject_unknown(f"dplr({init!r})", kwargs, _OPTIONS)
    real_value = check_real("real_value", kwargs.get("real_value", 0.5), positive=True)
    imag_scale = check_real("imag_scale", kwargs.get("imag_scale", 1.0))
    if imag_scale < 0:
        raise ValueError(f"imag_scale must be >= 0, got {imag_scale}")
    P_scale = check_real("P_scale", kwargs.get("P_scale", 0.0))
    measure_kw = dict(kwargs.get("measure_kw") or {})
    rng = np.random.default_rng(kwargs.get("seed"))

    diagonal_only = init.startswith("diag-")
    base = init.removeprefix("diag-")

    if base in HIPPO_INITS:
        # diag-legt discards P, so it needs no rank-2 correction from the caller
        form = nplr(base, N, max(rank, MIN_RANK[base]) if diagonal_only else rank, **measure_kw)
        Lambda = form.Lambda.real + 1j * imag_scale * form.Lambda.imag
        Lambda = np.broadcast_to(Lambda, (H, N // 2))
        P = np.broadcast_to(form.P[:, None, :], (form.P.shape[0], H, N // 2))
        B = np.broadcast_to(form.B, (H, N // 2))
        V = form.V
    else:
        Lambda = np.stack(
            [_diagonal_eigenvalues(base, N, real_value, imag_scale, rng) for _ in range(H)]
        )
        B = np.ones((H, N // 2), dtype=np.complex128)
        shape = (rank, H, N // 2)
        P = P_scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
        V = None
    if diagonal_only:
        P = np.zeros((rank, H, N // 2))
        if base in HIPPO_INITS and np.all(np.abs(Lambda.real) < 1e-9):
            # legt and fout have a purely skew normal part: without the low-rank term the
            # diagonal system would never forget, so it gets the S4D real part instead.
            Lambda = -real_value + 1j * Lambda.imag
    return DPLR(
        Lambda=np.array(Lambda, dtype=np.complex128),
        P=np.array(P, dtype=np.complex128),
        B=np.array(B, dtype=np.complex128),
        V=None if V is None else np.array(V, dtype=np.complex128),
    )
