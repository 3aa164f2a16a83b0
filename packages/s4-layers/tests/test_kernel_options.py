"""Kernel options with the original's meaning: n_ssm, dt_tie, dt_transform, dt_fast,
deterministic, is_real, bandlimit, imag_transform="sigmoid", lr reaching C, wd as a dict.

Numerics against float64 brute force: an unrolled diagonal recurrence written here with the
per-state dt (dt_tie=False) and the real-valued state (is_real), which the shared conftest
references do not cover.
"""

import math

import pytest
import torch

from s4_layers import FFTConv, S4InputError, SSMKernel, param_groups


def brute_diag_kernel(dt, A, B, C, L, disc):
    """K (channels, H, L) = 2 Re(sum_n C dA^l dB), dt broadcastable to A (H, N2): unrolled."""
    dt, A, B, C = (
        dt.double(),
        A.to(torch.complex128),
        B.to(torch.complex128),
        C.to(torch.complex128),
    )
    dtA = dt * A
    if disc == "zoh":
        dA, dB = torch.exp(dtA), (torch.exp(dtA) - 1) / A * B
    else:
        dA, dB = (1 + dtA / 2) / (1 - dtA / 2), dt * B / (1 - dtA / 2)
    x, out = dB, []
    for _ in range(L):
        out.append(2 * torch.einsum("chn,hn->ch", C, x).real)
        x = dA * x
    return torch.stack(out, -1)


def rel(a, b):
    b = b.detach().double()
    a = a.detach()
    return float((a.detach().double() - b).norm() / b.norm())


def test_n_ssm_shares_parameters_and_equals_the_tiled_kernel():
    torch.manual_seed(0)
    k = SSMKernel("dplr", 6, 8, n_ssm=3)
    assert k.A_real.shape == (3, 4) and k.P.shape == (1, 3, 4, 2) and k.log_dt.shape == (6,)
    full = SSMKernel("dplr", 6, 8)
    with torch.no_grad():
        for name in ("A_real", "A_imag", "B"):
            getattr(full, name).copy_(
                getattr(k, name).repeat(2, *([1] * (getattr(k, name).dim() - 1)))
            )
        full.P.copy_(k.P.repeat(1, 2, 1, 1))
        full.log_dt.copy_(k.log_dt)
        full.C.copy_(k.C)
    assert torch.allclose(k(16), full(16), atol=1e-6)
    with pytest.raises(S4InputError, match="n_ssm: expected a divisor of d_model=6, got 4"):
        SSMKernel("diag", 6, 8, n_ssm=4)


@pytest.mark.parametrize("disc", ["zoh", "bilinear"])
def test_untied_dt_is_exact_per_state(disc):
    torch.manual_seed(1)
    k = SSMKernel("diag", 3, 8, init="diag-lin", dt_tie=False, disc=disc).double()
    assert k.log_dt.shape == (3, 4)
    dt = torch.exp(k.log_dt)
    ref = brute_diag_kernel(
        dt, k._A_continuous(), k._per_channel(torch.view_as_complex(k.B)), k.C_c(), 40, disc
    )
    assert rel(k(40), ref) < 1e-12
    # rate 2 == the doubled per-state dt
    ref2 = brute_diag_kernel(
        2 * dt, k._A_continuous(), k._per_channel(torch.view_as_complex(k.B)), k.C_c(), 40, disc
    )
    assert rel(k(40, rate=2.0), ref2) < 1e-12
    # conv == step in float32
    layer = FFTConv(3, d_state=8, mode="diag", dt_tie=False, disc=disc)
    x = torch.randn(2, 3, 30)
    y, _ = layer(x)
    layer.setup_step()
    st, ys = layer.default_state(2), []
    for t in range(30):
        yt, st = layer.step(x[..., t], st)
        ys.append(yt)
    assert rel(torch.stack(ys, -1), y.double()) < 1e-5
    with pytest.raises(
        S4InputError, match="is_real, dt_tie: expected is_real=False and dt_tie=True"
    ):
        SSMKernel("dplr", 3, 8, dt_tie=False)


