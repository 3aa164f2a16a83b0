"""functional.zoh: the zoh kernel weights with a written-out backward, against the composed
ops (discretize_diag, autograd) in float64 and float32, and gradcheck."""

from __future__ import annotations

import pytest
import torch

from s4_layers.functional.discretize import discretize_diag
from s4_layers.functional.zoh import zoh_kernel_weights


def _system(dtype, H=5, N2=4, channels=(2,), seed=0, dt_scale=0.1):
    g = torch.Generator().manual_seed(seed)
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    # dt spans small (x = dt A ~ 1e-4: where e^x - 1 cancels) to large steps
    dt = torch.logspace(-4, 0, H, dtype=dtype) * dt_scale * 10
    A = torch.complex(
        -torch.rand(H, N2, generator=g, dtype=dtype) - 0.05,
        3 * torch.randn(H, N2, generator=g, dtype=dtype),
    )
    B = torch.randn(H, N2, generator=g, dtype=cdtype)
    C = torch.randn(*channels, H, N2, generator=g, dtype=cdtype)
    return [t.requires_grad_() for t in (dt, A, B, C)]


def _composed(dt, A, B, C):
    _, dB, log_dA = discretize_diag(dt, A, B, "zoh")
    return C * dB, log_dA


@pytest.mark.parametrize("channels", [(), (1,), (3,)])
def test_equals_the_composed_discretisation_in_float64(channels) -> None:
    args = _system(torch.float64, channels=channels)
    v, x = zoh_kernel_weights(*args)
    v_ref, x_ref = _composed(*args)
    torch.testing.assert_close(v, v_ref, rtol=1e-14, atol=0)
    torch.testing.assert_close(x, x_ref, rtol=1e-14, atol=0)


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
def test_every_gradient_equals_autograd_through_the_composed_ops(dtype, rtol) -> None:
    args = _system(dtype, seed=1)
    g = torch.Generator().manual_seed(2)
    g_v = torch.randn(args[3].shape, generator=g, dtype=args[3].dtype)
    g_x = torch.randn(args[1].shape, generator=g, dtype=args[1].dtype)
    ours = torch.autograd.grad(zoh_kernel_weights(*args), args, (g_v, g_x))
    ref = torch.autograd.grad(_composed(*args), args, (g_v, g_x))
    for name, a, b in zip(("dt", "A", "B", "C"), ours, ref, strict=True):
        scale = b.abs().max()
        assert (a - b).abs().max() <= rtol * scale, name


def test_gradcheck_float64() -> None:
    args = _system(torch.float64, H=3, N2=2, channels=(2,), seed=3)
    assert torch.autograd.gradcheck(zoh_kernel_weights, args)


def test_gradcheck_with_only_one_output_used() -> None:
    args = _system(torch.float64, H=3, N2=2, seed=4)
    assert torch.autograd.gradcheck(lambda *a: zoh_kernel_weights(*a)[0], args)
    assert torch.autograd.gradcheck(lambda *a: zoh_kernel_weights(*a)[1], args)


def test_inputs_without_grad_get_none() -> None:
    dt, A, B, C = (t.detach() for t in _system(torch.float64, seed=5))
    C.requires_grad_()
    v, x = zoh_kernel_weights(dt, A, B, C)
    assert not x.requires_grad
    (grad_C,) = torch.autograd.grad(v.real.sum(), [C])
    v_ref, _ = _composed(dt, A, B, C)
    (ref,) = torch.autograd.grad(v_ref.real.sum(), [C])
    torch.testing.assert_close(grad_C, ref, rtol=1e-13, atol=0)
