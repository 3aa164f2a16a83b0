"""The keops backend: pykeops LazyTensor reductions, never materialising the (N, L) terms.

Only three symbolic formulas are used, forward and backward alike, so each compiles once per
dtype (compilation is the slow part of pykeops on CPU):

    F1: out[b, i] = sum_j a[b, j] / (p[b, i] - q[b, j])
    F2: out[b, i] = sum_j a[b, j] / (p[b, i] - q[b, j])^2
    F3: out[b, i] = sum_j a[b, j] * exp(p[b, i] * q[b, j])

Every tensor is flattened to exactly one batch dimension so the compiled binaries are shared
across batch shapes. The map-reduce device follows the tensors: ``backend="CPU"`` for CPU
tensors and ``"GPU"`` with the tensor's device index for CUDA tensors. (pykeops' ``"auto"``
picks the GPU whenever CUDA libraries are present, which is how the original implementation
failed on CPU tensors with ``KeyError: 'nvrtc'``.)

Gradients are custom autograd Functions built from the same three formulas (see the torch
backend's docstring for the derivation).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import shutil
from types import ModuleType

import torch
from torch.autograd.function import once_differentiable

from ssm_kernels._flat_ops import flat_batch_ops
from ssm_kernels._validate import KernelInputError


@functools.cache
def _pykeops() -> ModuleType:
    # pykeops prints a banner about CUDA libraries on import; keep library users' output clean.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import pykeops
        import pykeops.torch
    return pykeops


def unavailable_reason() -> str | None:
    """None when pykeops and a C++ compiler are present, else why not."""
    if importlib.util.find_spec("pykeops") is None:
        return "pykeops is not installed"
    try:
        _pykeops()
    except Exception as err:  # a broken install should read as unavailable, not crash backends()
        return f"pykeops failed to import: {type(err).__name__}: {err}"
    cxx = os.environ.get("CXX") or "g++"
    if shutil.which(cxx) is None and shutil.which("clang++") is None:
        return f"no C++ compiler for pykeops (looked for {cxx!r} and 'clang++'; set CXX)"
    return None


def check_inputs(device: torch.device, dtype: torch.dtype) -> None:
    """Raise when these tensors cannot run here (a CUDA tensor without keops GPU support)."""
    if device.type not in ("cpu", "cuda"):
        raise KernelInputError(
            f"backend='keops': expected cpu or cuda tensors, got device {device}"
        )
    if device.type == "cuda" and not _pykeops().config.gpu_available:
        raise KernelInputError(
            "backend='keops': expected pykeops with GPU support for cuda tensors, "
            "got a pykeops without CUDA (pykeops.config.gpu_available is False)"
        )


def _device_kwargs(t: torch.Tensor) -> dict:
    if t.device.type == "cuda":
        index = t.device.index if t.device.index is not None else torch.cuda.current_device()
        return {"backend": "GPU", "device_id": index}
    return {"backend": "CPU"}


def _reduce(kind: str, a: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """out[b, i] = sum_j a[b, j] k(p[b, i], q[b, j]); a, q (B, J), p (B, I) -> (B, I)."""
    LazyTensor = _pykeops().torch.LazyTensor
    a, p, q = (t.resolve_conj().contiguous() for t in (a, p, q))
    a_j = LazyTensor(a[:, None, :, None])
    q_j = LazyTensor(q[:, None, :, None])
    p_i = LazyTensor(p[:, :, None, None])
    if kind == "inv":
        terms = a_j / (p_i - q_j)
    elif kind == "inv2":
        d = p_i - q_j
        terms = a_j / (d * d)
    else:  # "exp"
        terms = a_j * (p_i * q_j).exp()
    return terms.sum(dim=2, **_device_kwargs(a)).reshape(p.shape)


def _ell(L: int, like: torch.Tensor, B: int) -> torch.Tensor:
    """The positions 0..L-1 as a complex (B, L) tensor (keops formulas are all-complex)."""
    ell = torch.arange(L, device=like.device, dtype=like.real.dtype).to(like.dtype)
    return ell.expand(B, L)


class _CauchyFn(torch.autograd.Function):
    """out[b, l] = sum_n V[b, n] / (z[b, l] - W[b, n]); V, W (B, N), z (B, L)."""

    @staticmethod
    def forward(ctx, V, z, W):  # type: ignore[override]
        ctx.save_for_backward(V, z, W)
        return _reduce("inv", V, z, W)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        V, z, W = ctx.saved_tensors
        need_v, need_z, need_w = ctx.needs_input_grad[:3]
        h = grad_out.conj()
        gv = -_reduce("inv", h, W, z).conj() if need_v else None
        gw = (V * _reduce("inv2", h, W, z)).conj() if need_w else None
        gz = -(h * _reduce("inv2", V, z, W)).conj() if need_z else None
        return gv, gz, gw


class _VandermondeFn(torch.autograd.Function):
    """out[b, l] = sum_n V[b, n] exp(X[b, n] l); V, X (B, N)."""

    @staticmethod
    def forward(ctx, V, X, L):  # type: ignore[override]
        ctx.save_for_backward(V, X)
        ctx.L = L
        return _reduce("exp", V, _ell(L, V, V.shape[0]), X)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        V, X = ctx.saved_tensors
        need_v, need_x = ctx.needs_input_grad[:2]
        h = grad_out.conj()
        ell = _ell(ctx.L, V, V.shape[0])
        gv = _reduce("exp", h, X, ell).conj() if need_v else None
        gx = (V * _reduce("exp", h * ell, X, ell)).conj() if need_x else None
        return gv, gx, None


class _VandermondeReduceFn(torch.autograd.Function):
    """S[b, n] = sum_l U[b, l] exp(X[b, n] l); U (B, L), X (B, N)."""

    @staticmethod
    def forward(ctx, U, X, L):  # type: ignore[override]
        ctx.save_for_backward(U, X)
        ctx.L = L
        return _reduce("exp", U, X, _ell(L, U, U.shape[0]))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
        U, X = ctx.saved_tensors
        need_u, need_x = ctx.needs_input_grad[:2]
        h = grad_out.conj()
        ell = _ell(ctx.L, U, U.shape[0])
        gu = _reduce("exp", h, ell, X).conj() if need_u else None
        gx = (h * _reduce("exp", U * ell, X, ell)).conj() if need_x else None
        return gu, gx, None


cauchy, vandermonde, vandermonde_transpose = flat_batch_ops(
    _CauchyFn, _VandermondeFn, _VandermondeReduceFn
)
