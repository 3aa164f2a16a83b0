"""SSMKernelDiag: module kernel == functional, rate, channels, step, all states."""

import pytest
import torch

from s4_layers import SSMKernelDiag
from s4_layers.functional import diag_kernel


def _double(k):
    return k.double()


@pytest.mark.parametrize("disc", ["zoh", "bilinear", "dss"])
def test_module_kernel_is_the_functional_kernel_and_rate_doubles_dt(ref, disc):
    k = _double(SSMKernelDiag(3, 8, disc=disc, channels=2, init="diag-inv", l_max=32))
    K = k(32)
    assert K.shape == (2, 3, 32)
    K_ref = ref.kernel(k.dt(), k.A(), k.B_c(), k.C_c(), 32, disc=disc)
    assert ref.rel_err(K, K_ref) < 1e-10
    K2 = k(32, rate=2.0)
    K_ref2 = ref.kernel(2 * k.dt(), k.A(), k.B_c(), k.C_c(), 32, disc=disc)
    assert ref.rel_err(K2, K_ref2) < 1e-10
    assert torch.allclose(K2, diag_kernel(2 * k.dt(), k.A(), k.B_c(), k.C_c(), 32, disc=disc))


def test_step_matches_recurrence_float32(ref):
    k = SSMKernelDiag(4, 16, channels=2)
    u = torch.randn(3, 4, 50)
    y_ref, x_ref, _ = ref.recurrence(k.dt(), k.A(), k.B_c(), k.C_c(), u)
    k.setup_step()
    x = k.default_state(3)
    ys = []
    for t in range(50):
        y, x = k.step(u[..., t], x)
        ys.append(y)
    assert ref.rel_err(torch.stack(ys, -1), y_ref) < 1e-5
    assert ref.rel_err(x, x_ref) < 1e-5


def test_all_states_match_the_recurrence(ref):
    k = _double(SSMKernelDiag(2, 8, disc="bilinear"))
    u = torch.randn(2, 2, 20, dtype=torch.float64)
    x0 = torch.randn(2, 2, 4, dtype=torch.complex128)
    _, _, states = ref.recurrence(k.dt(), k.A(), k.B_c(), k.C_c(), u, disc="bilinear", state=x0)
    allx = k.all_states(u, x0)
    assert allx.shape == (2, 2, 4, 20)
    assert ref.rel_err(allx, states) < 1e-10
