"""The "torch" backend (module ``blocked``): pure torch, memory-efficient, the CPU default.

Cauchy. out[b, e, l] = sum_n V[b, e, n] R[b, n, l] with R = 1 / (z_l - W_n). R is built one
cache-sized block (Bc, N, Lc) at a time and reduced at once, so peak memory is
O(B (N + L) + block) instead of O(B N L). The backward recomputes R blockwise (nothing of size
N L is saved) and needs, with h = conj(grad_out),
    grad_V[b, e, n] = conj(sum_l h[b, e, l] R[b, n, l])
    grad_W[b, n]    = conj(sum_e V[b, e, n] sum_l h[b, e, l] R[b, n, l]^2)
    grad_z[b, l]    = -conj(sum_e h[b, e, l] sum_n V[b, e, n] R[b, n, l]^2)
(PyTorch's convention for a holomorphic map: grad_in = grad_out * conj(d out / d in)). The
conjugate pair term is handled by stacking [v, conj v] and [w, conj w] outside the Function, so
autograd applies the conj chain rule.

Vandermonde. l = q Lc + j splits exp(x l) = exp(x q Lc) exp(x j): a (N, Q) factor and a (N, Lc)
factor, both computed directly with exp (no long cumulative products, so no error growth).
    out[b, e, q, j] = sum_n (V[b, e, n] exp(x_n q Lc)) exp(x_n j)
is then one batched complex matmul (E Q, N) @ (N, Lc); the transpose reduction
sum_l u_l exp(x_n l) is the mirror matmul (E Q, Lc) @ (Lc, N) followed by a weighted sum over q.
For conj=True on complex inputs both matmuls of the op and its backward are real ones (see
``_VandermondeRealFn``). Memory is O(B N sqrt(L)) besides inputs and outputs. Where the
tables are small (short L, few rows) both come from one running product in float64 instead
(:mod:`ssm_kernels.vandermonde_short`): there a call's cost is its number of ops.
"""

from __future__ import annotations

import functools
import math

import torch
from torch.autograd.function import once_differentiable

from ssm_kernels._layout import broadcast_shapes, make_layout
from ssm_kernels.conj_pair import CauchyPairFn
from ssm_kernels.vandermonde_short import (
    short_tables,
    short_tables_fit,
    vandermonde_short_backward,
    vandermonde_short_forward,
)

# Elements of complex scratch per block: ~1-2 MB, sized to stay in L2 (measured in s4-bench).
_BLOCK_ELEMS = 1 << 17
_CAUCHY_LC = 128
_TWO_PI = 2 * math.pi


