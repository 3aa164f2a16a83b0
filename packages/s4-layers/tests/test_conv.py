"""fft_conv against a direct (materialised) convolution sum."""

import pytest
import torch

from s4_layers.functional import fft_conv
from s4_layers.functional.conv import direct_conv, with_skip


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


def _loop_conv(u, K, Kb=None):
    """The convolution sum one term at a time (float64 reference), broadcasting u against K."""
    L = u.shape[-1]
    shape = torch.broadcast_shapes(u.shape, K.shape)
    u, K = u.expand(shape), K.expand(shape)
    Kb = None if Kb is None else Kb.expand(shape)
    ref = torch.zeros(shape, dtype=torch.float64)
    for k in range(L):
        for j in range(L):
            if j <= k:
                ref[..., k] += K[..., k - j] * u[..., j]
            elif Kb is not None:
                ref[..., k] += Kb[..., j - k - 1] * u[..., j]
    return ref


@pytest.mark.parametrize("method", ["fft", "direct"])
@pytest.mark.parametrize(
    ("u_shape", "k_shape"),
    [
        ((2, 3, 9), (3, 9)),  # S4D: (B, H, L) against (H, L)
        ((2, 1, 3, 9), (2, 3, 9)),  # FFTConv: (B, 1, H, L) against (channels, H, L)
        ((3, 9), (2, 3, 9)),  # more kernel rows than signal dimensions
        ((4, 9), (9,)),  # one kernel for every row
        ((1, 9), (1, 9)),  # L = 9, B = 1
        ((2, 3, 1), (3, 1)),  # L = 1
    ],
)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_both_methods_equal_the_loop_in_float64(method, u_shape, k_shape, bidirectional):
    g = torch.Generator().manual_seed(1)
    u = torch.randn(u_shape, dtype=torch.float64, generator=g)
    K = torch.randn(k_shape, dtype=torch.float64, generator=g)
    Kb = torch.randn(k_shape, dtype=torch.float64, generator=g) if bidirectional else None
    got = fft_conv(u, K, Kb, method=method)
    ref = _loop_conv(u, K, Kb)
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_direct_conv_gradcheck_float64(bidirectional):
    g = torch.Generator().manual_seed(2)
    u = torch.randn(3, 1, 2, 7, dtype=torch.float64, generator=g, requires_grad=True)
    K = torch.randn(2, 2, 7, dtype=torch.float64, generator=g, requires_grad=True)
    Kb = torch.randn(2, 2, 7, dtype=torch.float64, generator=g, requires_grad=True)
    args = (u, K, Kb) if bidirectional else (u, K)
    assert torch.autograd.gradcheck(lambda *a: direct_conv(*a), args)


def test_direct_and_fft_agree_in_float32_with_gradients():
    """The auto choice may switch method with L or batch: both give the same values and
    gradients to float32 rounding (here against float64)."""
    g = torch.Generator().manual_seed(3)
    u64 = torch.randn(64, 8, 40, dtype=torch.float64, generator=g)
    K64 = torch.randn(8, 40, dtype=torch.float64, generator=g) / 8
    w = torch.randn(64, 8, 40, dtype=torch.float64, generator=g)
    ref = _loop_conv(u64, K64)
    for method in ("fft", "direct"):
        u = u64.float().requires_grad_()
        K = K64.float().requires_grad_()
        y = fft_conv(u, K, method=method)
        assert y.dtype == torch.float32
        assert (y.double() - ref).abs().max() < 1e-5
        (y * w.float()).sum().backward()
        u_ref = u64.clone().requires_grad_()
        K_ref = K64.clone().requires_grad_()
        (fft_conv(u_ref, K_ref, method="direct") * w).sum().backward()
        assert torch.allclose(u.grad.double(), u_ref.grad, atol=1e-4)
        assert torch.allclose(K.grad.double(), K_ref.grad, atol=1e-3)


def test_auto_picks_direct_only_for_short_well_batched_cpu_inputs(monkeypatch):
    from s4_layers.functional import conv

    calls = []
    monkeypatch.setattr(conv, "direct_conv", lambda *a: calls.append(a[0].shape) or a[0])
    K = torch.randn(4, 40)
    conv.fft_conv(torch.randn(64, 4, 40), K)  # L <= DIRECT_MAX_L, batch >= L / 2
    assert calls == [(64, 4, 40)]
    conv.fft_conv(torch.randn(2, 4, 40), K)  # batch too small: FFT
    L = conv.DIRECT_MAX_L + 1
    conv.fft_conv(torch.randn(512, 4, L), torch.randn(4, L))  # too long: FFT
    assert len(calls) == 1


def test_half_precision_input_is_computed_in_float32_and_returned_as_given():
    u = torch.randn(32, 3, 16).to(torch.bfloat16)
    K = torch.randn(3, 16)
    for method in ("fft", "direct"):
        y = fft_conv(u, K, method=method)
        assert y.dtype == torch.bfloat16
    ref = fft_conv(u.double(), K.double())
    assert (fft_conv(u, K, method="direct").double() - ref).abs().max() < 0.1


def test_bad_method_names_the_argument():
    with pytest.raises(ValueError, match="method"):
        fft_conv(torch.randn(2, 3, 4), torch.randn(3, 4), method="fast")


@pytest.mark.parametrize("method", ["fft", "direct"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_skip_as_lag_zero_equals_the_added_skip_in_float64(method, bidirectional):
    """(K + D delta_0) * u = K * u + D u, and D's gradient through the kernel is sum(u g)."""
    g = torch.Generator().manual_seed(3)
    u = torch.randn(2, 1, 3, 9, dtype=torch.float64, generator=g)  # (B, 1, H, L)
    K = torch.randn(2, 3, 9, dtype=torch.float64, generator=g)  # (channels, H, L)
    Kb = torch.randn(2, 3, 9, dtype=torch.float64, generator=g) if bidirectional else None
    D = torch.randn(2, 3, dtype=torch.float64, generator=g, requires_grad=True)
    y = fft_conv(u, with_skip(K, D), Kb, method=method)
    ref = _loop_conv(u, K, Kb) + D[..., None] * u
    assert torch.allclose(y, ref, rtol=1e-12, atol=1e-12)
    grad_out = torch.randn(y.shape, dtype=torch.float64, generator=g)
    (grad_D,) = torch.autograd.grad(y, D, grad_out)
    assert torch.allclose(grad_D, (grad_out * u).sum(dim=(0, -1)), rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda K, D: fft_conv(u, with_skip(K, D), Kb, method=method),
        (K.clone().requires_grad_(), D.detach().clone().requires_grad_()),
    )


def test_skip_is_added_in_the_kernels_precision():
    K = torch.randn(3, 5)
    D = torch.randn(3, dtype=torch.float64)
    Ks = with_skip(K, D)
    assert Ks.dtype == torch.float32 and torch.equal(Ks[:, 1:], K[:, 1:])
    assert torch.allclose(Ks[:, 0].double(), K[:, 0].double() + D)
