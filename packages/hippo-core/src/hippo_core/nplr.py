r"""Normal plus low-rank (NPLR) forms of the HiPPO matrices.

Every HiPPO matrix below can be written as a normal matrix minus a low-rank term,

.. math:: A = A_{\text{normal}} - P^T P, \qquad A_{\text{normal}} = c I + S,\ S^T = -S,

so :math:`A_{\text{normal}}` is unitarily diagonalisable, :math:`A_{\text{normal}} =
V_f \operatorname{diag}(\Lambda_f) V_f^*`. In that eigenbasis

.. math:: V_f^* A V_f = \operatorname{diag}(\Lambda_f) - Q Q^*, \qquad Q = V_f^* P^T,

which is the diagonal-plus-low-rank (DPLR) form S4 computes with. Because ``A`` is real, its
eigenvalues and eigenvectors come in conjugate pairs, so only one of each pair is returned
(``N // 2`` of them); the full system is ``Lambda_f = [Lambda, conj(Lambda)]``,
``V_f = [V, conj(V)]``, and likewise for ``P`` and ``B``.

Minimal ranks: legs 1, legt 2, lagt 1, glagt 1 (alpha = 0 only), fout 1, fourier 1 (its
correction is zero: FouD is already normal). ``lmu`` has no NPLR form (it is legt in a
non-orthogonal basis); use ``legt``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg

from hippo_core._checks import check_choice, check_even, check_int, reject_unknown
from hippo_core.measures import MEASURES, fourier_basis_vector, transition


class NPLR(NamedTuple):
    """``A = V_f (diag(Lambda_f) - P_f^T conj(P_f)) V_f^*`` with ``X_f = [X, conj X]``.

    Attributes:
        Lambda: ``(N//2,)`` complex128 eigenvalues of the normal part, one per conjugate pair.
        P: ``(rank, N//2)`` complex128 low-rank factor in the eigenbasis.
        B: ``(N//2,)`` complex128 input matrix in the eigenbasis.
        V: ``(N, N//2)`` complex128 eigenvectors (columns), one per conjugate pair.
    """

    Lambda: np.ndarray
    P: np.ndarray
    B: np.ndarray
    V: np.ndarray


def _minimal_rank_correction(measure: str, N: int, **kwargs: float) -> np.ndarray:
    """The measure's own correction, ``(r_min, N)``."""
    n = np.arange(N)
    r = np.sqrt(2 * n + 1.0)
    if measure == "legs":
        return np.sqrt(0.5 + n)[None, :]
    if measure == "legt":
        # A + A^T = -2 R (e e^T + o o^T) R / theta with e, o the even / odd index indicators,
        # so the correction needs both rows: rank 2 is exact, rank 1 is not.
        theta = kwargs.get("theta", 1.0)
        even = (n % 2 == 0).astype(float)
        return np.stack([r * even, r * (1.0 - even)]) / np.sqrt(theta)
    if measure == "lagt":
        return np.full((1, N), np.sqrt(kwargs.get("beta", 1.0) / 2.0))
    if measure == "glagt":
        if kwargs.get("alpha", 0.0) != 0.0:
            raise ValueError(
                "glagt has an NPLR form only for alpha = 0 (alpha != 0 changes the basis by a "
                f"non-orthogonal scaling); got alpha={kwargs['alpha']}"
            )
        return np.full((1, N), np.sqrt(0.5))
    if measure == "fout":
        return np.sqrt(2.0) * fourier_basis_vector(N)[None, :]
    if measure == "fourier":
        return np.zeros((1, N))
    raise ValueError(
        f"measure {measure!r} has no normal-plus-low-rank form; "
        "expected one of: legs, legt, lagt, glagt, fout, fourier ('lmu' is 'legt' in a "
        "non-orthogonal basis: use 'legt')"
    )


NPLR_MEASURES: tuple[str, ...] = ("legs", "legt", "lagt", "glagt", "fout", "fourier")
"""Measures with a normal-plus-low-rank form."""

MIN_RANK: dict[str, int] = {m: 2 if m == "legt" else 1 for m in NPLR_MEASURES}
"""Smallest exact correction rank of each measure."""


def rank_correction(measure: str, N: int, rank: int = 1, **kwargs: float) -> np.ndarray:
    """Low-rank correction ``P`` of shape ``(rank, N)`` with ``A + P^T P`` normal.

    Rows beyond the measure's minimal rank (:data:`MIN_RANK`) are zero. Asking for less than
    the minimal rank raises, because the result would not be normal.
    """
    check_choice("measure", measure, MEASURES)
    N = check_int("N", N)
    rank = check_int("rank", rank)
    if measure in NPLR_MEASURES and rank < MIN_RANK[measure]:
        raise ValueError(
            f"measure {measure!r} needs rank >= {MIN_RANK[measure]} for an exact correction, "
            f"got rank={rank}"
        )
    transition(measure, N, **kwargs)  # validates kwargs for this measure
    P = _minimal_rank_correction(measure, N, **kwargs)
    if rank > P.shape[0]:
        P = np.concatenate([P, np.zeros((rank - P.shape[0], N))])
    return P


def _paired_eigenbasis(skew: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-pairs of a real skew-symmetric matrix, one per conjugate pair.

    Returns ``(mu, V)``: eigenvalues ``i mu`` with ``mu >= 0`` (ascending) and unit
    eigenvectors ``V`` (N, N//2) such that ``[V, conj V]`` is unitary. The null space is real;
    its basis vectors are paired as ``(u1 - i u2) / sqrt2`` so that it too splits into
    conjugate pairs.
    """
    N = skew.shape[0]
    mu, U = linalg.eigh(-1j * skew)  # Hermitian; eigenvalues of skew are i * mu
    tol = 1e-9 * max(1.0, float(np.abs(mu).max(initial=0.0)))
    positive = mu > tol
    null = linalg.null_space(skew, rcond=1e-10)
    if null.shape[1] % 2 or null.shape[1] + 2 * int(positive.sum()) != N:
        raise ValueError(
            "cannot split the spectrum into conjugate pairs: the real null space has dimension "
            f"{null.shape[1]} (expected even) for N={N}"
        )
    pairs = [
        (null[:, 2 * j] - 1j * null[:, 2 * j + 1]) / np.sqrt(2.0) for j in range(null.shape[1] // 2)
    ]
    V = np.concatenate([np.stack(pairs, axis=1) if pairs else np.zeros((N, 0)), U[:, positive]], 1)
    mu = np.concatenate([np.zeros(len(pairs)), mu[positive]])
    return mu, V.astype(np.complex128)


def nplr(measure: str, N: int, rank: int = 1, **kwargs: float) -> NPLR:
    """Normal plus low-rank decomposition of the HiPPO matrix of ``measure``.

    ``A = V_f (diag(Lambda_f) - P_f^T conj(P_f)) V_f^*`` (see the module docstring), where
    ``X_f = [X, conj X]`` expands the returned half of each conjugate pair.

    Args:
        measure: one of :data:`NPLR_MEASURES`.
        N: even state size.
        rank: correction rank, at least the measure's minimal rank.
        **kwargs: measure parameters, as for :func:`~hippo_core.transition`.

    Returns:
        :class:`NPLR` ``(Lambda (N//2,), P (rank, N//2), B (N//2,), V (N, N//2))``.
    """
    check_choice("measure", measure, MEASURES)
    N = check_even("N", check_int("N", N))
    reject_unknown(f"nplr({measure!r})", kwargs, ("theta", "alpha", "beta"))
    A, B = transition(measure, N, **kwargs)
    P = rank_correction(measure, N, rank, **kwargs)
    normal = A + P.T @ P
    c = float(np.trace(normal)) / N
    if abs(c) < 1e-12 * max(1.0, float(np.abs(normal).max())):
        c = 0.0  # exactly skew (legt, fout): keep the real parts exactly zero
    skew = normal - c * np.eye(N)
    if not np.allclose(skew, -skew.T, atol=1e-9 * max(1.0, np.abs(normal).max())):
        raise ValueError(f"A + P^T P is not (scalar + skew-symmetric) for measure {measure!r}")
    mu, V = _paired_eigenbasis(0.5 * (skew - skew.T))
    Vh = V.conj().T
    return NPLR(
        Lambda=(c + 1j * mu).astype(np.complex128),
        P=(Vh @ P.T).T.astype(np.complex128),
        B=(Vh @ B).astype(np.complex128),
        V=V,
    )
