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
