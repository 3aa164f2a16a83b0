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

Conjugate-half convention: the original state-spaces/s4 keeps the half with ``Im <= 0``
(sorted by ascending imaginary part); we keep the complex conjugate of exactly that half, so
``Im(Lambda) >= 0`` in descending order, with a zero pair last.

``B_clip`` (default 2.0, as the original): ``Im(B)`` is clipped to ``[-B_clip, B_clip]``, which
the original does for stability; ``B_clip=None`` keeps the exact ``V^* B``. Each eigenvector
is fixed only up to a unit phase (LAPACK's choice, in scipy here and in torch there); for LegS
ours differ from the original's by signs only, so the clip acts identically (checked against
the official fixtures in ``tests/test_official_fixtures.py``).

Corrections ``P`` (rows; ``r_n = sqrt(2n+1)``, ``e``/``o`` the even/odd index indicators,
``b`` the Fourier basis vector of :mod:`~hippo_core.measures`):

============== ===================================== =========
measure        P (rows)                              min rank
============== ===================================== =========
legs           sqrt(n + 1/2)                         1
legsd          0 (already -I/2 + skew)               1
legt           r e / sqrt(theta), r o / sqrt(theta)  2
lagt, tlagt    sqrt(1/2) (all ones)                  1
glagt          sqrt(1/2), only for alpha = 0         1
fout, fourier  sqrt(2 / theta) b                     1
fourier2       sqrt(2) b                             1
fourier_decay  b / sqrt(2)                           1
foud           0 (already -I/2 + skew)               1
============== ===================================== =========

``lmu`` has no NPLR form (it is legt in a non-orthogonal basis; use ``legt``); ``random`` and
``diagonal`` have none either (random matrices; real eigenvalues).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg

from hippo_core._checks import check_choice, check_even, check_int, check_real, reject_unknown
from hippo_core.measures import MEASURES, fourier_basis_vector, transition

NPLR_MEASURES: tuple[str, ...] = (
    "legs",
    "legsd",
    "legt",
    "lagt",
    "tlagt",
    "glagt",
    "fout",
    "fourier",
    "fourier2",
    "fourier_decay",
    "foud",
    "fourier_diag",
)
"""Measures with a normal-plus-low-rank form."""

MIN_RANK: dict[str, int] = {m: 2 if m == "legt" else 1 for m in NPLR_MEASURES}
"""Smallest exact correction rank of each measure."""


class NPLR(NamedTuple):
    """``A = V_f (diag(Lambda_f) - P_f^T conj(P_f)) V_f^*`` with ``X_f = [X, conj X]``.

    Attributes:
        Lambda: ``(N//2,)`` complex128 eigenvalues of the normal part, one per conjugate pair.
        P: ``(rank, N//2)`` complex128 low-rank factor in the eigenbasis.
        B: ``(N//2,)`` complex128 input matrix in the eigenbasis (``Im`` clipped by B_clip).
        V: ``(N, N//2)`` complex128 eigenvectors (columns), one per conjugate pair.
    """

    Lambda: np.ndarray
    P: np.ndarray
    B: np.ndarray
    V: np.ndarray


def _minimal_rank_correction(measure: str, N: int, **kwargs: float) -> np.ndarray:
    """The measure's own correction, ``(r_min, N)`` (module table)."""
    n = np.arange(N)
    if measure == "legs":
        return np.sqrt(0.5 + n)[None, :]
    if measure in ("legsd", "foud", "fourier_diag"):
        return np.zeros((1, N))
    if measure == "legt":
        # A + A^T = -(2/theta) R (e e^T + o o^T) R: rank 2 is exact, rank 1 is not.
        r = np.sqrt(2 * n + 1.0)
        even = (n % 2 == 0).astype(float)
        return np.stack([r * even, r * (1.0 - even)]) / np.sqrt(kwargs.get("theta", 2.0))
    if measure in ("lagt", "tlagt"):
        return np.full((1, N), np.sqrt(0.5))
    if measure == "glagt":
        if kwargs.get("alpha", 0.0) != 0.0:
            raise ValueError(
                "alpha: expected 0 for an NPLR form of glagt (alpha != 0 changes the basis by "
                f"a non-orthogonal scaling), got {kwargs['alpha']}"
            )
        return np.full((1, N), np.sqrt(0.5))
    b = fourier_basis_vector(N)[None, :]
    if measure in ("fout", "fourier"):
        return np.sqrt(2.0 / kwargs.get("theta", 2.0)) * b
    if measure == "fourier2":
        return np.sqrt(2.0) * b
    if measure == "fourier_decay":
        return b / np.sqrt(2.0)
    raise ValueError(
        f"measure: expected one with a normal-plus-low-rank form ({', '.join(NPLR_MEASURES)}; "
        f"'lmu' is 'legt' in a non-orthogonal basis: use 'legt'), got {measure!r}"
    )


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
            f"rank: expected for measure {measure!r} rank >= {MIN_RANK[measure]} (its exact "
            f"correction), got {rank}"
        )
    transition(measure, N, **kwargs)  # validates kwargs for this measure
    P = _minimal_rank_correction(measure, N, **kwargs)
    if rank > P.shape[0]:
        P = np.concatenate([P, np.zeros((rank - P.shape[0], N))])
    return P