@pytest.mark.parametrize("transform", ["softplus", "sigmoid", "relu", "none"])
def test_dt_transform_keeps_the_init_range_and_stores_inv_dt(transform):
    torch.manual_seed(2)
    k = SSMKernel("diag", 64, 8, dt_transform=transform, dt_min=1e-3, dt_max=1e-1)
    assert "inv_dt" in dict(k.named_parameters()) and not hasattr(k, "log_dt")
    dt = k.dt()
    assert bool((dt >= 1e-3 * (1 - 1e-4)).all() and (dt <= 1e-1 * (1 + 1e-4)).all())
    expected = {
        "softplus": torch.nn.functional.softplus(k.inv_dt),
        "sigmoid": torch.sigmoid(k.inv_dt),
        "relu": torch.relu(k.inv_dt) + 1e-4,  # the original's relu never reaches 0
        "none": k.inv_dt,
    }[transform]
    assert torch.allclose(dt, expected)
    fast = SSMKernel("diag", 64, 8, dt_fast=True)
    assert torch.allclose(fast.dt(), torch.exp(torch.sinh(fast.inv_dt)))
    assert bool((fast.dt() >= 1e-3 * (1 - 1e-4)).all() and (fast.dt() <= 0.1 * (1 + 1e-4)).all())
    with pytest.raises(ValueError, match=r"dt_transform: expected one of .*got 'square'"):
        SSMKernel("diag", 2, 8, dt_transform="square")


def test_deterministic_init():
    a = SSMKernel("dplr", 5, 8, deterministic=True)
    torch.manual_seed(123)
    b = SSMKernel("dplr", 5, 8, deterministic=True)
    assert torch.equal(a.C, b.C) and torch.equal(a.log_dt, b.log_dt)
    expected = torch.exp(torch.linspace(math.log(1e-3), math.log(1e-1), 5))
    assert torch.allclose(a.dt(), expected)
    lin = SSMKernel("diag", 2, 8, init="diag-lin", deterministic=True)
    assert torch.equal(lin.C_c()[..., 0], torch.ones(1, 2, dtype=torch.complex64))
    assert lin.C_c()[..., 1:].abs().max() == 0  # C = e_0: reads out the first coefficient
    with pytest.raises(S4InputError, match="deterministic: expected dt_tie=True and dt_transform"):
        SSMKernel("diag", 2, 8, deterministic=True, dt_transform="softplus")


@pytest.mark.parametrize("disc", ["zoh", "bilinear"])
def test_is_real_is_a_real_exponential_moving_average(disc):
    torch.manual_seed(3)
    k = SSMKernel("diag", 3, 5, is_real=True, disc=disc).double()
    assert k.B.shape == (3, 5) and k.C.shape == (1, 3, 5) and not hasattr(k, "A_imag")
    assert k.default_state(2).shape == (2, 3, 5)  # d_state real states
    A = -torch.exp(k.A_real)
    dt = torch.exp(k.log_dt)[:, None]
    dtA = dt * A
    dA = torch.exp(dtA) if disc == "zoh" else (1 + dtA / 2) / (1 - dtA / 2)
    dB = (dA - 1) / A * k.B if disc == "zoh" else dt * k.B / (1 - dtA / 2)
    ls = torch.arange(30, dtype=torch.float64)
    ref = 2 * torch.einsum("chn,hn,hnl->chl", k.C, dB, dA.unsqueeze(-1) ** ls)
    assert rel(k(30), ref) < 1e-12
    with pytest.raises(S4InputError, match="expected is_real=False and dt_tie=True for the DPLR"):
        SSMKernel("dplr", 3, 8, is_real=True)


