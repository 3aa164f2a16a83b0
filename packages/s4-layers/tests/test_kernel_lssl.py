"""SSMKernelLSSL: GBT discretisation, Krylov kernel == unrolled recurrence, state passing,
step, learn modes, gradients, errors."""

import copy

import numpy as np
import pytest
import torch

import hippo_core
from s4_layers import S4InputError, SSMKernelLSSL
from s4_layers.kernel_lssl import gbt_discretize, krylov, lssl_kernel, lssl_recurrence


def _rel(out, ref):
    out, ref = out.detach().double(), ref.detach().double()
    return float((out - ref).norm() / ref.norm())


@pytest.mark.parametrize(
    ("method", "alpha"), [("forward", 0.0), ("bilinear", 0.5), ("backward", 1.0)]
)
def test_gbt_matches_hippo_core_discretize(method, alpha):
    A, B = hippo_core.transition("legt", 6)
    dt = torch.tensor([0.01, 0.3], dtype=torch.float64)
    dA, dB = gbt_discretize(torch.as_tensor(A), torch.as_tensor(B), dt, alpha)
    for h in range(2):
        Ad, Bd = hippo_core.discretize(A, B, float(dt[h]), method)
        assert np.allclose(dA[h].numpy(), Ad, rtol=1e-12, atol=1e-12)
        assert np.allclose(dB[h].numpy(), Bd, rtol=1e-12, atol=1e-12)


def test_krylov_doubling_equals_explicit_powers():
    dA = torch.randn(3, 5, 5, dtype=torch.float64) / 3
    x = torch.randn(3, 5, dtype=torch.float64)
    for L in (1, 2, 3, 8, 13):
        X = krylov(dA, x, L)
        ref = torch.stack([torch.linalg.matrix_power(dA, k) @ x[..., None] for k in range(L)], -1)
        assert X.shape == (3, 5, L)
        assert _rel(X, ref[..., 0, :]) < 1e-12


@pytest.mark.parametrize("measure", ["legs", "legt", "lagt", "fout", "lmu"])
@pytest.mark.parametrize("disc", ["forward", "bilinear", "backward"])
def test_kernel_is_the_impulse_response_of_the_recurrence(measure, disc):
    # dt_max 1e-2 keeps forward Euler stable for every measure at N=8 (a kernel that blows up
    # amplifies float32 rounding with it, whatever the algorithm)
    k = SSMKernelLSSL(3, 8, channels=2, init=measure, disc=disc, dt_min=1e-3, dt_max=1e-2)
    L = 37
    K = k(L)
    assert K.shape == (2, 3, L) and K.dtype == torch.float32
    k64 = copy.deepcopy(k).double()
    dA, dB = gbt_discretize(k64.A, k64.B, k64.dt(), k64.alpha)
    impulse = torch.zeros(1, 3, L, dtype=torch.float64)
    impulse[..., 0] = 1.0
    y_ref, _ = lssl_recurrence(dA, dB, k64.C, impulse)
    assert _rel(K, y_ref[0]) < 1e-5
    assert _rel(k64(L), y_ref[0]) < 1e-11


def test_dt_grid_is_log_spaced_and_rate_scales_dt():
    k = SSMKernelLSSL(5, 4, dt_min=1e-3, dt_max=1e-1).double()
    assert torch.allclose(k.dt(), torch.logspace(-3, -1, 5, dtype=torch.float64))
    dA, dB = gbt_discretize(k.A, k.B, 2 * k.dt(), 0.5)
    assert _rel(k(20, rate=2.0), lssl_kernel(dA, dB, k.C, 20)) < 1e-12


def test_state_output_and_next_state_match_the_recurrence():
    k = SSMKernelLSSL(3, 6, channels=2, init="legs").double()
    u = torch.randn(4, 3, 25, dtype=torch.float64)
    x0 = torch.randn(4, 3, 6, dtype=torch.float64)
    dA, dB = k.discrete()
    y_ref, x_ref = lssl_recurrence(dA, dB, k.C, u, state=x0)
    y_zero, _ = lssl_recurrence(dA, dB, k.C, u)
    y_state, x_next = k.forward_state(u, x0)
    assert y_state.shape == (4, 2, 3, 25) and x_next.shape == (4, 3, 6)
    assert _rel(y_state, y_ref - y_zero) < 1e-11
    assert _rel(x_next, x_ref) < 1e-11
    assert _rel(k.next_state(u, None), lssl_recurrence(dA, dB, k.C, u)[1]) < 1e-11


