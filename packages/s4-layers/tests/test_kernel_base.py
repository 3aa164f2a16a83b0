"""Parameterisation shared by the kernels: inits, transforms, lr / freezing, l_max, errors."""

import pytest
import torch

import hippo_core
from s4_layers import IMAG_TRANSFORMS, REAL_TRANSFORMS, S4InputError, SSMKernel


@pytest.mark.parametrize("mode", ["diag", "dplr"])
@pytest.mark.parametrize("real_transform", REAL_TRANSFORMS)
def test_real_transforms_reproduce_the_init(mode, real_transform):
    k = SSMKernel(mode, 4, 8, init="legs", real_transform=real_transform)
    lam = torch.as_tensor(hippo_core.dplr("legs", 8, H=4).Lambda, dtype=torch.complex64)
    assert torch.allclose(k.A().real, lam.real, atol=1e-5)
    assert torch.allclose(k.A().imag, lam.imag, atol=1e-5)
    assert torch.isfinite(k(16)).all()


@pytest.mark.parametrize("imag_transform", IMAG_TRANSFORMS)
def test_imag_transforms(imag_transform):
    k = SSMKernel("diag", 2, 8, init="diag-lin", imag_transform=imag_transform)
    lam = torch.as_tensor(hippo_core.dplr("lin", 8, H=2).Lambda, dtype=torch.complex64)
    floor = 1e-4 if imag_transform == "relu" else 1e-6  # relu(x) + 1e-4, as in the original
    expected = lam.imag if imag_transform == "none" else lam.imag.clamp(min=floor)
    if imag_transform == "sigmoid":  # sigmoid's range is (0, 1): larger parts saturate
        expected = expected.clamp(max=1 - 1e-4)
    assert torch.allclose(k.A().imag, expected, rtol=1e-4, atol=1e-5)


def test_every_init_builds_a_finite_kernel():
    for init in hippo_core.DPLR_INITS:
        for mode in ("diag", "dplr"):
            rank = 2 if init == "legt" and mode == "dplr" else 1  # diag modes need no rank
            K = SSMKernel(mode, 2, 8, init=init, rank=rank)(10)
            assert K.shape == (1, 2, 10) and torch.isfinite(K).all(), (init, mode)


def test_lr_zero_freezes_and_lr_tags():
    k = SSMKernel("dplr", 3, 8, lr={"dt": 0.0, "A": 1e-3, "B": None})
    names = dict(k.named_parameters())
    buffers = dict(k.named_buffers())
    assert "log_dt" in buffers and "log_dt" not in names
    assert names["A_real"]._optim == {"weight_decay": 0.0, "lr": 1e-3}
    assert names["P"]._optim == {"weight_decay": 0.0, "lr": 1e-3}
    assert names["B"]._optim == {"weight_decay": 0.0}
    assert not hasattr(names["C"], "_optim")
    frozen = SSMKernel("diag", 3, 8, lr=0.0)  # a float lr reaches C too (the original's rule)
    assert {n for n, _ in frozen.named_parameters()} == set()


def test_l_max_extension_and_error():
    k = SSMKernel("dplr", 2, 8, l_max=16)
    k(40)
    assert k.l_max == 64
    fixed = SSMKernel("diag", 2, 8, l_max=16, auto_extend=False)
    with pytest.raises(S4InputError, match=r"L: expected a length <= l_max=16.*got L=17"):
        fixed(17)


def test_bad_options_name_expected_and_given():
    with pytest.raises(ValueError, match=r"init: expected one of .*got 'legz'"):
        SSMKernel("dplr", 2, 8, init="legz")
    with pytest.raises(ValueError, match=r"mode: expected one of .*got 'nplr2'"):
        SSMKernel("nplr2", 2, 8)
    with pytest.raises(ValueError, match=r"real_transform: expected one of .*got 'square'"):
        SSMKernel("diag", 2, 8, real_transform="square")
    with pytest.raises(ValueError, match=r"imag_transform: expected one of .*got 'cube'"):
        SSMKernel("diag", 2, 8, imag_transform="cube")
    with pytest.raises(ValueError, match=r"disc: expected one of .*got 'foh'"):
        SSMKernel("diag", 2, 8, disc="foh")
    with pytest.raises(ValueError, match=r"disc: expected one of \['bilinear'\], got 'zoh'"):
        SSMKernel("dplr", 2, 8, disc="zoh")
    with pytest.raises(ValueError, match=r"legt.*rank >= 2"):
        SSMKernel("dplr", 2, 8, init="legt", rank=1)
    with pytest.raises(ValueError, match="d_state: expected an even state size N, got 7"):
        SSMKernel("diag", 2, 7)
    with pytest.raises(ValueError, match="lr: expected keys among"):
        SSMKernel("diag", 2, 8, lr={"Q": 0.1})
    k = SSMKernel("diag", 2, 8)
    with pytest.raises(S4InputError, match=r"state: expected complex \(batch, H, N/2\) = \(1, 2"):
        k.step(torch.randn(1, 2), torch.zeros(1, 2, 5, dtype=torch.cfloat))
    with pytest.raises(S4InputError, match=r"u: expected one step of shape \(batch, H=2\)"):
        k.step(torch.randn(1, 3), k.default_state(1))
