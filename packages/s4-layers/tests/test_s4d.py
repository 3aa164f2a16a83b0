"""S4D (the minimal layer): three modes agree; equals the full layer's diag kernel."""

import pytest
import torch

from s4_layers import S4D, S4InputError
from s4_layers.functional import diag_kernel


def test_s4d_kernel_is_the_recurrence(ref):
    layer = S4D(4, d_state=16).double()
    dt, A, B, C = layer._ssm()
    K = diag_kernel(dt, A, B, C.unsqueeze(0), 50)
    assert ref.rel_err(K, ref.kernel(dt, A, B, C.unsqueeze(0), 50)) < 1e-10


def test_s4d_three_modes(ref):
    torch.manual_seed(0)
    layer = S4D(4, d_state=16, transposed=False)
    x = torch.randn(2, 40, 4)
    s0 = layer.default_state(2)
    y, s = layer(x, s0)
    y1, s1 = layer(x[:, :15], s0)
    y2, s2 = layer(x[:, 15:], s1)
    layer.setup_step()
    st, ys = s0, []
    for t in range(40):
        yt, st = layer.step(x[:, t], st)
        ys.append(yt)
    assert ref.rel_err(torch.cat([y1, y2], 1), y.detach()) < 1e-5
    assert ref.rel_err(torch.stack(ys, 1), y.detach()) < 1e-5
    assert ref.rel_err(s2, s.detach()) < 1e-5 and ref.rel_err(st, s.detach()) < 1e-5


def test_s4d_bad_input():
    with pytest.raises(S4InputError, match=r"u: expected \(B, H=4, L\)"):
        S4D(4)(torch.randn(2, 3, 10))


def test_s4d_equals_the_full_stack_diag_layer():
    from s4_layers import S4Block

    torch.manual_seed(1)
    s4d = S4D(3, d_state=8, dt_min=0.01, dt_max=0.2).double()
    block = S4Block(3, mode="diag", d_state=8, init="diag-lin", disc="zoh").double()
    k = block.layer.kernel
    with torch.no_grad():
        k.log_dt.copy_(s4d.log_dt)
        k.A_real.copy_(s4d.log_A_real)  # real_transform="exp": Re(A) = -exp(A_real)
        k.A_imag.copy_(s4d.A_imag)
        k.B.copy_(torch.view_as_real(torch.ones(3, 4, dtype=torch.complex128)))
        k.C.copy_(s4d.C.unsqueeze(0))
        block.layer.D.copy_(s4d.D.unsqueeze(0))
        block.output_linear.linear.load_state_dict(s4d.output_linear.state_dict())
    x = torch.randn(2, 3, 30, dtype=torch.float64)
    y_ref, _ = block(x)
    y, _ = s4d(x)
    assert torch.allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    dt = torch.exp(s4d.log_dt)
    assert torch.all((dt >= 0.01 - 1e-12) & (dt <= 0.2 + 1e-12))