def test_bandlimit_masks_high_frequencies():
    torch.manual_seed(4)
    k = SSMKernel("diag", 4, 16, init="diag-lin", dt_min=0.01, bandlimit=0.1).double()
    freqs = torch.exp(k.log_dt)[:, None] * k.A().imag.abs() / (2 * math.pi)
    mask = freqs < 0.05
    assert not mask.all() and mask.any()
    C = torch.view_as_complex(k.C)
    assert torch.equal(k.C_c(), C * mask)
    ref = brute_diag_kernel(torch.exp(k.log_dt)[:, None], k.A(), k.B_c(), C * mask, 20, "zoh")
    assert rel(k(20), ref) < 1e-12
    with pytest.raises(S4InputError, match="bandlimit: expected None or a float > 0, got -1"):
        SSMKernel("diag", 4, 16, bandlimit=-1)


def test_sigmoid_imag_transform():
    k = SSMKernel("diag", 2, 8, init="diag-real", imag_transform="sigmoid")
    assert torch.allclose(k.A().imag, torch.sigmoid(k.A_imag))


def test_lr_reaches_C_and_wd_dict_works_through_param_groups():
    k = SSMKernel("diag", 3, 8, lr=1e-3, wd={"dt": 0.0, "A": 0.5})
    params = dict(k.named_parameters())
    assert params["C"]._optim == {"lr": 1e-3}  # the optimiser's weight decay, our lr
    assert params["log_dt"]._optim == {"weight_decay": 0.0, "lr": 1e-3}
    assert params["A_real"]._optim == {"weight_decay": 0.5, "lr": 1e-3}
    assert params["B"]._optim == {"lr": 1e-3}  # B missing from wd: the optimiser's default
    groups = param_groups(k, lr=1e-2, weight_decay=0.1)
    by_id = {id(p): g for g in groups for p in g["params"]}
    assert (by_id[id(params["B"])]["lr"], by_id[id(params["B"])]["weight_decay"]) == (1e-3, 0.1)
    assert by_id[id(params["A_real"])]["weight_decay"] == 0.5
    opt = torch.optim.AdamW(groups)
    k(8).sum().backward()
    opt.step()
    dict_lr = SSMKernel("diag", 3, 8, lr={"C": 0.0, "dt": 1e-3})
    assert "C" in dict(dict_lr.named_buffers())  # lr 0 freezes C too
    with pytest.raises(
        S4InputError, match=r"wd: expected keys among \['A', 'B', 'dt'\], got \['C'\]"
    ):
        SSMKernel("diag", 3, 8, wd={"C": 0.1})


def test_init_args_reach_hippo_core():
    with pytest.raises(ValueError, match=r"got unknown \['B_clipp'\]"):
        SSMKernel("dplr", 2, 8, B_clipp=2.0)


def test_deterministic_C_reads_out_the_first_hippo_coefficient():
    import hippo_core

    N, L = 8, 24
    k = SSMKernel("dplr", 2, N, init="legs", deterministic=True).double()
    V = torch.as_tensor(hippo_core.dplr("legs", N, rank=1, H=2).V, dtype=torch.complex128)
    V_full = torch.cat([V, V.conj()], 1)  # x_hippo = V_full [x, conj x]
    A_hippo = torch.as_tensor(hippo_core.transition("legs", N)[0], dtype=torch.float64)
    eye = torch.eye(N, dtype=torch.float64)
    for h in range(2):
        dt = float(k.dt()[h].detach())
        B = k.B_c()[h].detach()
        B_hippo = (V_full @ torch.cat([B, B.conj()])).real
        inv = torch.linalg.inv(eye - dt / 2 * A_hippo)
        dA, x = inv @ (eye + dt / 2 * A_hippo), inv @ (dt * B_hippo)
        ref = []
        for _ in range(L):
            ref.append(x[0])  # y = the first HiPPO coefficient
            x = dA @ x
        # 1e-6: the kernel's A and P were rounded to float32 at construction
        assert rel(k(L)[0, h], torch.stack(ref)) < 1e-6
