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

from hippo_core._checks import check_choice, check_real

DISCRETIZATIONS: tuple[str, ...] = ("forward", "backward", "bilinear", "zoh")
_ALIASES = {"euler": "forward", "tustin": "bilinear", "gbt": "bilinear"}


def discretize(
    A: np.ndarray, B: np.ndarray, dt: float, method: str = "bilinear"
) -> tuple[np.ndarray, np.ndarray]:
    """Discretise ``(A (N, N), B (N,) or (N, M))`` with step ``dt`` by ``method``.

    Returns ``(A_bar (N, N), B_bar)`` with ``B_bar`` shaped like ``B``. Works for real and
    complex matrices. Aliases: ``euler`` = forward, ``tustin``/``gbt`` = bilinear.
    """
    method = _ALIASES.get(method, method) if isinstance(method, str) else method
    check_choice("discretisation method", method, DISCRETIZATIONS)
    dt = check_real("dt", dt, positive=True)
    A = np.asarray(A)
    B = np.asarray(B)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix (N, N), got shape {A.shape}")
    N = A.shape[0]
    if B.ndim not in (1, 2) or B.shape[0] != N:
        raise ValueError(f"B must have shape ({N},) or ({N}, M) to match A, got {B.shape}")
    column = B.reshape(N, -1)
    eye = np.eye(N, dtype=np.result_type(A, 1.0))
    if method == "forward":
        Ad, Bd = eye + dt * A, dt * column
    elif method == "backward":
        lhs = eye - dt * A
        Ad, Bd = linalg.solve(lhs, eye), linalg.solve(lhs, dt * column)
    elif method == "bilinear":
        lhs = eye - dt / 2 * A
        Ad, Bd = linalg.solve(lhs, eye + dt / 2 * A), linalg.solve(lhs, dt * column)
    else:
        M = column.shape[1]
        block = np.zeros((N + M, N + M), dtype=np.result_type(A, column, 1.0))
        block[:N, :N] = A
        block[:N, N:] = column
        expo = linalg.expm(dt * block)
        Ad, Bd = expo[:N, :N], expo[:N, N:]
    return Ad, Bd.reshape(B.shape)
