"""The real-output Vandermonde's short tables: the block powers as running products in
float64, for the "torch" backend (:mod:`ssm_kernels.blocked` picks them where they fit).

At short L a call is bound by its number of ops, not their size (~5-10 us an op on this
project's CPU), and the strided writes of the two-table path's (2 Re, -2 Im) rows cost as
much as its arithmetic. Up to a table size (short_tables_fit) both tables are instead
running products of two bases, one cumprod in float64:
    Ejc2[b, j, n] = 2 conj(exp(x_n j)) = 2 exp(conj(x_n))^j,   P[b, q, n] = exp(x_n Lc)^q
(float64 keeps the Q + Lc products exact to the final rounding, so the phase error does not
grow with l). Both are (b, steps, N) complex, the layout whose real view the matmuls read
without a copy, and the factor 2 and the conjugate of the real output 2 Re(.) are in Ejc2:
    out[b, e, q Lc + j] = sum_n 2 Re(A Ej) = A_ri (E Q, 2N) @ Ejc2_ri^T (2N, Lc),  A = V P
since Re(A) 2 Re(Ej) - Im(A) 2 Im(Ej) pairs (Re A, Im A) with (Re, Im) of 2 conj(Ej).
The backward's reduction sum_j 2 h_j Ej is conjugated by the same table (see
vandermonde_short_backward). Decays are not flushed here: on this project's CPU a flush
costs more than the subnormal products it avoids (measured: a subnormal (64, 5, 64) matmul
21 against 15 us, a flush of the (64, 2, 8, 32) table 45 us; the ratios in short_tables_fit
are with decays down to Re(x) = -0.5, most of whose products underflow at L = 4096).
"""

from __future__ import annotations

import functools

import torch

_SHORT_TABLE_ELEMS = 1 << 20  # float64 table entries (16 MB): see short_tables_fit


def short_tables_fit(b: int, N: int, lc: int, Q: int) -> bool:
    """Whether the short tables serve (b, N) poles at block length Lc and Q blocks: their
    float64 table (b, 2, max(Lc, Q), N) stays within _SHORT_TABLE_ELEMS, e.g. up to L = 4096
    at H = 256, N/2 = 32. Measured against the two tables, forward + backward, one row: 0.80
    (H = 64, L = 40), 0.81 (H = 64, L = 256), 0.73 (H = 64, L = 4096), 0.89 (H = 256,
    L = 1024), 0.96 (H = 256, L = 4096); beyond the limit the two tables hold less scratch."""
    return b * N * 2 * max(lc, Q) <= _SHORT_TABLE_ELEMS


