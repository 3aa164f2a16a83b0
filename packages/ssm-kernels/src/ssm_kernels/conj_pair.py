"""Cauchy with the conjugate pair folded into one real-coefficient term (the ``conj=True`` path
of the "torch" backend).

S4 evaluates every pole together with its conjugate. The two terms share one denominator:

    v / (z - w) + conj(v) / (z - conj(w)) = (a z - b) / D,
    a = 2 Re(v),  b = 2 Re(v conj(w)),  D = (z - w)(z - conj(w)),

so  out[b, e, l] = z_l Sa[b, e, l] - Sb[b, e, l]  with  Sa = sum_n a R, Sb = sum_n b R and
R[b, n, l] = 1 / D[b, n, l]: one complex reciprocal per pole instead of two, and weights a, b
that are real, so both sums are one *real* batched matmul  [a; b] @ [Re R | Im R].

D is formed from the differences, never from z^2 - 2 Re(w) z + |w|^2 (which cancels
catastrophically when z is near a pole): with p = Re z - Re w,
    Re D = p^2 - (Im z - Im w)(Im z + Im w),   Im D = 2 p Im z,
and R = conj(D) / |D|^2. Every temporary is a real (block, N, L_c) tensor: no complex
temporaries, nothing of size N L kept.

Backward (h = conj(grad_out), a real loss; for a real parameter t, dLoss/dt = Re sum h dout/dt).
With Q[n, l] = sum_e h[e, l] (a_en z_l - b_en) and M = Q R^2 (the adjoint of D is -M):
    gA[e, n] = Re sum_l h z R          gB[e, n] = -Re sum_l h R
    gC[n]    = Re sum_l M z            gD[n]    = -Re sum_l M        (c = 2 Re w, d = |w|^2)
    dz[l]    = sum_e h Sa - 2 z sum_n M + sum_n c M,   grad_z = conj(dz)
and, through a = 2 vr, b = 2 (vr wr + vi wi), c = 2 wr, d = wr^2 + wi^2:
    grad_v = 2 (gA + wr gB) + 2i wi gB
    grad_w = 2 (sum_e vr gB + gC + wr gD) + 2i (sum_e vi gB + wi gD).
The backward recomputes R block by block with the same tiling as the forward.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

# Real elements of one (rows, N, L_c) block: ~1 MB in float32 (the best of 2^15..2^19 x
# L_c 128..4096 in one side-by-side run, loaded machine; flat within noise from 2^17 up).
_BLOCK_ELEMS = 1 << 18
_LC = 1024


def _blocks(RB: int, N: int, L: int):
    """(row slice, length slice) tiling (RB, N, L); N is not split, so for large N the length
    block shrinks instead (a block stays ~_BLOCK_ELEMS, at least 16 positions long)."""
    lc = min(L, _LC, max(16, _BLOCK_ELEMS // max(1, N)))
    bc = max(1, min(RB, _BLOCK_ELEMS // max(1, N * lc)))
    for b0 in range(0, RB, bc):
        for l0 in range(0, L, lc):
            yield slice(b0, b0 + bc), slice(l0, l0 + lc)


def _resolvent(zr, zi, wr, wi) -> torch.Tensor:
    """R = 1 / ((z - w)(z - conj w)) as a real (b, N, 2 lc) tensor [Re R | Im R] per pole.

    zr, zi (b or 1, lc); wr, wi (b, N). Built from real parts in place (no complex
    temporaries); the planar layout feeds real matmuls without a copy.
    """
    b = max(zr.shape[0], wr.shape[0])
    N, lc = wr.shape[1], zr.shape[1]
    R = torch.empty(b, N, 2, lc, dtype=wr.dtype, device=wr.device)
    zr, zi, wr, wi = zr[:, None, :], zi[:, None, :], wr[:, :, None], wi[:, :, None]
    p = zr - wr
    # Re D = p^2 - (zi - wi)(zi + wi), computed as (wi - zi)(zi + wi) + p^2
    re = torch.sub(wi, zi, out=R[:, :, 0]).mul_(zi + wi).addcmul_(p, p)
    # -Im D = -2 p zi (the sign of conj(D) taken here)
    im = torch.mul(p, -2 * zi, out=R[:, :, 1])
    inv = (re * re).addcmul_(im, im).reciprocal_()
    re.mul_(inv)
    im.mul_(inv)
    return R.view(b, N, 2 * lc)


def _split(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return z.real.contiguous(), z.imag.contiguous()


def _flat(x: torch.Tensor) -> torch.Tensor:
    """(rows, K, lc) complex -> (rows, K, 2 lc) real [Re | Im]."""
    return torch.cat([x.real, x.imag], dim=-1)


def _unflat(x: torch.Tensor) -> torch.Tensor:
    """(rows, K, 2 lc) real [Re | Im] -> (rows, K, lc) complex."""
    lc = x.shape[-1] // 2
    return torch.complex(x[..., :lc], x[..., lc:])


def _square(R: torch.Tensor) -> torch.Tensor:
    """R^2 = (Rr^2 - Ri^2) + 2i Rr Ri, planar (b, N, 2 lc) in and out."""
    lc = R.shape[-1] // 2
    Rr, Ri = R[..., :lc], R[..., lc:]
    R2 = torch.empty_like(R)
    torch.mul(Rr, Rr, out=R2[..., :lc]).addcmul_(Ri, Ri, value=-1)
    torch.mul(Rr, Ri, out=R2[..., lc:]).mul_(2)
    return R2


def _weights(V: torch.Tensor, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """a = 2 Re v and b = 2 Re(v conj w) = 2 (vr wr + vi wi), each (RB, E, N) real."""
    a = 2 * V.real
    b = 2 * (V.real * W.real[:, None] + V.imag * W.imag[:, None])
    return a, b


def _grid(z: torch.Tensor, b: slice, l: slice) -> torch.Tensor:
    return z[:, None, l] if z.shape[0] == 1 else z[b, None, l]  # (rows or 1, 1, lc)


def folded_forward(V: torch.Tensor, z: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """V (RB, E, N), z (1 or RB, L), W (RB, N) -> (RB, E, L): sum_n (a z - b) / D."""
    RB, E, N = V.shape
    L = z.shape[-1]
    zr, zi = _split(z)
    wr, wi = _split(W)
    AB = torch.cat(_weights(V, W), dim=1)  # (RB, 2E, N): rows [a; b]
    out = torch.empty(RB, E, L, dtype=V.dtype, device=V.device)
    for b, l in _blocks(RB, N, L):
        zb = (zr[:, l], zi[:, l]) if zr.shape[0] == 1 else (zr[b, l], zi[b, l])
        R = _resolvent(*zb, wr[b], wi[b])
        S = _unflat(torch.bmm(AB[b], R))  # [Sa; Sb], (rows, 2E, lc)
        out[b, :, l] = _grid(z, b, l) * S[:, :E] - S[:, E:]
    return out


def folded_backward(V, z, W, grad_out, need_v: bool, need_z: bool, need_w: bool):
    """The gradients of :func:`folded_forward` (formulas in the module docstring).

    The sums over l that involve R^2 are split by the row weights, so that every (N, L)-sized
    product is a real matmul against R or R^2:
        Re sum_l Q z R^2 = sum_e a Re(sum_l h z^2 R^2) - b Re(sum_l h z R^2),  and so on.
    """
    RB, E, N = V.shape
    L = z.shape[-1]
    real = V.real.dtype
    zr, zi = _split(z)
    wr, wi = _split(W)
    a, b_ = _weights(V, W)
    c = (2 * wr)[:, None]  # (RB, 1, N)
    A = a
    S2w = torch.cat([a, b_, c * a, c * b_], dim=1)  # (RB, 4E, N)
    h = grad_out.conj()
    need_r2 = need_w or need_z
    g1 = torch.zeros(RB, 2 * E, N, dtype=real, device=V.device)  # [Re sum hzR; Re sum hR]
    g2 = torch.zeros(RB, 3 * E, N, dtype=real, device=V.device)  # same with R^2 and z^2
    dz = torch.zeros(RB, L, dtype=V.dtype, device=V.device) if need_z else None
    for b, l in _blocks(RB, N, L):
        zc = _grid(z, b, l)
        zb = (zr[:, l], zi[:, l]) if zr.shape[0] == 1 else (zr[b, l], zi[b, l])
        R = _resolvent(*zb, wr[b], wi[b])
        hb = h[b, :, l]  # (rows, E, lc)
        hz = hb * zc
        # Re(x R) = xr Rr - xi Ri: rows [Re | -Im] of x against [Rr | Ri]
        rows_x = torch.cat([hz, hb], dim=1).conj()
        g1[b] += torch.bmm(_flat(rows_x), R.transpose(1, 2))
        if not need_r2:
            continue
        R2 = _square(R)
        if need_w:
            rows_x2 = torch.cat([hz * zc, hz, hb], dim=1).conj()
            g2[b] += torch.bmm(_flat(rows_x2), R2.transpose(1, 2))
        if need_z:
            Sa = _unflat(torch.bmm(A[b], R))  # (rows, E, lc)
            S2 = _unflat(torch.bmm(S2w[b], R2)).unflatten(1, (4, E))
            sum_m = zc * S2[:, 0] - S2[:, 1]  # per e: sum_n (a z - b) R^2
            sum_cm = zc * S2[:, 2] - S2[:, 3]
            dz[b, l] += (hb * (Sa - 2 * zc * sum_m + sum_cm)).sum(dim=1)
    gv = gw = gz = None
    gA, gB = g1[:, :E], -g1[:, E:]  # (RB, E, N)
    if need_v:
        gv = torch.complex(2 * (gA + wr[:, None] * gB), 2 * wi[:, None] * gB)
    if need_w:
        hz2R2, hzR2, hR2 = g2[:, :E], g2[:, E : 2 * E], g2[:, 2 * E :]
        gC = (a * hz2R2 - b_ * hzR2).sum(dim=1)  # Re sum_l M z
        gD = -(a * hzR2 - b_ * hR2).sum(dim=1)  # -Re sum_l M
        re = 2 * ((V.real * gB).sum(dim=1) + gC + wr * gD)
        im = 2 * ((V.imag * gB).sum(dim=1) + wi * gD)
        gw = torch.complex(re, im)
    if need_z:
        gz = dz.conj()
        if z.shape[0] == 1:
            gz = gz.sum(dim=0, keepdim=True)
    return gv, gz, gw


class CauchyPairFn(torch.autograd.Function):
    """out[b, e, l] = sum_n V/(z - W) + conj(V)/(z - conj W), folded; V (RB, E, N)."""

    @staticmethod
    def forward(ctx, V, z, W):  # type: ignore[override]
        ctx.save_for_backward(V, z, W)
        return folded_forward(V, z, W)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        V, z, W = ctx.saved_tensors
        return folded_backward(V, z, W, grad_out, *ctx.needs_input_grad[:3])
