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
    with pytest.raises(ValueError, match=r"norm: expected one of .*got 'weight'"):
        SequenceModel(4, norm="weight")


# ---------------------------------------------------------------------------------------------
# the original's options


def test_dropout_reaches_the_layers_unless_they_set_their_own():
    model = SequenceModel(4, n_layers=2, dropout=0.2, layer={"mode": "diag", "d_state": 8})
    for block in model.layers:
        assert block.layer.layer.dropout.p == 0.2 and block.layer.drop.p == 0.2
        assert block.drop.p == 0.2
    own = SequenceModel(4, n_layers=1, dropout=0.2, layer={"mode": "diag", "dropout": 0.0})
    assert isinstance(own.layers[0].layer.drop, torch.nn.Identity)


def test_layer_list_n_repeat_and_pool_placement():
    layer = [{"_name_": "s4", "mode": "diag", "d_state": 8}, {"mode": "dplr", "d_state": 8}]
    model = SequenceModel(4, n_layers=2, n_repeat=2, layer=layer, pool={"stride": 2, "expand": 2})
    kinds = [b.layer.layer.kernel.mode for b in model.layers]
    assert kinds == ["diag", "dplr"] * 4
    assert [b.stride for b in model.layers] == [1, 2] * 4 and model.d_output == 4 * 2**4
    y, _ = model(torch.randn(2, 32, 4))
    assert y.shape == (2, 2, 64)
    with pytest.raises(ValueError, match=r"layer._name_: expected one of .*got 'mha'"):
        SequenceModel(4, layer={"_name_": "mha"})


@pytest.mark.parametrize("norm", ["instance", "group", {"_name_": "layer", "eps": 1e-3}])
def test_norm_types(ref, norm):
    torch.manual_seed(0)
    model = SequenceModel(
        4, n_layers=1, norm=norm, layer={"mode": "diag", "d_state": 8}, track_norms=False
    ).double()
    x = torch.randn(2, 12, 4, dtype=torch.float64)
    y, _ = model(x)
    z = x
    if norm == "instance":  # per (batch, feature) over the sequence, no affine
        z = (x - x.mean(1, keepdim=True)) / (x.var(1, unbiased=False, keepdim=True) + 1e-5).sqrt()
    elif norm == "group":  # one group: over (L, H) jointly, affine 1 / 0
        m, v = x.mean((1, 2), keepdim=True), x.var((1, 2), unbiased=False, keepdim=True)
        z = (x - m) / (v + 1e-5).sqrt()
    else:
        z = torch.nn.functional.layer_norm(x, (4,), eps=1e-3)
    block = model.layers[0]
    expected = x + block.layer(z)[0]
    assert (
        ref.rel_err(
            model.norm.norm(expected.transpose(1, 2)).transpose(1, 2)
            if isinstance(norm, str)
            else model.norm(expected),
            y.detach(),
        )
        < 1e-10
    )
    if isinstance(norm, str):
        with pytest.raises(
            ValueError,
            match=f"setup_step: expected a layer / batch norm or none, got norm='{norm}'",
        ):
            model.setup_step()


def test_residual_kinds_and_no_residual():
    torch.manual_seed(0)
    x = torch.randn(2, 10, 4)
    layer = {"mode": "diag", "d_state": 8}
    base = SequenceModel(4, n_layers=1, norm=None, layer=layer, dropout=0.5).eval()
    branch = base.layers[0].layer(x)[0]
    assert torch.allclose(base(x)[0], x + branch)
    for residual in ("F", None, False):
        ff = SequenceModel(4, n_layers=1, norm=None, layer=layer, residual=residual).eval()
        ff.load_state_dict(base.state_dict())
        assert torch.allclose(ff(x)[0], branch)
    dec = SequenceModel(
        4, n_layers=2, norm=None, layer=layer, residual={"_name_": "D", "l2": False}
    )
    assert dec.layers[1].residual.i_layer == 2
    aff = SequenceModel(
        4, n_layers=1, norm=None, layer=layer, residual={"_name_": "A", "scalar": False}
    )
    assert aff.layers[0].residual.affine.shape == (4,)
    hw = SequenceModel(4, n_layers=1, layer=layer, residual="H")
    assert {"layers.0.residual.Wx.weight", "layers.0.residual.Wy.weight"} <= set(hw.state_dict())
    with pytest.raises(ValueError, match=r"residual: expected None, a bool, one of .*got 'X'"):
        SequenceModel(4, residual="X")


def test_dropinp_drop_path_and_track_norms():
    torch.manual_seed(0)
    model = SequenceModel(
        4,
        n_layers=2,
        layer={"mode": "diag", "d_state": 8},
        dropinp=0.5,
        drop_path=0.5,
        tie_dropout=True,
    )
    x = torch.randn(8, 10, 4)
    model.eval()
    y, _ = model(x)
    assert set(model.metrics) == {"norm/0", "norm/1", "norm/2"}
    assert torch.isclose(model.metrics["norm/0"], x.square().mean())
    model.train()
    y_train, _ = model(x)
    assert not torch.equal(y_train, y)
    path = model.layers[0].drop_path
    kept = path(torch.ones(64, 3, 2))
    assert set(kept.flatten().tolist()) <= {0.0, 2.0} and (kept == 0).all((1, 2)).any()
    with pytest.raises(ValueError, match=r"drop_path: expected a probability in \[0, 1\), got 1.5"):
        SequenceModel(4, drop_path=1.5)


@torch.no_grad()
def test_lengths_reach_every_block(ref):
    torch.manual_seed(0)
    layer = {"mode": "diag", "d_state": 8, "bidirectional": True}
    model = SequenceModel(4, n_layers=2, layer=layer).eval()
    x = torch.randn(2, 16, 4)
    lengths = torch.tensor([9, 16])
    y, _ = model(x, lengths=lengths)
    noisy = x.clone()
    noisy[0, 9:] = 100 * torch.randn(7, 4)
    y_noisy, _ = model(noisy, lengths=lengths)
    assert ref.rel_err(y_noisy[0, :9], y[0, :9]) < 1e-6 and torch.equal(y_noisy[1], y[1])
