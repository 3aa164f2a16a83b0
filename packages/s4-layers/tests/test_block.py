"""S4Block: modes agree for S4 and S4D, gating, final activations, layouts, rate."""

import copy

import pytest
import torch

from s4_layers import S4Block


@pytest.mark.parametrize(
    ("kw", "step_mode"),
    [
        ({"mode": "dplr"}, "dense"),
        ({"mode": "dplr", "init": "legt", "rank": 2}, "linear"),
        ({"mode": "diag", "init": "diag-lin"}, None),
        ({"mode": "diag", "gate": 2, "gate_act": "gelu", "final_act": None}, None),
    ],
)
def test_block_three_modes(ref, kw, step_mode):
    torch.manual_seed(0)
    block = S4Block(6, d_state=16, channels=2, transposed=False, **kw)
    x = torch.randn(2, 33, 6)
    ref_block = copy.deepcopy(block).double()
    y64, s64 = ref_block(x.double(), state=ref_block.default_state(2))
    y, s = block(x, state=block.default_state(2))
    y1, s1 = block(x[:, :10], state=block.default_state(2))
    y2, s2 = block(x[:, 10:], state=s1)
    block.setup_step(mode=step_mode)
    st, ys = block.default_state(2), []
    for t in range(33):
        yt, st = block.step(x[:, t], st)
        ys.append(yt)
    target = y64.detach()
    assert y.shape == x.shape
    for out in (y, torch.cat([y1, y2], 1), torch.stack(ys, 1)):
        assert ref.rel_err(out, target) < 1e-5
    for out in (s, s2, st):
        assert ref.rel_err(out, s64.detach()) < 1e-5


def test_rate_two_equals_doubled_dt():
    torch.manual_seed(0)
    block = S4Block(4, mode="dplr", d_state=8).double()
    x = torch.randn(1, 4, 16, dtype=torch.float64)
    y2, _ = block(x, rate=2.0)
    with torch.no_grad():
        block.layer.kernel.log_dt += torch.log(torch.tensor(2.0, dtype=torch.float64))
    y_dt, _ = block(x)
    assert torch.allclose(y2, y_dt, atol=1e-12)


def test_backward_reaches_every_parameter():
    block = S4Block(4, mode="dplr", d_state=8, gate=2)
    y, _ = block(torch.randn(2, 4, 16))
    y.square().mean().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
