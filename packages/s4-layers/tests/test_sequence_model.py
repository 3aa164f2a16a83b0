"""SequenceModel: shapes, carried state, step mode, norms, pooling, errors."""

import pytest
import torch

from s4_layers import S4InputError, SequenceModel


@pytest.mark.parametrize("norm", ["layer", "batch", None])
@pytest.mark.parametrize("prenorm", [True, False])
def test_modes_agree_in_eval(ref, norm, prenorm):
    torch.manual_seed(0)
    model = SequenceModel(
        6,
        n_layers=2,
        prenorm=prenorm,
        norm=norm,
        dropout=0.1,
        layer={"mode": "diag", "d_state": 8},
    ).eval()
    x = torch.randn(2, 24, 6)
    y, none_state = model(x)
    assert y.shape == x.shape and none_state is None
    s0 = model.default_state(2)
    y_s, s = model(x, s0)
    y1, s1 = model(x[:, :9], s0)
    y2, s2 = model(x[:, 9:], s1)
    model.setup_step()
    st, ys = s0, []
    for t in range(24):
        yt, st = model.step(x[:, t], st)
        ys.append(yt)
    assert ref.rel_err(y_s, y.detach()) < 1e-6
    assert ref.rel_err(torch.cat([y1, y2], 1), y.detach()) < 1e-5
    assert ref.rel_err(torch.stack(ys, 1), y.detach()) < 1e-5
    for a, b in zip(s2 + st, s + s):
        assert ref.rel_err(a, b.detach()) < 1e-5


def test_dplr_backbone_trains_one_step():
    model = SequenceModel(4, n_layers=2, layer={"mode": "dplr", "d_state": 8, "dropout": 0.1})
    y, _ = model(torch.randn(3, 10, 4))
    y.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_transposed_layout_and_pooling():
    model = SequenceModel(
        4,
        n_layers=2,
        transposed=True,
        pool={"stride": 2, "expand": 2},
        layer={"mode": "dplr", "d_state": 8},
    )
    y, _ = model(torch.randn(3, 4, 16))
    assert y.shape == (3, 16, 4) and model.d_output == 16
    with pytest.raises(S4InputError, match="setup_step: expected no pooling"):
        model.setup_step()
    with pytest.raises(S4InputError, match="x: expected L divisible by pool stride 2, got L=15"):
        model(torch.randn(3, 4, 15))


def test_bad_input():
    model = SequenceModel(4, n_layers=2, layer={"mode": "diag", "d_state": 8})
    with pytest.raises(S4InputError, match=r"x: expected \(B, L, H\) with H=4, got shape \(2, 4"):
        model(torch.randn(2, 4, 9))
    with pytest.raises(S4InputError, match="expected a list of 2 per-layer states, got list"):
        model(torch.randn(2, 9, 4), [model.default_state(2)[0]])
    with pytest.raises(ValueError, match=r"norm: expected one of .*got 'group'"):
        SequenceModel(4, norm="group")
