"""The keops backend vs brute force (values) and vs the torch backend (gradients).

Kept to five compiled formulas (F1, F2, F3 in complex64; F1, F3 in complex128): pykeops
compiles each once (several seconds on CPU) and caches it, and every batch shape reuses them
because the backend always flattens to one batch dimension.
"""

import pytest
import torch

import ssm_kernels
from ssm_kernels import keops as keops_backend

_REASON = keops_backend.unavailable_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"keops backend: {_REASON}")


@pytest.mark.parametrize("conj", [True, False])
def test_cauchy_matches_brute_force(agree, conj, cauchy_batches):
    agree.cauchy("keops", torch.complex64, conj, *cauchy_batches)


@pytest.mark.parametrize("conj", [True, False])
def test_vandermonde_matches_brute_force(agree, conj, vandermonde_batches):
    agree.vandermonde("keops", torch.complex64, conj, *vandermonde_batches)


def test_vandermonde_transpose_matches_brute_force(agree, transpose_batches):
    agree.vandermonde_transpose("keops", torch.complex64, *transpose_batches)


def test_complex128(agree):
    agree.cauchy("keops", torch.complex128, True, (2, 3), (3,), ())
    agree.vandermonde("keops", torch.complex128, False, (2, 3), (3,))
    agree.vandermonde_transpose("keops", torch.complex128, (2, 3), (3,), (3,))


def _compare_grads(grad_of, make, tensors):
    out_k, got = grad_of(make("keops"), tensors)
    out_t, ref = grad_of(make("torch"), tensors)
    assert ((out_k - out_t).norm() / out_t.norm()).item() <= 1e-5
    for g, r in zip(got, ref):
        assert g.shape == r.shape and g.dtype == r.dtype
        err = ((g - r).norm() / r.norm()).item()
        assert err <= 1e-5, err


@pytest.mark.parametrize("conj", [True, False])
def test_cauchy_gradients_match_torch(inputs, grad_of, conj):
    tensors = (inputs.randn(2, 3, 8), inputs.bilinear_z(40), inputs.poles(3, 8))
    make = lambda b: lambda v, z, w: ssm_kernels.cauchy(v, z, w, conj=conj, backend=b)
    _compare_grads(grad_of, make, tensors)


def test_vandermonde_gradients_match_torch(inputs, grad_of):
    tensors = (inputs.randn(2, 3, 8), inputs.exponents(3, 8))
    make = lambda b: lambda v, x: ssm_kernels.vandermonde(v, x, 40, backend=b)
    _compare_grads(grad_of, make, tensors)


def test_vandermonde_transpose_gradients_match_torch(inputs, grad_of):
    tensors = (inputs.randn(2, 3, 40), inputs.randn(3, 8), inputs.exponents(3, 8))
    make = lambda b: lambda u, v, x: ssm_kernels.vandermonde_transpose(u, v, x, 40, backend=b)
    _compare_grads(grad_of, make, tensors)


def test_cpu_tensors_run_on_cpu_even_when_keops_sees_cuda(agree, monkeypatch):
    """The original's failure: pykeops' backend='auto' picks the GPU whenever CUDA libraries
    load, and CPU tensors then die with KeyError 'nvrtc'. The device must follow the tensor."""
    pykeops = keops_backend._pykeops()
    monkeypatch.setattr(pykeops.config, "gpu_available", True)
    assert keops_backend._device_kwargs(torch.zeros(1)) == {"backend": "CPU"}
    agree.cauchy("keops", torch.complex64, True, (3,), (3,), ())


def test_cuda_tensors_need_a_gpu_build(monkeypatch):
    pykeops = keops_backend._pykeops()
    monkeypatch.setattr(pykeops.config, "gpu_available", False)
    with pytest.raises(ValueError, match="GPU support"):
        keops_backend.check_inputs(torch.device("cuda", 0), torch.complex64)
