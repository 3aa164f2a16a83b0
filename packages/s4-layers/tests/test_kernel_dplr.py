"""SSMKernelDPLR: rate, l_max extension exactness, dense and linear step modes (float32)."""

import pytest
import torch

from s4_layers import S4InputError, SSMKernelDPLR


def test_rate_two_is_doubled_dt(ref):
    k = SSMKernelDPLR(3, 8, channels=2).double()
    K2 = k(20, rate=2.0)
    K_ref = ref.kernel(2 * k.dt(), k.A(), k.B_c(), k.C_c(), 20, P=k.P_c(), disc="bilinear")
    assert ref.rel_err(K2, K_ref) < 1e-10


def test_l_max_extension_is_exact(ref):
    k = SSMKernelDPLR(2, 16, l_max=64).double()
    K64 = k(64)
    K200 = k(200)  # extends l_max to 256 and recomputes C-tilde for L = 200 exactly
    assert k.l_max == 256
    K_ref = ref.kernel(k.dt(), k.A(), k.B_c(), k.C_c(), 200, P=k.P_c(), disc="bilinear")
    assert ref.rel_err(K200, K_ref) < 1e-10
    assert ref.rel_err(K200[..., :64], K64.detach().numpy()) < 1e-10


@pytest.mark.parametrize("mode", ["dense", "linear"])
@pytest.mark.parametrize("init", ["legs", "legt", "fout"])
def test_step_modes_match_the_recurrence_float32(ref, mode, init):
    rank = 2 if init == "legt" else 1
    k = SSMKernelDPLR(4, 16, channels=2, init=init, rank=rank)
    u = torch.randn(3, 4, 60)
    y_ref, x_ref, _ = ref.recurrence(k.dt(), k.A(), k.B_c(), k.C_c(), u, P=k.P_c(), disc="bilinear")
    k.setup_step(mode=mode)
    x = k.default_state(3)
    ys = []
    for t in range(60):
        y, x = k.step(u[..., t], x)
        ys.append(y)
    assert ref.rel_err(torch.stack(ys, -1), y_ref) < 1e-5
    assert ref.rel_err(x, x_ref) < 1e-5


def test_forward_state_is_state_output_and_next_state():
    k = SSMKernelDPLR(3, 8).double()
    u = torch.randn(2, 3, 9, dtype=torch.float64)
    x0 = torch.randn(2, 3, 4, dtype=torch.complex128)
    y, x = k.forward_state(u, x0)
    assert torch.allclose(y, k.state_output(x0, 9)) and torch.allclose(x, k.next_state(u, x0))


def test_unknown_step_mode():
    k = SSMKernelDPLR(2, 8)
    with pytest.raises(S4InputError, match=r"mode: expected one of .*'linear'\], got 'fast'"):
        k.setup_step(mode="fast")
