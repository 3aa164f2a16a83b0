"""Causal (or bidirectional) convolution by FFT, with FFT size 2L and rfft."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def fft_conv(u: torch.Tensor, K: torch.Tensor, K_backward: torch.Tensor | None = None):
    r"""``y[..., k] = sum_{j<=k} K[..., k-j] u[..., j]``  (+ anticausal part when bidirectional).

    u: (B, ..., L) real; K: (..., L) broadcastable against u. With ``K_backward`` the output
    adds ``sum_{j>k} K_backward[..., j-k-1] u[..., j]`` (the original S4 bidirectional layout).
    FFT size 2L, so nothing wraps around. Computed in the precision of K or u, whichever is
    higher and at least float32 (FFTs of 16-bit floats are not offered on every device), and
    returned in u's dtype; an empty batch gives an empty output.
    """
    L = u.shape[-1]
    out_dtype = u.dtype
    work = torch.promote_types(torch.promote_types(u.dtype, K.dtype), torch.float32)
    shape = torch.broadcast_shapes(u.shape, K.shape)
    if u.numel() == 0:  # MKL's FFT refuses empty batches
        return u.new_zeros(shape)
    if K_backward is not None:
        K = F.pad(K, (0, L)) + F.pad(K_backward.flip(-1), (L, 0))
    k_f = torch.fft.rfft(K.to(work), n=2 * L)
    u_f = torch.fft.rfft(u.to(work), n=2 * L)
    return torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L].to(out_dtype)
