"""Bad input raises ValueError naming what was expected and what was given."""

import pytest
import torch

import ssm_kernels
from ssm_kernels import KernelInputError


@pytest.fixture
def ok(inputs):
    return {
        "v": inputs.randn(2, 3, 8),
        "w": inputs.poles(3, 8),
        "z": inputs.bilinear_z(10),
        "x": inputs.exponents(3, 8),
        "u": inputs.randn(2, 3, 10),
    }


def test_errors_are_value_errors():
    assert issubclass(KernelInputError, ValueError)


def test_cauchy_mismatched_n(ok, inputs):
    with pytest.raises(ValueError, match=r"share the state size N.*\(2, 3, 8\).*\(3, 7\)"):
        ssm_kernels.cauchy(ok["v"], ok["z"], inputs.poles(3, 7))


def test_cauchy_batch_not_broadcastable(ok, inputs):
    with pytest.raises(ValueError, match=r"broadcast.*v batch \(2, 3\).*w batch \(4,\)"):
        ssm_kernels.cauchy(ok["v"], ok["z"], inputs.poles(4, 8))
    with pytest.raises(ValueError, match="broadcast"):
        ssm_kernels.cauchy(ok["v"], inputs.circle_z(5, 10), ok["w"])


def test_cauchy_real_poles_rejected(ok):
    with pytest.raises(ValueError, match=r"w: expected a complex tensor.*got dtype torch.float32"):
        ssm_kernels.cauchy(ok["v"], ok["z"], ok["w"].real)


def test_cauchy_empty_z(ok):
    with pytest.raises(ValueError, match="L >= 1"):
        ssm_kernels.cauchy(ok["v"], ok["z"][:0], ok["w"])


@pytest.mark.parametrize("L", [0, -3, 2.5, True, "10"])
def test_bad_length(ok, L):
    with pytest.raises(ValueError, match="L: expected"):
        ssm_kernels.vandermonde(ok["v"], ok["x"], L)
    with pytest.raises(ValueError, match="L: expected"):
        ssm_kernels.vandermonde_transpose(ok["u"], ok["v"], ok["x"], L)


def test_vandermonde_mismatched_n(ok, inputs):
    with pytest.raises(ValueError, match="v and x to share the state size N"):
        ssm_kernels.vandermonde(ok["v"], inputs.exponents(3, 5), 10)


def test_vandermonde_batch_not_broadcastable(ok, inputs):
    with pytest.raises(ValueError, match=r"v batch \(2, 3\), x batch \(5,\)"):
        ssm_kernels.vandermonde(ok["v"], inputs.exponents(5, 8), 10)


def test_transpose_u_length_must_equal_l(ok):
    with pytest.raises(ValueError, match=r"u: expected last dimension L=12.*\(2, 3, 10\)"):
        ssm_kernels.vandermonde_transpose(ok["u"], ok["v"], ok["x"], 12)


def test_transpose_batch_not_broadcastable(ok, inputs):
    with pytest.raises(ValueError, match=r"u batch \(4, 3\)"):
        ssm_kernels.vandermonde_transpose(inputs.randn(4, 3, 10), ok["v"], ok["x"], 10)


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool], ids=str)
def test_integer_tensors_rejected(ok, dtype):
    with pytest.raises(
        ValueError, match=f"v: expected a floating or complex tensor, got dtype {dtype}"
    ):
        ssm_kernels.vandermonde(ok["v"].real.to(dtype), ok["x"], 10)


def test_non_tensors_and_scalars_rejected(ok):
    with pytest.raises(ValueError, match=r"v: expected a torch\.Tensor, got list"):
        ssm_kernels.cauchy([1.0], ok["z"], ok["w"])
    with pytest.raises(ValueError, match="0-d"):
        ssm_kernels.cauchy(ok["v"][0, 0, 0], ok["z"], ok["w"])


def test_zero_state_size_rejected(ok):
    with pytest.raises(ValueError, match="N >= 1"):
        ssm_kernels.vandermonde(ok["v"][..., :0], ok["x"][..., :0], 10)


def test_devices_must_agree(ok):
    meta = ok["w"].to("meta")
    with pytest.raises(ValueError, match="one device"):
        ssm_kernels.cauchy(ok["v"], ok["z"], meta)