def _cauchy_blocks(RB: int, N: int, L: int):
    """Yield (batch, state, length) slices tiling (RB, N, L) in blocks of ~_BLOCK_ELEMS.

    The length block is fixed (_CAUCHY_LC); the state is split only when N alone overflows
    the budget (large N), otherwise several batch rows share a block.
    """
    lc = min(L, _CAUCHY_LC)
    nc = min(N, max(1, _BLOCK_ELEMS // lc))
    bc = max(1, min(RB, _BLOCK_ELEMS // (nc * lc)))
    for b0 in range(0, RB, bc):
        for l0 in range(0, L, lc):
            for n0 in range(0, N, nc):
                yield slice(b0, b0 + bc), slice(n0, n0 + nc), slice(l0, l0 + lc)


def _contract_n(R: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """sum_n V[b, e, n] R[b, n, l] -> (b, e, l). Elementwise for one row (faster than matvec)."""
    if V.shape[1] == 1:
        return R.mul(V[:, 0, :, None]).sum(dim=1, keepdim=True)
    return torch.matmul(V, R)


def _contract_l(R: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """sum_l R[b, n, l] h[b, e, l] -> (b, n, e)."""
    if h.shape[1] == 1:
        return R.mul(h).sum(dim=-1, keepdim=True)
    return torch.matmul(R, h.transpose(-1, -2))


def _cauchy_resolvent(z: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """R[b, n, l] = 1 / (z[b, l] - W[b, n]) for one block; z (b or 1, lc), W (b, N)."""
    return (z[:, None, :] - W[:, :, None]).reciprocal_()


def cauchy_forward_blocks(V: torch.Tensor, z: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """V (RB, E, N), z (1 or RB, L), W (RB, N) -> out (RB, E, L), blockwise."""
    RB, E, N = V.shape
    L = z.shape[-1]
    out = torch.zeros(RB, E, L, dtype=V.dtype, device=V.device)
    for b, n, l in _cauchy_blocks(RB, N, L):
        zb = z[:, l] if z.shape[0] == 1 else z[b, l]
        R = _cauchy_resolvent(zb, W[b, n])
        out[b, :, l] += _contract_n(R, V[b, :, n])
    return out


class _CauchyFn(torch.autograd.Function):
    """Holomorphic core: out[b, e, l] = sum_n V[b, e, n] / (z[b, l] - W[b, n])."""

    @staticmethod
    def forward(ctx, V, z, W):  # type: ignore[override]
        ctx.save_for_backward(V, z, W)
        return cauchy_forward_blocks(V, z, W)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        V, z, W = ctx.saved_tensors
        need_v, need_z, need_w = ctx.needs_input_grad[:3]
        RB, E, N = V.shape
        L = z.shape[-1]
        h = grad_out.conj()
        acc_v = torch.zeros(RB, N, E, dtype=V.dtype, device=V.device) if need_v else None
        acc_w = torch.zeros(RB, N, E, dtype=V.dtype, device=V.device) if need_w else None
        grad_z = torch.zeros(RB, L, dtype=V.dtype, device=V.device) if need_z else None
        for b, n, l in _cauchy_blocks(RB, N, L):
            zb = z[:, l] if z.shape[0] == 1 else z[b, l]
            R = _cauchy_resolvent(zb, W[b, n])
            hb = h[b, :, l]
            if need_v:
                acc_v[b, n] += _contract_l(R, hb)
            if need_w or need_z:
                R2 = R.mul_(R)
                if need_w:
                    acc_w[b, n] += _contract_l(R2, hb)
                if need_z:
                    s = _contract_n(R2, V[b, :, n])  # (b, E, lc)
                    grad_z[b, l] -= (s * hb).sum(dim=1)
        gv = acc_v.transpose(1, 2).conj() if need_v else None
        gw = (V * acc_w.transpose(1, 2)).sum(dim=1).conj() if need_w else None
        gz = None
        if need_z:
            gz = grad_z.conj()
            if z.shape[0] == 1:
                gz = gz.sum(dim=0, keepdim=True)
        return gv, gz, gw


def cauchy(v: torch.Tensor, z: torch.Tensor, w: torch.Tensor, conj: bool = True) -> torch.Tensor:
    """out[..., l] = sum_n v[..., n] / (z[..., l] - w[..., n])  (+ conj(v) / (z - conj(w))).

    v, w: (..., N); z: (..., L); one complex dtype (checked by the caller). Returns (..., L).
    """
    full = broadcast_shapes(v.shape[:-1], z.shape[:-1], w.shape[:-1])
    layout = make_layout(full, w.shape[:-1], z.shape[:-1])
    V = layout.rows_first(v)
    W = layout.pole_only(w)
    Z = z.reshape(1, -1) if z.dim() == 1 else layout.pole_only(z)
    # the pair v/(z - w) + conj(v)/(z - conj w) shares one denominator: see conj_pair
    out = CauchyPairFn.apply(V, Z, W) if conj else _CauchyFn.apply(V, Z, W)
    return layout.restore(out)


# ------------------------------------------------------------------------------------------
# Vandermonde


def _vdm_split(L: int) -> tuple[int, int]:
    """Block length Lc ~ sqrt(L) (a power of two) and block count Q = ceil(L / Lc)."""
    lc = 1 << max(0, math.ceil(math.log2(max(1, math.isqrt(L)))))
    return lc, -(-L // lc)


def _polar(r: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    return torch.complex(r * torch.cos(phase), r * torch.sin(phase))


def _exp_steps(X: torch.Tensor, steps: torch.Tensor, steps_first: bool = False) -> torch.Tensor:
    """exp(X[b, n] s) for the steps s (S,) float64: (b, N, S) in X's dtype, or (b, S, N) when
    ``steps_first``.

    The phase Im(X) s is formed in float64 and reduced mod 2 pi before rounding: in float32,
    rounding Im(X) l costs a phase error ~ l |Im X| 6e-8 that grows with l (1e-3 at l ~ 4096
    for |Im X| ~ 10). The decay Re(X) s only loses relative accuracy |Re(X) s| 6e-8 of
    exp(Re(X) s), which is tiny wherever that factor is not itself negligible.

    Decay factors below sqrt(tiny) of the dtype are set to 0: their terms are far below the
    working precision of any sum they enter, while their products are subnormal numbers, on
    which the matmuls downstream run ~10x slower (measured: 5.3 against 0.6 ms a block at
    L=4096)."""
    if not X.is_complex():
        X, steps = _against_steps(X, steps, steps_first)
        return _flushed_exp(X * steps.to(X.dtype))
    return _polar(*_decay_phase(X, steps, steps_first))


def _against_steps(X: torch.Tensor, steps: torch.Tensor, steps_first: bool):
    """X (b, N) and steps (S,) as the broadcast pair of an outer product (b, N, S) or
    (b, S, N)."""
    if steps_first:
        return X[:, None, :], steps[:, None]
    return X[:, :, None], steps


def _decay_phase(
    X: torch.Tensor, steps: torch.Tensor, steps_first: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """exp(Re(X) s) (flushed below sqrt(tiny)) and Im(X) s mod 2 pi (formed in float64), both
    (b, N, S) (or (b, S, N)) in X's real dtype, for complex X (b, N): see :func:`_exp_steps`."""
    real = X.real.dtype
    X, steps = _against_steps(X, steps, steps_first)
    decay = _flushed_exp(X.real * steps.to(real))
    phase = X.imag.double() * steps
    turns = torch.mul(phase, 1 / _TWO_PI).floor_()
    phase = phase.sub_(turns, alpha=_TWO_PI).to(real)  # mod 2 pi, in place (no 8-byte temporaries)
    return decay, phase


def _flush_tiny(decay: torch.Tensor) -> torch.Tensor:
    """decay with entries below sqrt(tiny) (1e-19 in float32) set to 0, in place."""
    return torch.nn.functional.threshold_(decay, torch.finfo(decay.dtype).tiny ** 0.5, 0.0)


def _flushed_exp(exponent: torch.Tensor) -> torch.Tensor:
    """``_flush_tiny(exp(exponent))`` for a real exponent (overwritten, in place), clamping it
    first to just below log(sqrt(tiny)): every clamped entry is flushed to 0 either way, and
    exp itself never underflows. Why: exp of arguments past underflow (< -87 in float32,
    common at long L, Re(x) l ~ -200) leaves the vectorised path, ~30x slower (measured:
    11 ms against 0.3 ms for 1M float32 entries)."""
    floor = 0.5 * math.log(torch.finfo(exponent.dtype).tiny) - 1.0
    return _flush_tiny(torch.exp(exponent.clamp_(min=floor), out=exponent))


def _vdm_factors(X: torch.Tensor, lc: int, Q: int) -> tuple[torch.Tensor, torch.Tensor]:
    """P[b, n, q] = exp(X q Lc), Ej[b, n, j] = exp(X j); X (b, N)."""
    steps = _vdm_steps(Q, lc, X.device)
    return _exp_steps(X, steps[:Q]), _exp_steps(X, steps[Q:])


def _vdm_rows_per_chunk(E: int, N: int, L: int) -> int:
    return max(1, (4 * _BLOCK_ELEMS) // max(1, E * (L + N) + N * int(math.isqrt(L) + 1)))


def vandermonde_forward_blocks(V: torch.Tensor, X: torch.Tensor, L: int) -> torch.Tensor:
    """out[b, e, l] = sum_n V[b, e, n] exp(X[b, n] l); V (RB, E, N), X (RB, N)."""
    RB, E, N = V.shape
    lc, Q = _vdm_split(L)
    out = torch.empty(RB, E, L, dtype=V.dtype, device=V.device)
    bc = _vdm_rows_per_chunk(E, N, L)
    for b0 in range(0, RB, bc):
        b1 = min(RB, b0 + bc)
        P, Ej = _vdm_factors(X[b0:b1], lc, Q)
        A = V[b0:b1, :, None, :] * P.transpose(1, 2)[:, None]  # (b, E, Q, N)
        blk = torch.matmul(A.reshape(b1 - b0, E * Q, N), Ej)  # (b, E Q, lc)
        out[b0:b1] = blk.reshape(b1 - b0, E, Q * lc)[:, :, :L]
    return out


def vandermonde_reduce_blocks(
    U: torch.Tensor, X: torch.Tensor, L: int, with_l: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """S[b, e, n] = sum_l U[b, e, l] exp(X[b, n] l) and, if with_l, T = sum_l U l exp(X l)."""
    RB, E, _ = U.shape
    N = X.shape[-1]
    lc, Q = _vdm_split(L)
    S = torch.empty(RB, E, N, dtype=U.dtype, device=U.device)
    T = torch.empty(RB, E, N, dtype=U.dtype, device=U.device) if with_l else None
    bc = _vdm_rows_per_chunk(E, N, L)
    real = X.real.dtype
    j = torch.arange(lc, device=X.device, dtype=real)
    qlc = torch.arange(Q, device=X.device, dtype=real) * lc
    for b0 in range(0, RB, bc):
        b1 = min(RB, b0 + bc)
        nb = b1 - b0
        P, Ej = _vdm_factors(X[b0:b1], lc, Q)
        Ub = U[b0:b1]
        if Q * lc != L:
            Ub = torch.nn.functional.pad(Ub, (0, Q * lc - L))
        Ub = Ub.reshape(nb, E * Q, lc)
        M = torch.matmul(Ub, Ej.transpose(1, 2)).reshape(nb, E, Q, N)  # sum_j u exp(x j)
        Pt = P.transpose(1, 2)[:, None]  # (b, 1, Q, N)
        S[b0:b1] = (M * Pt).sum(dim=2)
        if with_l:
            Mj = torch.matmul(Ub, (Ej * j).transpose(1, 2)).reshape(nb, E, Q, N)
            T[b0:b1] = (Mj * Pt).sum(dim=2) + (M * (Pt * qlc[:, None])).sum(dim=2)
    return S, T


# The conjugate-pair Vandermonde 2 Re(sum_n v_n exp(x_n l)) of complex inputs (the S4D and
# S4 kernels) has a real output, and its gradient is real: each of its matmuls is a real
# one (half the multiply-adds of a complex matmul, and on CPU MKL's real batched GEMM
# instead of torch's per-matrix loop for complex bmm; fwd+bwd 1.7-2.9x faster at H=256, N=32,
# one or four rows, L=256 and 4096, measured against the complex path).
#     out[b, e, q Lc + j] = sum_n Re(A[b, e, q, n] Ej[b, n, j]),  A = V[b, e, n] P[b, q, n]
#                         = A_ri (E Q, 2N) @ [2 Re Ej; -2 Im Ej] (2N, Lc)   (A_ri: (re, im) pairs)
# and with h = grad_out (real), the reduction of the holomorphic backward becomes
#     M[b, e, q, n] = sum_j h[b, e, q Lc + j] 2 Ej[b, n, j]   (real (E Q, Lc) @ complex (Lc, N))


def _vdm_real_factors(X: torch.Tensor, L: int) -> dict[str, torch.Tensor]:
    """The factors of the real-output forward for X (b, N) complex beyond the short tables
    (:func:`short_tables_fit`): P (b, Q, N) = exp(X q Lc) (complex) and ``fwd`` (b, 2N, Lc)
    real, per n the rows (2 Re Ej_n, -2 Im Ej_n) of Ej = exp(X j) that take (re, im) pairs to
    2 Re of the product. Two tables, each in the layout its matmul reads."""
    lc, Q = _vdm_split(L)
    b, N = X.shape
    steps = _vdm_steps(Q, lc, X.device)
    q, j = steps[:Q], steps[Q:]
    P = _exp_steps(X, q, steps_first=True)  # (b, Q, N)
    # the rows (2 Re, -2 Im) of Ej = exp(X j) straight from its decay and phase: with the
    # phase of conj(X), they are 2 r cos and 2 r sin (no complex Ej, no transposing copy)
    decay, phase = _decay_phase(X.conj(), j)  # (b, N, Lc)
    fwd = torch.empty(b, N, 2, lc, dtype=decay.dtype, device=X.device)
    decay.mul_(2)
    torch.mul(decay, torch.cos(phase), out=fwd[:, :, 0])
    torch.mul(decay, torch.sin(phase), out=fwd[:, :, 1])
    return {"P": P, "fwd": fwd.view(b, 2 * N, lc)}


@functools.cache
def _vdm_steps(Q: int, lc: int, device: torch.device) -> torch.Tensor:
    """The steps q Lc (q < Q) then j (j < Lc), float64 (Q + Lc,): built once per split and
    device (read-only; an arange and a product cost a dispatch each, every call)."""
    q = torch.arange(Q, device=device, dtype=torch.float64) * lc
    return torch.cat([q, torch.arange(lc, device=device, dtype=torch.float64)])


def _vdm_real_backward_factor(fwd: torch.Tensor, with_l: bool) -> torch.Tensor:
    """(b, Lc, 2N or 4N) real, a transposed view: 2 Ej^T as (re, im) pairs, then 2 j Ej^T
    when ``with_l``, the right factors of the backward's matmul, from the forward's ``fwd``
    (b, 2N, Lc) (rows 2 Re, -2 Im): one sign flip, contiguous, no transposing copy (the
    matmul takes the transposed view as it is)."""
    b, N2x, lc = fwd.shape
    rows = torch.empty(b, 1 + with_l, N2x // 2, 2, lc, dtype=fwd.dtype, device=fwd.device)
    # a copy and an in-place negation of the Im rows: a product with broadcast signs (2, 1)
    # into this strided out= runs a slow loop (measured at (64, 32, 2, 8): 68 against 16 us)
    rows[:, 0].copy_(fwd.view(b, N2x // 2, 2, lc))
    rows[:, 0, :, 1].neg_()
    if with_l:
        torch.mul(rows[:, 0], _arange_table(lc, fwd.dtype, fwd.device), out=rows[:, 1])
    return rows.view(b, -1, lc).transpose(1, 2)


@functools.cache
def _arange_table(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """0, 1, ..., n - 1 (read-only, built once per length, dtype and device)."""
    return torch.arange(n, device=device, dtype=dtype)


def _vdm_scratch_rows(RB: int, per_row: int) -> int:
    """Pole rows per chunk of the real-output Vandermonde: its scratch (``per_row`` complex
    elements a row) stays ~_BLOCK_ELEMS, one buffer reused by every chunk. Why: on CPU a
    fresh multi-MB temporary per call is mostly page faults (measured: the backward matmul at
    H=256, L=256 took 3.7 ms writing a fresh 8 MB output against 0.3 ms into a warm one)."""
    return max(1, min(RB, _BLOCK_ELEMS // max(1, per_row)))


def vandermonde_real_forward(V: torch.Tensor, F: dict, L: int) -> torch.Tensor:
    """out[b, e, l] = 2 Re(sum_n V[b, e, n] exp(X[b, n] l)); V (RB, E, N) complex, F from
    :func:`_vdm_real_factors`. Returns (RB, E, L) real."""
    RB, E, N = V.shape
    P, fwd = F["P"], F["fwd"]
    Q, lc = P.shape[1], fwd.shape[-1]
    out = torch.empty(RB, E, L, dtype=V.real.dtype, device=V.device)
    bc = _vdm_scratch_rows(RB, E * Q * (N + lc))
    A_buf = torch.empty(bc, E, Q, N, dtype=V.dtype, device=V.device)
    blk_buf = None if Q * lc == L else torch.empty(bc, E * Q, lc, dtype=out.dtype, device=V.device)
    for b0 in range(0, RB, bc):
        b1 = min(RB, b0 + bc)
        nb = b1 - b0
        A = torch.mul(V[b0:b1, :, None, :], P[b0:b1, None], out=A_buf[:nb])  # (b, E, Q, N)
        A_ri = torch.view_as_real(A).view(nb, E * Q, 2 * N)
        if blk_buf is None:  # the matmul writes the output rows in place
            torch.bmm(A_ri, fwd[b0:b1], out=out[b0:b1].view(nb, E * Q, lc))
        else:
            blk = torch.bmm(A_ri, fwd[b0:b1], out=blk_buf[:nb])  # (b, E Q, lc)
            out[b0:b1] = blk.view(nb, E, Q * lc)[:, :, :L]
    return out


def vandermonde_real_backward(
    h: torch.Tensor, V: torch.Tensor, F: dict, L: int, need_v: bool, need_x: bool
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Gradients of :func:`vandermonde_real_forward` for grad_out h (RB, E, L) real:
    grad_V = conj(S), grad_X = conj(sum_e V T) with S = sum_l 2 h_l exp(X l) and
    T = sum_l 2 h_l l exp(X l) (the holomorphic rule applied to out = 2 Re(.)); F holds the
    factors P and fwd of the forward."""
    RB, E, N = V.shape
    P = F["P"]
    Q, lc = P.shape[1], F["fwd"].shape[-1]
    parts = 1 + need_x  # M, and Mj when grad_X is needed
    rhs = _vdm_real_backward_factor(F["fwd"], with_l=need_x)
    if need_x:
        qlc = _arange_table(Q, P.real.dtype, V.device)[:, None] * lc
    gv = torch.empty(RB, E, N, dtype=V.dtype, device=V.device) if need_v else None
    gx = torch.empty(RB, N, dtype=V.dtype, device=V.device) if need_x else None
    bc = _vdm_scratch_rows(RB, E * Q * (parts * N + N) + E * Q * lc // 2)
    M_buf = torch.empty(bc, E * Q, 2 * N * parts, dtype=h.dtype, device=V.device)
    prod_buf = torch.empty(bc, E, Q, N, dtype=V.dtype, device=V.device)
    pad = Q * lc - L
    h_buf = torch.zeros(bc, E, Q * lc, dtype=h.dtype, device=V.device) if pad else None
    for b0 in range(0, RB, bc):
        b1 = min(RB, b0 + bc)
        nb = b1 - b0
        hb = h[b0:b1]
        if h_buf is not None:  # zero tail beyond L (written once, never overwritten)
            hb = h_buf[:nb]
            hb[:, :, :L] = h[b0:b1]
        Mall = torch.bmm(hb.reshape(nb, E * Q, lc), rhs[b0:b1], out=M_buf[:nb])
        Mall = Mall.view(nb, E, Q, parts, N, 2)
        M = torch.view_as_complex(Mall[:, :, :, 0])  # (b, E, Q, N): sum_j h 2 exp(x j)
        Pb = P[b0:b1, None]  # (b, 1, Q, N)
        prod = prod_buf[:nb]
        if need_v:
            gv[b0:b1] = torch.mul(M, Pb, out=prod).sum(dim=2).conj()
        if need_x:
            # T = sum_q (Mj + q Lc M) P_q, Mj = sum_j h 2 j exp(x j)
            Mj = torch.view_as_complex(Mall[:, :, :, 1])
            T = torch.addcmul(Mj, M, qlc, out=prod).mul_(Pb).sum(dim=2)
            gx[b0:b1] = (V[b0:b1] * T).sum(dim=1).conj()
    return gv, gx


class _VandermondeRealFn(torch.autograd.Function):
    """out[b, e, l] = 2 Re(sum_n V[b, e, n] exp(X[b, n] l)) for complex V, X (real out):
    short tables where they fit (:func:`short_tables_fit`), else the two blocked tables."""

    @staticmethod
    def forward(ctx, V, X, L):  # type: ignore[override]
        lc, Q = _vdm_split(L)
        ctx.L, ctx.short = L, short_tables_fit(X.shape[0], X.shape[1], lc, Q)
        if ctx.short:
            Ejc2, P = short_tables(X, lc, Q)
            ctx.save_for_backward(V, P, Ejc2)
            return vandermonde_short_forward(V, P, Ejc2, L)
        F = _vdm_real_factors(X, L)
        ctx.save_for_backward(V, F["P"], F["fwd"])
        return vandermonde_real_forward(V, F, L)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        V, P, table = ctx.saved_tensors
        need_v, need_x = ctx.needs_input_grad[:2]
        if not (need_v or need_x):
            return None, None, None
        if ctx.short:  # reads grad_out once, into its matmul operand: any strides
            gv, gx = vandermonde_short_backward(grad_out, V, P, table, ctx.L, need_v, need_x)
        else:
            h = grad_out.contiguous()
            gv, gx = vandermonde_real_backward(h, V, {"P": P, "fwd": table}, ctx.L, need_v, need_x)
        return gv, gx, None


class _VandermondeFn(torch.autograd.Function):
    """Holomorphic core: out[b, e, l] = sum_n V[b, e, n] exp(X[b, n] l)."""

    @staticmethod
    def forward(ctx, V, X, L):  # type: ignore[override]
        ctx.save_for_backward(V, X)
        ctx.L = L
        return vandermonde_forward_blocks(V, X, L)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        V, X = ctx.saved_tensors
        need_v, need_x = ctx.needs_input_grad[:2]
        if not (need_v or need_x):
            return None, None, None
        S, T = vandermonde_reduce_blocks(grad_out.conj(), X, ctx.L, with_l=need_x)
        gv = S.conj() if need_v else None
        gx = (V * T).sum(dim=1).conj() if need_x else None
        return gv, gx, None


class _VandermondeReduceFn(torch.autograd.Function):
    """Holomorphic core: S[b, e, n] = sum_l U[b, e, l] exp(X[b, n] l)."""

    @staticmethod
    def forward(ctx, U, X, L):  # type: ignore[override]
        ctx.save_for_backward(U, X)
        ctx.L = L
        return vandermonde_reduce_blocks(U, X, L)[0]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        U, X = ctx.saved_tensors
        need_u, need_x = ctx.needs_input_grad[:2]
        h = grad_out.conj()
        gu = vandermonde_forward_blocks(h, X, ctx.L).conj() if need_u else None
        gx = None
        if need_x:
            _, T = vandermonde_reduce_blocks(U, X, ctx.L, with_l=True)
            gx = (h * T).sum(dim=1).conj()
        return gu, gx, None


def vandermonde(v: torch.Tensor, x: torch.Tensor, L: int, conj: bool = True) -> torch.Tensor:
    """out[..., l] = sum_n v[..., n] exp(x[..., n] l); 2 Re(out) when conj.

    v, x: (..., N) of one complex dtype. Returns (..., L), real when conj else complex.
    """
    full = broadcast_shapes(v.shape[:-1], x.shape[:-1])
    layout = make_layout(full, x.shape[:-1])
    V, X = layout.rows_first(v), layout.pole_only(x)
    if conj and V.is_complex() and X.is_complex():
        return layout.restore(_VandermondeRealFn.apply(V, X, L))
    out = layout.restore(_VandermondeFn.apply(V, X, L))
    return 2 * out.real if conj else out


def vandermonde_transpose(
    u: torch.Tensor, v: torch.Tensor, x: torch.Tensor, L: int
) -> torch.Tensor:
    """out[..., n] = v[..., n] sum_l u[..., l] exp(x[..., n] l).

    u: (..., L); v, x: (..., N); one complex dtype. Returns (..., N) complex.
    """
    full = broadcast_shapes(u.shape[:-1], v.shape[:-1], x.shape[:-1])
    layout = make_layout(full, x.shape[:-1])
    S = layout.restore(_VandermondeReduceFn.apply(layout.rows_first(u), layout.pole_only(x), L))
    return v * S