def _null_pairs(skew: np.ndarray, dim: int) -> np.ndarray:
    """``dim // 2`` complex vectors ``(u1 - i u2) / sqrt2`` spanning the real null space.

    When the null space is spanned by coordinate vectors (the unused Fourier states 0 and 1),
    those are used in index order, which gives the original's ``(e0 + i e1) / sqrt2`` after
    conjugation; otherwise an orthonormal basis from scipy.
    """
    N = skew.shape[0]
    scale = max(1.0, float(np.abs(skew).max(initial=0.0)))
    idle = np.flatnonzero(
        (np.abs(skew).max(axis=0) < 1e-12 * scale) & (np.abs(skew).max(axis=1) < 1e-12 * scale)
    )
    null = np.eye(N)[:, idle] if idle.size == dim else linalg.null_space(skew, rcond=1e-10)
    pairs = [(null[:, 2 * j] - 1j * null[:, 2 * j + 1]) / np.sqrt(2.0) for j in range(dim // 2)]
    return np.stack(pairs, axis=1) if pairs else np.zeros((N, 0), dtype=np.complex128)


def _paired_eigenbasis(skew: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-pairs of a real skew-symmetric matrix, one per conjugate pair.

    Returns ``(mu, V)``: eigenvalues ``i mu`` with ``mu >= 0`` in descending order (zero pairs
    last) and unit eigenvectors ``V`` (N, N//2) such that ``[V, conj V]`` is unitary. ``V`` is
    the conjugate of the eigenvectors of ``-i mu`` (the half the original keeps).
    """
    N = skew.shape[0]
    mu, U = linalg.eigh(-1j * skew)  # Hermitian, ascending; eigenvalues of skew are i * mu
    tol = 1e-9 * max(1.0, float(np.abs(mu).max(initial=0.0)))
    negative = mu < -tol
    null_dim = N - 2 * int(negative.sum())
    if null_dim % 2 or null_dim != int((np.abs(mu) <= tol).sum()):
        raise ValueError(
            "A: expected a spectrum that splits into conjugate pairs, got a real null space of "
            f"dimension {int((np.abs(mu) <= tol).sum())} for N={N}"
        )
    V = np.concatenate([U[:, negative].conj(), _null_pairs(skew, null_dim)], axis=1)
    mu = np.concatenate([-mu[negative], np.zeros(null_dim // 2)])
    return mu, V.astype(np.complex128)


def nplr(
    measure: str, N: int, rank: int = 1, *, B_clip: float | None = 2.0, **kwargs: float
) -> NPLR:
    """Normal plus low-rank decomposition of the HiPPO matrix of ``measure``.

    ``A = V_f (diag(Lambda_f) - P_f^T conj(P_f)) V_f^*`` (see the module docstring), where
    ``X_f = [X, conj X]`` expands the returned half of each conjugate pair;
    ``B = V_f B_f`` exactly when ``B_clip`` is ``None`` or does not bind.

    Args:
        measure: one of :data:`NPLR_MEASURES`.
        N: even state size.
        rank: correction rank, at least the measure's minimal rank.
        B_clip: clip ``Im(B)`` to ``[-B_clip, B_clip]`` (default 2.0, as the original);
            ``None`` for no clipping.
        **kwargs: measure parameters, as for :func:`~hippo_core.transition`.

    Returns:
        :class:`NPLR` ``(Lambda (N//2,), P (rank, N//2), B (N//2,), V (N, N//2))``.
    """
    check_choice("measure", measure, NPLR_MEASURES)
    N = check_even("N", check_int("N", N))
    if B_clip is not None:
        B_clip = check_real("B_clip", B_clip, positive=True)
    reject_unknown(f"nplr({measure!r})", kwargs, ("theta", "alpha", "beta"))
    A, B = transition(measure, N, **kwargs)
    P = rank_correction(measure, N, rank, **kwargs)
    normal = A + P.T @ P
    # normal = c I + skew: c is the mean of the diagonal
    c = float(np.trace(normal)) / N
    if abs(c) < 1e-12 * max(1.0, float(np.abs(normal).max())):
        c = 0.0  # exactly skew (legt, fout): keep the real parts exactly zero
    skew = normal - c * np.eye(N)
    if not np.allclose(skew, -skew.T, atol=1e-9 * max(1.0, np.abs(normal).max())):
        raise ValueError(f"A + P^T P is not (scalar + skew-symmetric) for measure {measure!r}")
    mu, V = _paired_eigenbasis(0.5 * (skew - skew.T))
    Vh = V.conj().T
    B_eig = Vh @ B
    if B_clip is not None:
        B_eig = B_eig.real + 1j * np.clip(B_eig.imag, -B_clip, B_clip)
    return NPLR(
        Lambda=(c + 1j * mu).astype(np.complex128),
        P=(Vh @ P.T).T.astype(np.complex128),
        B=B_eig.astype(np.complex128),
        V=V,
    )
