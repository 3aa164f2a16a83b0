"""fft_conv against a direct (materialised) convolution sum."""

import torch

from s4_layers.functional import fft_conv


def test_causal_and_bidirectional_against_direct_sum():
    g = torch.Generator().manual_seed(0)
    u = torch.randn(2, 3, 11, dtype=torch.float64, generator=g)
    K = torch.randn(3, 11, dtype=torch.float64, generator=g)
    Kb = torch.randn(3, 11, dtype=torch.float64, generator=g)
    ref = torch.zeros_like(u)
    ref_b = torch.zeros_like(u)
    for k in range(11):
        for j in range(11):
            if j <= k:
                ref[..., k] += K[:, k - j] * u[..., j]
            else:
                ref_b[..., k] += Kb[:, j - k - 1] * u[..., j]
    assert torch.allclose(fft_conv(u, K), ref, atol=1e-12)
    assert torch.allclose(fft_conv(u, K, Kb), ref + ref_b, atol=1e-12)
