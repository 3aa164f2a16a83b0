"""SaShiMi: causality at every pooling configuration, conv == step over the whole backbone,
forward-with-state over two halves == whole, parameter count == the docstring formula."""

import pytest
import torch

from s4_layers import S4InputError, SaShiMi, s4_block_param_count, sashimi_param_count

CONFIGS = [
    # (pool, unet, layer mode)
    ([2], False, "diag"),
    ([4, 4], False, "dplr"),
    ([2, 3], True, "diag"),
    ([4, 2], True, "dplr"),
]


def _model(pool, unet, mode, ff=2, n_layers=1, **kw):
    torch.manual_seed(0)
    layer = {"mode": mode, "d_state": 4, "dt_min": 0.01, "dt_max": 0.5}
    net = SaShiMi(4, n_layers=n_layers, pool=pool, expand=2, ff=ff, unet=unet, layer=layer, **kw)
    return net.double().eval()


def _rel(out, ref):
    return float((out - ref).detach().norm() / ref.detach().norm())


def _step_all(net, x, state=None):
    net.setup_step()
    state = net.default_state(x.shape[0]) if state is None else state
    ys = []
    for t in range(x.shape[1]):
        y, state = net.step(x[:, t], state)
        ys.append(y)
    return torch.stack(ys, 1), state


@pytest.mark.parametrize(("pool", "unet", "mode"), CONFIGS)
def test_causality_changing_x_t_leaves_earlier_outputs_unchanged(pool, unet, mode):
    net = _model(pool, unet, mode)
    L = 3 * net.chunk
    x = torch.randn(2, L, 4, dtype=torch.float64)
    y = net(x)[0]
    scale = y.abs().max()
    for t in sorted({1, net.chunk - 1, net.chunk, net.chunk + 1, L - 1}):
        x2 = x.clone()
        x2[:, t] += torch.randn(2, 4, dtype=torch.float64)  # not constant: LayerNorm drops that
        y2 = net(x2)[0]
        # FFT convolution spreads rounding over every output, so the conv path is causal up to
        # float64 rounding (~1e-16 relative); one pooled step of leak would be O(1).
        assert (y2[:, :t] - y[:, :t]).abs().max() <= 1e-12 * scale
        assert (y2[:, t] - y[:, t]).abs().max() > 1e-6  # x[t] does reach y[t]
        # the step path has no FFT: there the earlier outputs are bit-identical
        ys, _ = _step_all(net, x[:, : t + 1])
        ys2, _ = _step_all(net, x2[:, : t + 1])
        assert torch.equal(ys[:, :t], ys2[:, :t])


@pytest.mark.parametrize(("pool", "unet", "mode"), CONFIGS)
def test_conv_forward_equals_step_loop_float64(pool, unet, mode):
    net = _model(pool, unet, mode)
    x = torch.randn(2, 2 * net.chunk, 4, dtype=torch.float64)
    y_conv, state_conv = net(x, state=net.default_state(2))
    y_step, state_step = _step_all(net, x)
    assert _rel(y_step, y_conv) < 1e-8
    # the step state after a whole number of chunks continues the conv path exactly
    x_next = torch.randn(2, net.chunk, 4, dtype=torch.float64)
    y_a = net(x_next, state=state_conv)[0]
    y_b = net(x_next, state=state_step)[0]
    assert _rel(y_a, y_b) < 1e-8


@pytest.mark.parametrize(("pool", "unet", "mode"), CONFIGS)
def test_forward_with_state_over_two_halves_equals_whole(pool, unet, mode):
    net = _model(pool, unet, mode)
    x = torch.randn(2, 4 * net.chunk, 4, dtype=torch.float64)
    y, state = net(x, state=net.default_state(2))
    assert net(x)[1] is None and _rel(net(x)[0], y) < 1e-12
    half = 2 * net.chunk
    y1, s1 = net(x[:, :half], state=net.default_state(2))
    y2, s2 = net(x[:, half:], state=s1)
    assert _rel(torch.cat([y1, y2], 1), y) < 1e-10
    y_more = torch.randn(2, net.chunk, 4, dtype=torch.float64)
    assert _rel(net(y_more, state=s2)[0], net(y_more, state=state)[0]) < 1e-10


@pytest.mark.parametrize(
    ("pool", "expand", "ff", "unet", "n_layers", "mode"),
    [
        ([4, 4], 2, 2, False, 2, "dplr"),
        ([2, 3], 3, 0, True, 1, "diag"),
        ([8], 1, 4, True, 3, "dplr"),
    ],
)
def test_parameter_count_matches_the_formula(pool, expand, ff, unet, n_layers, mode):
    layer = {"mode": mode, "d_state": 8}
    net = SaShiMi(6, n_layers=n_layers, pool=pool, expand=expand, ff=ff, unet=unet, layer=layer)
    counted = sum(p.numel() for p in net.parameters())
    formula = sashimi_param_count(
        6,
        n_layers,
        pool,
        expand,
        ff,
        unet,
        block_params=lambda d: s4_block_param_count(d, d_state=8, mode=mode),
    )
    assert counted == formula


def test_transposed_layout_and_dropout_trains():
    net = _model([2], False, "diag", transposed=True)
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    y, _ = net(x)
    assert y.shape == (2, 4, 8)
    net.transposed = False
    assert _rel(net(x.transpose(1, 2))[0].transpose(1, 2), y) < 1e-12


def test_bad_inputs_name_the_argument():
    net = _model([4], False, "diag")
    with pytest.raises(S4InputError, match=r"x: expected a length L divisible by prod\(pool\) = 4"):
        net(torch.randn(1, 6, 4, dtype=torch.float64))
    with pytest.raises(S4InputError, match=r"x: expected \(B, L, H\) with H=4"):
        net(torch.randn(1, 8, 5, dtype=torch.float64))
    net.setup_step()
    _, state = net.step(torch.randn(1, 4, dtype=torch.float64), net.default_state(1))
    with pytest.raises(S4InputError, match="state: expected a state at a pooling boundary"):
        net(torch.randn(1, 4, 4, dtype=torch.float64), state=state)
    with pytest.raises(S4InputError, match="x: expected one step"):
        net.step(torch.randn(1, 5, dtype=torch.float64), state)
    for bad, name in (({"pool": []}, "pool"), ({"pool": [0]}, "pool"), ({"ff": -1}, "ff")):
        with pytest.raises(S4InputError, match=f"^{name}: expected"):
            SaShiMi(4, **bad)