def test_step_matches_the_recurrence_float32():
    k = SSMKernelLSSL(4, 8, channels=2, init="legt")
    u = torch.randn(3, 4, 40)
    dA, dB = k.discrete()
    y_ref, x_ref = lssl_recurrence(dA, dB, k.C, u)
    k.setup_step()
    x = k.default_state(3)
    assert x.shape == (3, 4, 8) and not x.is_complex()
    ys = []
    for t in range(40):
        y, x = k.step(u[..., t], x)
        ys.append(y)
    assert _rel(torch.stack(ys, -1), y_ref) < 1e-5
    assert _rel(x, x_ref) < 1e-5


@pytest.mark.parametrize("learn", [0, 1, 2])
def test_learn_modes_choose_what_is_trained(learn):
    k = SSMKernelLSSL(3, 4, learn=learn, lr=1e-3)
    params = {name for name, _ in k.named_parameters()}
    expected = {"C"} | ({"log_dt"} if learn >= 1 else set()) | ({"A", "B"} if learn == 2 else set())
    assert params == expected
    buffers = {name for name, _ in k.named_buffers()}
    assert buffers == {"log_dt", "A", "B"} - expected
    for name in expected - {"C"}:
        assert getattr(k, name)._optim == {"weight_decay": 0.0, "lr": 1e-3}


def test_learn0_leaves_A_B_dt_bit_identical_after_an_optimiser_step():
    k = SSMKernelLSSL(3, 6, learn=0)
    before = {n: getattr(k, n).clone() for n in ("A", "B", "log_dt")}
    C_before = k.C.detach().clone()
    opt = torch.optim.AdamW(k.parameters(), lr=0.1, weight_decay=0.1)
    k(16).square().sum().backward()
    opt.step()
    for n, t in before.items():
        assert torch.equal(getattr(k, n), t), n
    assert not torch.equal(k.C, C_before)  # the step did happen


def test_learn2_moves_A_and_dt():
    k = SSMKernelLSSL(3, 6, learn=2)
    A0, dt0 = k.A.detach().clone(), k.log_dt.detach().clone()
    opt = torch.optim.SGD(k.parameters(), lr=0.1)
    k(16).square().sum().backward()
    opt.step()
    assert not torch.equal(k.A, A0) and not torch.equal(k.log_dt, dt0)


def test_gradcheck_float64():
    k = SSMKernelLSSL(2, 4, channels=2, learn=2).double()

    def kernel(log_dt, A, B, C):
        dA, dB = gbt_discretize(A, B, torch.exp(log_dt), 0.5)
        return lssl_kernel(dA, dB, C, 9)

    inputs = tuple(t.detach().clone().requires_grad_() for t in (k.log_dt, k.A, k.B, k.C))
    assert torch.autograd.gradcheck(kernel, inputs)

    def state_path(x0, u):
        y, x = k.forward_state(u, x0)
        return y, x

    x0 = torch.randn(2, 2, 4, dtype=torch.float64, requires_grad=True)
    u = torch.randn(2, 2, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(state_path, (x0, u))


@pytest.mark.parametrize(
    ("kw", "names"),
    [
        ({"init": "nope"}, "init"),
        ({"alpha": 1.5}, "alpha"),
        ({"disc": "zoh"}, "disc"),
        ({"alpha": 0.5, "disc": "bilinear"}, "alpha, disc"),
        ({"learn": 3}, "learn"),
        ({"dt_min": 0.2, "dt_max": 0.1}, "dt_min, dt_max"),
        ({"real_transform": "relu"}, "real_transform"),
        ({"d_state": 0}, "d_state"),
    ],
)
def test_bad_options_name_the_argument(kw, names):
    with pytest.raises(S4InputError, match=f"^{names}: expected"):
        SSMKernelLSSL(3, **{"d_state": 4, **kw})


def test_bad_state_and_step_input():
    k = SSMKernelLSSL(3, 4)
    with pytest.raises(S4InputError, match="state: expected real"):
        k.step(torch.randn(2, 3), torch.zeros(2, 3, 5))
    with pytest.raises(S4InputError, match="u: expected one step"):
        k.step(torch.randn(2, 4), k.default_state(2))
    with pytest.raises(S4InputError, match="state: expected a real tensor"):
        k.state_output(torch.zeros(2, 3, 4, dtype=torch.complex64), 5)
    with pytest.raises(S4InputError, match="L: expected"):
        SSMKernelLSSL(3, 4, l_max=8, auto_extend=False)(9)
