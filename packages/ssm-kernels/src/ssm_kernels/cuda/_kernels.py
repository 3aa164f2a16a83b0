"""Compile the shipped ``.cu`` sources with CuPy (NVRTC) and launch them on torch's stream.

Each function takes contiguous complex64 CUDA tensors laid out as described in the ``.cu``
headers, allocates its outputs with torch, exchanges every buffer with CuPy through DLPack
(zero copy) and launches on ``torch.cuda.current_stream()`` wrapped as a CuPy external stream,
so the kernels are ordered with the surrounding torch work without any synchronisation.

The four entry points mirror the kernels one to one; ``ssm_kernels.cuda`` builds the ops and
their gradients from them (and the tests swap in torch versions of these four functions to
check that glue on machines without a GPU).
"""

from __future__ import annotations

import functools
from importlib import resources

import torch

BLOCK = 256  # must equal SSM_BLOCK in common.cuh
_MAX_GRID_X = 2**31 - 1
_MAX_GRID_Y = 65535
_SOURCES = ("cauchy.cu", "vandermonde.cu")


def source(name: str) -> str:
    """The text of a shipped ``.cu`` file with ``common.cuh`` inlined (for NVRTC)."""
    folder = resources.files("ssm_kernels.cuda")
    header = folder.joinpath("common.cuh").read_text()
    text = folder.joinpath(name).read_text()
    return text.replace('#include "common.cuh"', header)


@functools.cache
def _module(name: str, device_index: int):
    import cupy

    with cupy.cuda.Device(device_index):
        return cupy.RawModule(code=source(name), options=("--std=c++14",))


def _kernel(file: str, name: str, device: torch.device):
    index = device.index if device.index is not None else torch.cuda.current_device()
    return _module(file, index).get_function(name)


def _launch(file: str, name: str, device: torch.device, grid, args) -> None:
    import cupy

    stream = cupy.cuda.ExternalStream(torch.cuda.current_stream(device).cuda_stream)
    kernel = _kernel(file, name, device)
    with cupy.cuda.Device(device.index if device.index is not None else 0), stream:
        arrays = [cupy.from_dlpack(a) if isinstance(a, torch.Tensor) else a for a in args]
        kernel(grid, (BLOCK,), tuple(arrays))


def _i64(value: int):
    import numpy

    return numpy.int64(value)


def _i32(value: int):
    import numpy

    return numpy.int32(value)


def _rows_grid(L: int, B: int) -> tuple[int, int]:
    return (max(1, min(-(-L // BLOCK), _MAX_GRID_X)), max(1, min(B, _MAX_GRID_Y)))


def cauchy_sum_n(V: torch.Tensor, z: torch.Tensor, W: torch.Tensor, power: int) -> torch.Tensor:
    """out[b, l] = sum_n V[b, n] / (z[b, l] - W[b, n])^power; z (1 or B, L). -> (B, L)."""
    B, N = V.shape
    L = z.shape[-1]
    out = torch.empty(B, L, dtype=V.dtype, device=V.device)
    z_stride = 0 if z.shape[0] == 1 else L
    args = (V, z, W, out, _i64(B), _i64(N), _i64(L), _i64(z_stride), _i32(power))
    _launch("cauchy.cu", "cauchy_sum_n", V.device, _rows_grid(L, B), args)
    return out


def cauchy_sum_l(
    h: torch.Tensor, z: torch.Tensor, W: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """s1[b, n] = sum_l h / (z - W_n), s2[b, n] = sum_l h / (z - W_n)^2; h (B, L)."""
    B, N = W.shape
    L = z.shape[-1]
    s1 = torch.empty(B, N, dtype=W.dtype, device=W.device)
    s2 = torch.empty_like(s1)
    z_stride = 0 if z.shape[0] == 1 else L
    args = (h, z, W, s1, s2, _i64(B), _i64(N), _i64(L), _i64(z_stride))
    _launch("cauchy.cu", "cauchy_sum_l", W.device, (max(1, min(B * N, _MAX_GRID_X)),), args)
    return s1, s2


def vandermonde_sum_n(V: torch.Tensor, X: torch.Tensor, L: int) -> torch.Tensor:
    """out[b, l] = sum_n V[b, n] exp(X[b, n] l). -> (B, L)."""
    B, N = V.shape
    out = torch.empty(B, L, dtype=V.dtype, device=V.device)
    args = (V, X, out, _i64(B), _i64(N), _i64(L))
    _launch("vandermonde.cu", "vandermonde_sum_n", V.device, _rows_grid(L, B), args)
    return out


def vandermonde_sum_l(
    U: torch.Tensor, X: torch.Tensor, want_t: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """s[b, n] = sum_l U exp(X_n l) and, if want_t, t[b, n] = sum_l U l exp(X_n l)."""
    B, L = U.shape
    N = X.shape[-1]
    s = torch.empty(B, N, dtype=X.dtype, device=X.device)
    t = torch.empty_like(s) if want_t else s  # a valid pointer the kernel never writes
    args = (U, X, s, t, _i64(B), _i64(N), _i64(L), _i32(int(want_t)))
    grid = (max(1, min(B * N, _MAX_GRID_X)),)
    _launch("vandermonde.cu", "vandermonde_sum_l", X.device, grid, args)
    return s, (t if want_t else None)
