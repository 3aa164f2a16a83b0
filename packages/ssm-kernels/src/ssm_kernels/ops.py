"""The public ops: check the inputs once, then hand them to the chosen backend.

Every op accepts any leading batch dimensions that broadcast, real inputs where a real value
makes sense (promoted to complex), complex64 or complex128 (complex128 if any input is double),
and is differentiable in every tensor argument.
"""

from __future__ import annotations

import torch

from ssm_kernels import dispatch
from ssm_kernels._validate import (
    check_cauchy,
    check_flag,
    check_vandermonde,
    check_vandermonde_transpose,
)


def cauchy(
    v: torch.Tensor, z: torch.Tensor, w: torch.Tensor, conj: bool = True, backend: str | None = None
) -> torch.Tensor:
    """Cauchy matrix-vector product.

    out[..., l] = sum_n v[..., n] / (z[..., l] - w[..., n])
                  (+ sum_n conj(v[..., n]) / (z[..., l] - conj(w[..., n])) when conj=True)

    Args:
        v: (..., N) weights, real or complex.
        z: (..., L) evaluation points, real or complex (typically just (L,)).
        w: (..., N) complex poles.
        conj: add the conjugate-pair term (S4's half-state convention); a bool.
        backend: None (automatic) or "naive", "torch", "keops", "cuda".

    Returns:
        (batch..., L) complex, batch = broadcast of the three leading shapes.
    """
    args = check_cauchy(v, z, w)
    conj = check_flag("conj", conj)
    module = dispatch.resolve(backend, args.v.device, args.v.dtype)
    return module.cauchy(args.v, args.z, args.w, conj=conj)


def vandermonde(
    v: torch.Tensor, x: torch.Tensor, L: int, conj: bool = True, backend: str | None = None
) -> torch.Tensor:
    """Vandermonde matrix-vector product.

    out[..., l] = sum_n v[..., n] * exp(x[..., n] * l),  l = 0..L-1

    Args:
        v: (..., N) weights, real or complex.
        x: (..., N) exponents (for S4D: dt * A), real or complex.
        L: sequence length >= 1.
        conj: return 2 * Re(out) (real), the conjugate-pair convention; else complex out.
            A bool.
        backend: None (automatic) or "naive", "torch", "keops", "cuda".

    Returns:
        (batch..., L): real when conj=True, complex otherwise.
    """
    args = check_vandermonde(v, x, L)
    conj = check_flag("conj", conj)
    module = dispatch.resolve(backend, args.v.device, args.v.dtype)
    return module.vandermonde(args.v, args.x, args.L, conj=conj)


def vandermonde_transpose(
    u: torch.Tensor, v: torch.Tensor, x: torch.Tensor, L: int, backend: str | None = None
) -> torch.Tensor:
    """Transposed Vandermonde product.

    out[..., n] = sum_l u[..., l] * v[..., n] * exp(x[..., n] * l),  l = 0..L-1

    Args:
        u: (..., L) sequence, real or complex.
        v: (..., N) weights, real or complex.
        x: (..., N) exponents, real or complex.
        L: sequence length >= 1; must equal u.shape[-1].
        backend: None (automatic) or "naive", "torch", "keops", "cuda".

    Returns:
        (batch..., N) complex.
    """
    args = check_vandermonde_transpose(u, v, x, L)
    module = dispatch.resolve(backend, args.v.device, args.v.dtype)
    return module.vandermonde_transpose(args.u, args.v, args.x, args.L)
