"""Causal (or bidirectional) convolution: by FFT (size 2L, rfft), or directly for short L.

Both methods compute the same sum exactly (no wrap-around, no truncation); they differ only in
rounding. At short L the direct sum, one batched matmul against the (L, L) Toeplitz matrix of
the kernel, is several times faster than three FFTs and their backward (measured on CPU by
``s4-bench train --short``: at B=64, H=64, L=40 forward + backward ~0.9 ms vs ~3.3 ms), and
its float32 error against a float64 reference is of the same size as the FFT's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# method="auto" takes the direct sum on CPU when L <= DIRECT_MAX_L and at least L / 2 signal
# rows share each kernel row (M >= L / 2, M = the batch). Why both: the direct sum costs
# ~ L^2 (M + c) per kernel row, the c (~60-80 rows' worth) being the Toeplitz matrix and its
# gradient, against ~ M L log L for the FFT. Measured fft / direct time ratios (forward +
# backward, H=64, one thread): L=40: 5.0 at M=64, 2.4 at M=16, 0.9 at M=4; L=128: 2.3 at
# M=64, 0.5 at M=16; L=256: 1.2 at M=64. On CUDA cuFFT is fast at every length: FFT there.
DIRECT_MAX_L = 128
_METHODS = ("auto", "fft", "direct")


def _work_dtype(u: torch.Tensor, K: torch.Tensor) -> torch.dtype:
    """The higher of u's and K's precision, at least float32 (no 16-bit FFTs everywhere)."""
    return torch.promote_types(torch.promote_types(u.dtype, K.dtype), torch.float32)


def toeplitz(K: torch.Tensor, K_backward: torch.Tensor | None = None) -> torch.Tensor:
    r"""The transposed Toeplitz matrix of a convolution kernel: (..., L) -> (..., L, L).

    ``Tt[..., j, k] = K[..., k - j]`` for ``j <= k``, 0 above (causal), or
    ``K_backward[..., j - k - 1]`` there when given; so ``y = u @ Tt`` is
    ``y[k] = sum_{j<=k} K[k-j] u[j] (+ sum_{j>k} K_backward[j-k-1] u[j])`` for row vectors u.

    Built as a sliding window over the padded kernel ``Kp`` (length 2L - 1, ``Kp[L-1+m]`` the
    weight of lag m = k - j): ``unfold`` gives ``W[a, i] = Kp[a + i]`` and ``Tt[j] = W[L-1-j]``.
    """
    L = K.shape[-1]
    if K_backward is None:
        Kp = F.pad(K, (L - 1, 0))  # lags -(L-1)..-1 are zero: causal
    else:  # lag m < 0 -> K_backward[-m-1]
        Kp = torch.cat([K_backward[..., : L - 1].flip(-1), K], dim=-1)
    return Kp.unfold(-1, L, 1).flip(-2)


def direct_conv(u: torch.Tensor, K: torch.Tensor, K_backward: torch.Tensor | None = None):
    r"""The convolution sum of :func:`fft_conv` as one batched matmul, O(L^2) per row.

    u: (*outer, *inner, L); K, K_backward: (*inner_K, L) with inner_K broadcastable against u's
    trailing ``K.dim() - 1`` batch dimensions (inner). The outer dimensions, over which the
    kernel is shared, become the matmul's rows: ``(*inner, M, L) @ (*inner_K, L, L)`` with
    M = prod(outer), so each kernel row's Toeplitz matrix is built once, not once per batch.
    Same dtype rules as :func:`fft_conv`.
    """
    L = u.shape[-1]
    out_dtype = u.dtype
    work = _work_dtype(u, K)
    Tt = toeplitz(K.to(work), None if K_backward is None else K_backward.to(work))
    k = K.dim() - 1  # batch dimensions of the kernel
    if u.dim() - 1 < k:  # more kernel rows than signal dimensions: broadcast u up
        u = u.reshape((1,) * (k - u.dim() + 1) + u.shape)
    outer = u.shape[: u.dim() - 1 - k]
    # (M, *inner, L), L-contiguous: a u laid out as (B, L, H) (a transposed view, as S4 layers
    # get it after a LayerNorm or linear) would make bmm fall back to a per-matrix loop of
    # copies in the forward and the backward; one copy here is cheaper
    rows = u.to(work).reshape(math.prod(outer), *u.shape[len(outer) :]).contiguous()
    y = torch.matmul(rows.movedim(0, -2), Tt)  # (*inner, M, L)
    return y.movedim(-2, 0).reshape(*outer, *y.shape[:-2], L).to(out_dtype)


def with_skip(K: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
    r"""The kernel of ``K * u + D u``: ``K`` (..., L) with ``D`` (...) added at lag 0,
    ``(K + D \delta_0) * u = K * u + D u``.

    The skip term then costs nothing beyond the convolution: no full-size product and sum of
    (B, H, L) in the forward, and D's gradient comes out of the kernel's (a sum over (B, L)
    that the convolution's backward computes anyway).
    """
    return torch.cat([K[..., :1] + D.to(K.dtype).unsqueeze(-1), K[..., 1:]], dim=-1)


def skip_conv(
    u: torch.Tensor,
    K: torch.Tensor,
    D: torch.Tensor,
    K_backward: torch.Tensor | None = None,
) -> torch.Tensor:
    """``y = K * u + D u`` (+ the anticausal ``K_backward`` part) as one :func:`fft_conv` of
    :func:`with_skip`'s kernel; shapes as :func:`fft_conv` (D: K's shape without L). u is
    taken in at least D's precision, as ``D u`` would promote it."""
    u = u.to(torch.promote_types(u.dtype, D.dtype))
    return fft_conv(u, with_skip(K, D), K_backward)


def fft_conv(
    u: torch.Tensor,
    K: torch.Tensor,
    K_backward: torch.Tensor | None = None,
    method: str = "auto",
):
    r"""``y[..., k] = sum_{j<=k} K[..., k-j] u[..., j]``  (+ anticausal part when bidirectional).

    u: (B, ..., L) real; K: (..., L) broadcastable against u. With ``K_backward`` the output
    adds ``sum_{j>k} K_backward[..., j-k-1] u[..., j]`` (the original S4 bidirectional layout).
    ``method``: "fft" (FFT size 2L, so nothing wraps around), "direct" (:func:`direct_conv`,
    the sum as a Toeplitz matmul) or "auto" (direct on CPU for L <= ``DIRECT_MAX_L`` when the
    batch M sharing each kernel row is >= L / 2, else FFT). Computed in the precision of K or
    u, whichever is higher and at least float32 (FFTs of 16-bit floats are not offered on
    every device), and returned in u's dtype; an empty batch gives an empty output.
    """
    if method not in _METHODS:
        raise ValueError(f"method: expected one of {list(_METHODS)}, got {method!r}")
    L = u.shape[-1]
    if u.numel() == 0:  # MKL's FFT refuses empty batches
        return u.new_zeros(torch.broadcast_shapes(u.shape, K.shape))
    if method == "auto":
        rows = math.prod(u.shape[: max(0, u.dim() - K.dim())])  # signal rows per kernel row
        short = L <= DIRECT_MAX_L and 2 * rows >= L
        method = "direct" if short and u.device.type == "cpu" else "fft"
    if method == "direct":
        return direct_conv(u, K, K_backward)
    work = _work_dtype(u, K)
    if K_backward is not None:
        K = F.pad(K, (0, L)) + F.pad(K_backward.flip(-1), (L, 0))
    k_f = torch.fft.rfft(K.to(work), n=2 * L)
    u_f = torch.fft.rfft(u.to(work), n=2 * L)
    return torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L].to(u.dtype)
