"""The public ops: dtype promotion, real/complex mixes and output shapes, on every CPU backend."""

import pytest
import torch

import ssm_kernels

CPU_BACKENDS = [name for name in ("naive", "torch") if ssm_kernels.backends()[name].available]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_real_v_and_real_x_are_promoted(inputs, refs, backend):
    v = inputs.randn(3, 8, dtype=torch.complex64).real.contiguous().requires_grad_()
    x = inputs.exponents(3, 8).real.contiguous().requires_grad_()  # S4D-Real style
    out = ssm_kernels.vandermonde(v, x, 20, backend=backend)
    assert out.dtype == torch.float32 and out.shape == (3, 20)
    assert refs.rel_err(out, refs.vandermonde(v, x, 20)) <= 1e-5
    out.sum().backward()
    assert v.grad.dtype == torch.float32 and x.grad.dtype == torch.float32
    assert v.grad.abs().sum() > 0 and x.grad.abs().sum() > 0


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_real_v_and_real_z_in_cauchy(inputs, refs, backend):
    v = inputs.randn(3, 8).real.contiguous()
    z = inputs.randn(10).real.contiguous()
    w = inputs.poles(3, 8)
    out = ssm_kernels.cauchy(v, z, w, backend=backend)
    assert out.dtype == torch.complex64
    assert refs.rel_err(out, refs.cauchy(v, z, w)) <= 1e-5


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_any_double_input_gives_complex128(inputs, refs, backend):
    v = inputs.randn(3, 8)
    x = inputs.exponents(3, 8, dtype=torch.complex128).real  # float64
    out = ssm_kernels.vandermonde(v, x, 20, conj=False, backend=backend)
    assert out.dtype == torch.complex128
    assert refs.rel_err(out, refs.vandermonde(v, x, 20, conj=False)) <= 1e-12
    u = inputs.randn(3, 20).real.double()
    x = inputs.exponents(3, 8)
    out = ssm_kernels.vandermonde_transpose(u, v, x, 20, backend=backend)
    assert out.dtype == torch.complex128
    assert refs.rel_err(out, refs.vandermonde_transpose(u, v, x, 20)) <= 1e-12


def test_conj_flag_semantics(inputs):
    """conj=True equals the conj=False sum over the doubled (pair-completed) state."""
    v, z, w = (
        inputs.randn(3, 8, dtype=torch.complex128),
        inputs.bilinear_z(16, torch.complex128),
        inputs.poles(3, 8, dtype=torch.complex128),
    )
    full = ssm_kernels.cauchy(
        torch.cat([v, v.conj()], -1), z, torch.cat([w, w.conj()], -1), conj=False
    )
    assert torch.allclose(ssm_kernels.cauchy(v, z, w), full, rtol=1e-12, atol=0)
    x = inputs.exponents(3, 8, dtype=torch.complex128)
    half = ssm_kernels.vandermonde(v, x, 16, conj=False)
    assert torch.allclose(ssm_kernels.vandermonde(v, x, 16), 2 * half.real, rtol=1e-12, atol=0)


def test_public_api_is_reexported():
    for name in ("cauchy", "vandermonde", "vandermonde_transpose", "backends", "__version__"):
        assert name in ssm_kernels.__all__ and hasattr(ssm_kernels, name)
