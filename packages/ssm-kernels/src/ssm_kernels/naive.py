"""The naive backend: materialise every (n, l) term, then sum. The reference.

Memory is O(batch * N * L) in the forward and again in autograd's saved tensors, which is why
the other backends exist. Plain torch ops, so autograd differentiates it directly. Inputs are
the already checked tensors (one complex dtype, broadcastable batch dimensions).
"""

from __future__ import annotations

import torch


def cauchy(v: torch.Tensor, z: torch.Tensor, w: torch.Tensor, conj: bool = True) -> torch.Tensor:
    """out[..., l] = sum_n v[..., n] / (z[..., l] - w[..., n])  (+ the conj(v), conj(w) term).

    v, w: (..., N) complex; z: (..., L) complex. Returns (..., L) complex.
    """
    if conj:
        v = torch.cat([v, v.conj()], dim=-1)
        w = torch.cat([w, w.conj()], dim=-1)
    terms = v.unsqueeze(-1) / (z.unsqueeze(-2) - w.unsqueeze(-1))  # (..., N, L)
    return terms.sum(dim=-2)


def vandermonde(v: torch.Tensor, x: torch.Tensor, L: int, conj: bool = True) -> torch.Tensor:
    """out[..., l] = sum_n v[..., n] * exp(x[..., n] * l), l = 0..L-1.

    v, x: (..., N) complex. Returns (..., L): 2 * Re(out) (real) when conj, else complex.
    """
    ell = torch.arange(L, device=x.device, dtype=x.real.dtype)
    powers = torch.exp(x.unsqueeze(-1) * ell)  # (..., N, L)
    out = (v.unsqueeze(-1) * powers).sum(dim=-2)
    return 2 * out.real if conj else out


def vandermonde_transpose(
    u: torch.Tensor, v: torch.Tensor, x: torch.Tensor, L: int
) -> torch.Tensor:
    """out[..., n] = sum_l u[..., l] * v[..., n] * exp(x[..., n] * l), l = 0..L-1.

    u: (..., L) complex; v, x: (..., N) complex. Returns (..., N) complex.
    """
    ell = torch.arange(L, device=x.device, dtype=x.real.dtype)
    powers = torch.exp(x.unsqueeze(-1) * ell)  # (..., N, L)
    return (u.unsqueeze(-2) * v.unsqueeze(-1) * powers).sum(dim=-1)
