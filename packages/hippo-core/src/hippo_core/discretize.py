r"""Discretisation of a continuous linear system ``x' = A x + B u`` with step ``dt``.

============ ==============================================================================
method       (A_bar, B_bar) so that x_k = A_bar x_{k-1} + B_bar u_k
============ ==============================================================================
forward      forward Euler: A_bar = I + dt A,                  B_bar = dt B
backward     backward Euler: A_bar = (I - dt A)^{-1},          B_bar = dt (I - dt A)^{-1} B
bilinear     Tustin / trapezoid: A_bar = (I - dt/2 A)^{-1} (I + dt/2 A),
             B_bar = dt (I - dt/2 A)^{-1} B
zoh          zero-order hold: A_bar = exp(dt A), B_bar = A^{-1} (exp(dt A) - I) B, computed as
             one matrix exponential of the block matrix [[A, B], [0, 0]] * dt, so a singular
             A is fine
============ ==============================================================================
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from hippo_core._checks import check_choice, check_finite_array, check_real

DISCRETIZATIONS: tuple[str, ...] = ("forward", "backward", "bilinear", "zoh")
_ALIASES = {"euler": "forward", "tustin": "bilinear", "gbt": "bilinear"}


def _solve(lhs: np.ndarray, rhs: np.ndarray, what: str) -> np.ndarray:
    """``lhs^{-1} rhs``, with scipy's singular-matrix error turned into one naming ``A``/``dt``."""
    try:
        return linalg.solve(lhs, rhs)
    except (linalg.LinAlgError, ValueError) as error:
        raise ValueError(
            f"A, dt: expected {what} to be invertible, got a singular matrix ({error})"
        ) from None


def discretize(
    A: np.ndarray, B: np.ndarray, dt: float, method: str = "bilinear"
) -> tuple[np.ndarray, np.ndarray]:
    """Discretise ``(A (N, N), B (N,) or (N, M))`` with step ``dt`` by ``method``.

    Returns ``(A_bar (N, N), B_bar)`` with ``B_bar`` shaped like ``B`` (module table). Works
    for real and complex matrices. Aliases: ``euler`` = forward, ``tustin``/``gbt`` =
    bilinear. NaN/inf entries in ``A`` or ``B`` are refused for every method.
    """
    method = _ALIASES.get(method, method) if isinstance(method, str) else method
    check_choice("method", method, DISCRETIZATIONS)
    dt = check_real("dt", dt, positive=True)
    A = check_finite_array("A", A)
    B = check_finite_array("B", B)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A: expected a square matrix (N, N), got shape {A.shape}")
    N = A.shape[0]
    if B.ndim not in (1, 2) or B.shape[0] != N:
        raise ValueError(f"B: expected shape ({N},) or ({N}, M) to match A, got {B.shape}")
    column = B.reshape(N, -1)
    eye = np.eye(N, dtype=np.result_type(A, 1.0))
    if method == "forward":
        # A_bar = I + dt A,  B_bar = dt B
        Ad, Bd = eye + dt * A, dt * column
    elif method == "backward":
        # A_bar = (I - dt A)^{-1},  B_bar = dt (I - dt A)^{-1} B
        lhs = eye - dt * A
        Ad, Bd = _solve(lhs, eye, "I - dt A"), _solve(lhs, dt * column, "I - dt A")
    elif method == "bilinear":
        # A_bar = (I - dt/2 A)^{-1} (I + dt/2 A),  B_bar = dt (I - dt/2 A)^{-1} B
        lhs = eye - dt / 2 * A
        Ad = _solve(lhs, eye + dt / 2 * A, "I - dt/2 A")
        Bd = _solve(lhs, dt * column, "I - dt/2 A")
    else:
        # exp(dt [[A, B], [0, 0]]) = [[A_bar, B_bar], [0, I]]
        M = column.shape[1]
        block = np.zeros((N + M, N + M), dtype=np.result_type(A, column, 1.0))
        block[:N, :N] = A
        block[:N, N:] = column
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            expo = linalg.expm(dt * block)
        Ad, Bd = expo[:N, :N], expo[:N, N:]
    if not (np.all(np.isfinite(Ad)) and np.all(np.isfinite(Bd))):
        raise ValueError(
            f"A, dt: expected a system whose {method} discretisation is finite, got overflow "
            f"(dt * max|A| = {dt * float(np.abs(A).max(initial=0.0)):.3g})"
        )
    return Ad, Bd.reshape(B.shape)
