"""Causal (or bidirectional) convolution by FFT, with FFT size 2L and rfft."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def fft_conv(u: torch.Tensor, K: torch.Tensor, K_backward: torch.Tensor | None = None):
    r"""``y[..., k] = sum_{j<=k} K[..., k-j] u[..., j]``  (+ anticausal part when bidirectional).

    u: (B, ..., L) real; K: (..., L) broadcastable against u. With ``K_backward`` the output
    adds ``sum_{j>k} K_backward[..., j-k-1] u[..., j]`` (the original S4 bidirectional layout).
    FFT size 2L, so nothing wraps around.
    """
    L = u.shape[-1]
    if K_backward is not None:
        K = F.pad(K, (0, L)) + F.pad(K_backward.flip(-1), (L, 0))
    k_f = torch.fft.rfft(K, n=2 * L)
    u_f = torch.fft.rfft(u, n=2 * L)
    return torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]