@functools.cache
def _short_table_constants(
    lc: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Read-only, built once per block length and device: the (2, 1) float64 scales of Re(x)
    and Im(x) in the two bases' exponents, conj(x) (1, -1) and x Lc (Lc, Lc), and the tables'
    first entries (1, 2, 1, 1) complex128: 2 (the factor 2 of 2 conj(Ej), carried along the
    running product) and 1."""
    decay = torch.tensor([[1.0], [float(lc)]], dtype=torch.float64, device=device)
    phase = torch.tensor([[-1.0], [float(lc)]], dtype=torch.float64, device=device)
    first = torch.tensor([2.0, 1.0], dtype=torch.complex128, device=device).view(1, 2, 1, 1)
    return decay, phase, first


def short_tables(X: torch.Tensor, lc: int, Q: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Ejc2 (b, Lc, N) = 2 conj(exp(X j)) and P (b, Q, N) = exp(X q Lc) in X's complex dtype,
    for X (b, N) complex: running products of exp(conj X) and exp(X Lc) in float64 (see the
    module docstring)."""
    b, N = X.shape
    steps = max(lc, Q, 2)
    decay_scale, phase_scale, first = _short_table_constants(lc, X.device)
    # the two bases (b, 2, N), float64 by promotion (torch.polar computes them ~2x slower)
    decay = torch.mul(X.real[:, None, :], decay_scale).exp_()
    phase = torch.mul(X.imag[:, None, :], phase_scale)
    base = torch.complex(decay * torch.cos(phase), decay.mul_(torch.sin(phase)))
    # [first, base, base, ...] along the steps in one write, then the running product
    table = torch.cat(
        [first.expand(b, 2, 1, N), base[:, :, None].expand(b, 2, steps - 1, N)], dim=2
    )
    table = table.cumprod_(dim=2).to(X.dtype)
    return table[:, 0, :lc], table[:, 1, :Q]


@functools.cache
def _short_steps(
    Q: int, lc: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """j = l mod Lc for l < Q Lc (Q Lc,) and the block starts q Lc (Q, 1), the backward's
    weights (read-only, built once per split, dtype and device)."""
    j = torch.arange(lc, device=device, dtype=dtype)
    return j.repeat(Q), (torch.arange(Q, device=device, dtype=dtype) * lc)[:, None]


def vandermonde_short_forward(
    V: torch.Tensor, P: torch.Tensor, Ejc2: torch.Tensor, L: int
) -> torch.Tensor:
    """out[b, e, l] = 2 Re(sum_n V[b, e, n] exp(X[b, n] l)) from the short tables
    (:func:`short_tables`); V (RB, E, N) complex. Returns (RB, E, L) real."""
    RB, E, N = V.shape
    Q, lc = P.shape[1], Ejc2.shape[1]
    A = torch.empty(RB, E, Q, N, dtype=V.dtype, device=V.device)  # contiguous, as viewed below
    torch.mul(V[:, :, None, :], P[:, None], out=A)
    A_ri = torch.view_as_real(A).view(RB, E * Q, 2 * N)
    rhs = torch.view_as_real(Ejc2).view(RB, lc, 2 * N).transpose(1, 2)  # (RB, 2N, Lc)
    if Q * lc == L:  # the matmul writes the output rows in place
        out = torch.empty(RB, E, L, dtype=V.real.dtype, device=V.device)
        torch.bmm(A_ri, rhs, out=out.view(RB, E * Q, lc))
        return out
    return torch.bmm(A_ri, rhs).view(RB, E, Q * lc)[:, :, :L].contiguous()


def vandermonde_short_backward(
    h: torch.Tensor,
    V: torch.Tensor,
    P: torch.Tensor,
    Ejc2: torch.Tensor,
    L: int,
    need_v: bool,
    need_x: bool,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Gradients of :func:`vandermonde_short_forward` for grad_out h (RB, E, L) real (any
    strides: it is read once, into the matmul operand), as
    :func:`ssm_kernels.blocked.vandermonde_real_backward`: grad_V = conj(S) and
    grad_X = conj(sum_e V T) with
    S = sum_q P_q M_q, T = sum_q P_q (Mj_q + q Lc M_q), M_q = sum_j 2 h_(q Lc + j) Ej and
    Mj_q = sum_j 2 h j Ej. One real matmul with Ejc2 yields conj(M) and conj(Mj):
        conj(S) = sum_q conj(P_q) conj(M_q)
        conj(T) = sum_q conj(P_q) (conj(Mj_q) + q Lc conj(M_q))
    """
    RB, E, N = V.shape
    Q, lc = P.shape[1], Ejc2.shape[1]
    parts = 1 + need_x  # h, and h j when grad_X is needed
    j_of_l, starts = _short_steps(Q, lc, h.dtype, h.device)
    make = torch.empty if Q * lc == L else torch.zeros  # zero tail beyond L
    lhs = make(RB, parts, E, Q * lc, dtype=h.dtype, device=h.device)
    lhs[:, 0, :, :L] = h
    if need_x:
        torch.mul(lhs[:, 0], j_of_l, out=lhs[:, 1])
    rhs = torch.view_as_real(Ejc2).view(RB, lc, 2 * N)
    prod = torch.bmm(lhs.view(RB, parts * E * Q, lc), rhs)  # (RB, parts E Q, 2N)
    Mc = torch.view_as_complex(prod.view(RB, parts, E, Q, N, 2))  # conj(M), conj(Mj)
    Pc = P.conj()[:, None]  # (RB, 1, Q, N)
    gv = (Mc[:, 0] * Pc).sum(dim=2) if need_v else None
    gx = None
    if need_x:
        T_conj = torch.addcmul(Mc[:, 1], Mc[:, 0], starts).mul_(Pc).sum(dim=2)
        gx = (V.conj() * T_conj).sum(dim=1)
    return gv, gx
