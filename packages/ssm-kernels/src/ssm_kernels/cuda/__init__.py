"""The cuda backend: hand-written CUDA kernels (``cauchy.cu``, ``vandermonde.cu``) via CuPy.

complex64 only, float32 accumulation. Every op flattens its batch to one dimension, makes the
inputs contiguous, and runs a custom autograd Function whose forward and backward are the four
kernels in :mod:`ssm_kernels.cuda._kernels` (gradient formulas as in the torch backend, with
h = conj(grad_out)):

    cauchy:          out = sum_n(V, z, W, 1)
                     grad_V = conj(s1), grad_W = conj(V s2), grad_z = -conj(h sum_n(V, z, W, 2))
                     with (s1, s2) = sum_l(h, z, W)
    vandermonde:     out = sum_n(V, X);  grad_V = conj(s), grad_X = conj(V t), (s, t) = sum_l(h, X)
    transpose core:  S = sum_l(U, X);    grad_U = conj(sum_n(h, X)), grad_X = conj(h t(U, X))
"""

from __future__ import annotations

import importlib.util

import torch
from torch.autograd.function import once_differentiable

from ssm_kernels._flat_ops import flat_batch_ops
from ssm_kernels._validate import KernelInputError
from ssm_kernels.cuda import _kernels


def unavailable_reason() -> str | None:
    """None when CuPy and a CUDA device are present, else why not."""
    if importlib.util.find_spec("cupy") is None:
        return "cupy is not installed"
    if not torch.cuda.is_available():
        return "no CUDA device is visible to torch (torch.cuda.is_available() is False)"
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # a CuPy built for another CUDA reads as unavailable
        return f"cupy cannot reach the CUDA runtime: {type(err).__name__}: {err}"
    if count < 1:
        return "cupy sees no CUDA device"
    return None


def check_inputs(device: torch.device, dtype: torch.dtype) -> None:
    if device.type != "cuda":
        raise KernelInputError(f"backend='cuda': expected tensors on a CUDA device, got {device}")
    if dtype != torch.complex64:
        raise KernelInputError(
            f"backend='cuda': expected complex64 (the kernels accumulate in float32), got {dtype}; "
            "use backend='torch' or 'keops' for complex128"
        )


def _ready(t: torch.Tensor) -> torch.Tensor:
    return t.resolve_conj().contiguous()


class _CauchyFn(torch.autograd.Function):
    """out[b, l] = sum_n V[b, n] / (z[b, l] - W[b, n]); V, W (B, N), z (1 or B, L)."""

    @staticmethod
    def forward(ctx, V, z, W):  # type: ignore[override]
        V, z, W = _ready(V), _ready(z), _ready(W)
        ctx.save_for_backward(V, z, W)
        return _kernels.cauchy_sum_n(V, z, W, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        V, z, W = ctx.saved_tensors
        need_v, need_z, need_w = ctx.needs_input_grad[:3]
        h = _ready(grad_out.conj())
        gv = gw = gz = None
        if need_v or need_w:
            s1, s2 = _kernels.cauchy_sum_l(h, z, W)
            gv = s1.conj() if need_v else None
            gw = (V * s2).conj() if need_w else None
        if need_z:
            gz = -(h * _kernels.cauchy_sum_n(V, z, W, 2)).conj()
            if z.shape[0] == 1:
                gz = gz.sum(dim=0, keepdim=True)
        return gv, gz, gw


class _VandermondeFn(torch.autograd.Function):
    """out[b, l] = sum_n V[b, n] exp(X[b, n] l); V, X (B, N)."""

    @staticmethod
    def forward(ctx, V, X, L):  # type: ignore[override]
        V, X = _ready(V), _ready(X)
        ctx.save_for_backward(V, X)
        return _kernels.vandermonde_sum_n(V, X, L)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        V, X = ctx.saved_tensors
        need_v, need_x = ctx.needs_input_grad[:2]
        if not (need_v or need_x):
            return None, None, None
        s, t = _kernels.vandermonde_sum_l(_ready(grad_out.conj()), X, want_t=need_x)
        gv = s.conj() if need_v else None
        gx = (V * t).conj() if need_x else None
        return gv, gx, None


class _VandermondeReduceFn(torch.autograd.Function):
    """S[b, n] = sum_l U[b, l] exp(X[b, n] l); U (B, L), X (B, N)."""

    @staticmethod
    def forward(ctx, U, X, L):  # type: ignore[override]
        U, X = _ready(U), _ready(X)
        ctx.save_for_backward(U, X)
        ctx.L = L
        return _kernels.vandermonde_sum_l(U, X, want_t=False)[0]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        U, X = ctx.saved_tensors
        need_u, need_x = ctx.needs_input_grad[:2]
        h = _ready(grad_out.conj())
        gu = _kernels.vandermonde_sum_n(h, X, ctx.L).conj() if need_u else None
        gx = None
        if need_x:
            _, t = _kernels.vandermonde_sum_l(U, X, want_t=True)
            gx = (h * t).conj()
        return gu, gx, None


cauchy, vandermonde, vandermonde_transpose = flat_batch_ops(
    _CauchyFn, _VandermondeFn, _VandermondeReduceFn, shared_grid=True
)
