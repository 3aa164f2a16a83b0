"""The naive backend (the reference the fast backends are compared with) vs brute force."""

import pytest
import torch
from torch.autograd import gradcheck

from ssm_kernels import naive

DTYPES = [torch.complex64, torch.complex128]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("conj", [True, False])
def test_cauchy_matches_brute_force(agree, dtype, conj, cauchy_batches):
    agree.cauchy("naive", dtype, conj, *cauchy_batches)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("conj", [True, False])
def test_vandermonde_matches_brute_force(agree, dtype, conj, vandermonde_batches):
    agree.vandermonde("naive", dtype, conj, *vandermonde_batches)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_vandermonde_transpose_matches_brute_force(agree, dtype, transpose_batches):
    agree.vandermonde_transpose("naive", dtype, *transpose_batches)


@pytest.mark.parametrize("conj", [True, False])
def test_gradcheck_complex128(inputs, conj):
    c = torch.complex128
    v = inputs.randn(2, 3, 4, dtype=c).requires_grad_()
    w = inputs.poles(3, 4, dtype=c).requires_grad_()
    z = inputs.circle_z(5, dtype=c).requires_grad_()
    assert gradcheck(lambda v, z, w: naive.cauchy(v, z, w, conj), (v, z, w))
    x = inputs.exponents(3, 4, dtype=c).requires_grad_()
    assert gradcheck(lambda v, x: naive.vandermonde(v, x, 7, conj), (v, x))
    u = inputs.randn(2, 1, 7, dtype=c).requires_grad_()
    assert gradcheck(lambda u, v, x: naive.vandermonde_transpose(u, v, x, 7), (u, v, x))
