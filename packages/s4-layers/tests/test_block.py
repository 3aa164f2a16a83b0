"""S4Block: modes agree for S4 and S4D, gating, final activations, layouts, rate."""

import copy

import pytest
import torch

from s4_layers import S4D, S4Block


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
    # final_act=None: no output Linear (the original), so the gated width e H = 12 remains
    assert y.shape == (2, 33, 12 if kw.get("final_act", "glu") is None else 6)
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


# ---------------------------------------------------------------------------------------------
# options with the original's meaning


def test_final_act_none_is_identity_and_id_is_a_plain_linear():
    block = S4Block(4, mode="diag", d_state=8, final_act=None)
    assert isinstance(block.output_linear, torch.nn.Identity) and block.d_output == 4
    assert not any(n.startswith("output_linear") for n, _ in block.named_parameters())
    x = torch.randn(2, 4, 12)
    y, _ = block(x)
    conv, _ = block.layer(x)
    assert torch.equal(y, conv)  # no Linear, no activation after the convolution branch
    plain = S4Block(4, mode="diag", d_state=8, final_act="id")
    assert plain.output_linear.linear.weight.shape == (4, 4)
    assert S4Block(4, mode="diag", d_state=8, postact="id").output_linear.linear.out_features == 4


@torch.no_grad()
def test_bottleneck_runs_the_ssm_on_fewer_features(ref):
    torch.manual_seed(0)
    block = S4Block(8, mode="diag", d_state=8, bottleneck=4, gate=2, transposed=True).double()
    assert block.layer.H == 2 and block.input_linear.linear.weight.shape == (2, 8)
    assert block.output_gate.linear.weight.shape == (16, 2)
    x = torch.randn(2, 8, 20, dtype=torch.float64)
    y, _ = block(x)
    # the same computation written out: v = gate(x), u = W_in x, z = conv(u), out(v * W_g z)
    u = torch.einsum("oh,bhl->bol", block.input_linear.linear.weight, x)
    u = u + block.input_linear.linear.bias[:, None]
    z, _ = block.layer(u)
    z = block.output_gate(z) * block.input_gate(x)
    assert ref.rel_err(y, block.output_linear(z)) < 1e-12
    block.setup_step()
    st = block.default_state(2)
    ys = []
    for t in range(20):
        yt, st = block.step(x[..., t], st)
        ys.append(yt)
    assert ref.rel_err(torch.stack(ys, -1), y) < 1e-10
    with pytest.raises(ValueError, match="bottleneck: expected None or an int dividing d_model=8"):
        S4Block(8, bottleneck=3)


def test_gate_without_output_gate_when_widths_match():
    block = S4Block(4, mode="diag", d_state=8, gate=1)
    assert not hasattr(block, "output_gate")  # the original adds it only when widths differ
    assert hasattr(S4Block(4, mode="diag", d_state=8, gate=2), "output_gate")


def test_weight_norm_and_initializer():
    torch.manual_seed(0)
    block = S4Block(4, mode="diag", d_state=8, weight_norm=True, initializer="zero", gate=2)
    lin = block.output_linear.linear
    assert hasattr(lin, "parametrizations") and lin.parametrizations.weight.original1.shape == (
        8,
        8,
    )
    names = dict(block.named_parameters())
    assert "output_linear.linear.parametrizations.weight.original0" in names
    y, _ = block(torch.randn(2, 4, 10))
    y.sum().backward()
    assert names["output_linear.linear.parametrizations.weight.original1"].grad is not None
    xavier = S4Block(4, mode="diag", d_state=8, initializer="xavier")
    assert xavier.output_linear.linear.weight.std() > 0
    ones = S4Block(4, mode="diag", d_state=8, initializer="one")
    assert torch.all(ones.output_linear.linear.weight == 1)
    with pytest.raises(ValueError, match=r"initializer: expected one of .*got 'he'"):
        S4Block(4, mode="diag", d_state=8, initializer="he")


def test_tie_dropout_shares_the_mask_along_the_sequence():
    torch.manual_seed(0)
    block = S4Block(4, mode="diag", d_state=8, dropout=0.5, tie_dropout=True, final_act=None)
    block.train()
    mask_source = torch.ones(3, 4, 1) * torch.randn(1, 1, 50)
    out = block.drop(mask_source.abs() + 1)
    zero = out == 0
    assert zero.any() and (zero.all(-1) | ~zero.any(-1)).all()  # whole rows dropped or kept
    block.eval()
    x = torch.randn(2, 4, 16)
    assert torch.equal(block(x)[0], block(x)[0])


@torch.no_grad()
def test_lengths_mask_padding_before_the_convolution(ref):
    torch.manual_seed(0)
    block = S4Block(4, mode="diag", d_state=8, bidirectional=True).eval()
    x = torch.randn(2, 4, 16)
    lengths = torch.tensor([10, 16])
    y, _ = block(x, lengths=lengths)
    garbage = x.clone()
    garbage[0, :, 10:] = 1e3 * torch.randn(4, 6)  # padding must never reach positions < 10
    y_garbage, _ = block(garbage, lengths=lengths)
    assert ref.rel_err(y_garbage[0, :, :10], y[0, :, :10]) < 1e-6
    clean = x.clone()
    clean[0, :, 10:] = 0
    assert ref.rel_err(block(clean)[0], y) < 1e-6
    assert torch.equal(block(x, lengths=16)[0], block(x)[0])
    with pytest.raises(ValueError, match=r"lengths: expected values in \[0, L=16\], got \[17\]"):
        block(x, lengths=17)
    with pytest.raises(ValueError, match=r"lengths: expected integers of shape \(B,\) = \(2,\)"):
        block(x, lengths=torch.tensor([3, 4, 5]))


@pytest.mark.parametrize(
    ("make", "step_mode"),
    [
        (lambda: S4Block(8, mode="diag", d_state=16, channels=2), None),
        (lambda: S4Block(8, mode="dplr", d_state=16), "dense"),
        (lambda: S4Block(8, mode="dplr", d_state=16), "linear"),
        (lambda: S4D(8, d_state=16), None),
    ],
)
def test_no_grad_steps_of_two_batches_with_a_parameter_change(ref, make, step_mode):
    """Inference steps (recycled state buffers, cached transposed Linear weight) on two
    interleaved state chains of different batch sizes equal the float64 forward with state,
    also when the parameters change in place between two steps (the caches follow)."""
    torch.manual_seed(0)
    layer = make().eval()
    xa, xb = torch.randn(3, 8, 20), torch.randn(2, 8, 20)
    layer64 = copy.deepcopy(layer).double()

    def change(m):  # in place, as an optimiser step
        params = dict(m.named_parameters())
        params[next(n for n in params if n.startswith("output_linear") and "weight" in n)].mul_(0.5)
        params[next(n for n in params if "log_dt" in n)].add_(0.3)

    with torch.no_grad():
        layer.setup_step(mode=step_mode) if step_mode else layer.setup_step()
        sa, sb = layer.default_state(3), layer.default_state(2)
        ya, yb = [], []
        for t in range(20):
            if t == 12:
                change(layer)
            out, sa = layer.step(xa[..., t], sa)
            ya.append(out)
            out, sb = layer.step(xb[..., t], sb)
            yb.append(out)
        for x, ys, s in ((xa, ya, sa), (xb, yb, sb)):
            m, x64 = copy.deepcopy(layer64), x.double()  # forward with state, split at t=12
            y1, s1 = m(x64[..., :12], state=m.default_state(x.shape[0]))
            change(m)
            y2, s2 = m(x64[..., 12:], state=s1)
            assert ref.rel_err(torch.stack(ys, -1), torch.cat([y1, y2], -1)) < 1e-5
            assert ref.rel_err(s, s2) < 1e-5


@pytest.mark.parametrize("act", [None, "glu", "gelu"])
@pytest.mark.parametrize("weight_norm", [False, True])
def test_pointwise_linear_is_the_same_map_in_either_layout(act, weight_norm):
    """The output linear of (B, H, L): one GEMM on (B L, H) rows when x is laid out as
    (H, B, L) (a direct convolution's output), a batched matmul otherwise; both equal
    act(x^T W^T + b) in float64, values and every gradient, and the GEMM path hands back
    (B, L, O) rows (the residual stream's layout)."""
    from s4_layers.block import _PointwiseLinear

    torch.manual_seed(0)
    layer = _PointwiseLinear(5, 3, True, act, weight_norm=weight_norm).double()
    x_hbl = torch.randn(5, 4, 7, dtype=torch.float64).permute(1, 0, 2).requires_grad_()
    x_bhl = x_hbl.detach().contiguous().requires_grad_()
    W, b = layer.linear.weight, layer.linear.bias
    width = W.shape[0]
    ref = x_bhl.detach().transpose(1, 2) @ W.detach().T + b.detach()  # (B, L, width)
    if act == "glu":
        ref = torch.nn.functional.glu(ref, dim=-1)
    elif act == "gelu":
        ref = torch.nn.functional.gelu(ref)
    outs = [layer(x) for x in (x_hbl, x_bhl)]
    for out in outs:
        torch.testing.assert_close(out, ref.transpose(1, 2), rtol=1e-13, atol=1e-13)
    assert outs[0].transpose(1, 2).is_contiguous()  # (B, L, O) rows
    g = torch.randn(outs[0].shape, dtype=torch.float64)
    params = list(layer.parameters())
    grads = [torch.autograd.grad(out, [x, *params], g) for out, x in zip(outs, (x_hbl, x_bhl))]
    for a, c in zip(*grads, strict=True):
        torch.testing.assert_close(a, c, rtol=1e-12, atol=1e-12)
    assert width == (6 if act == "glu" else 3)
    small = torch.randn(5, 2, 3, dtype=torch.float64).permute(1, 0, 2)  # (H, B, L) memory
    assert small.transpose(0, 1).is_contiguous()
    assert torch.autograd.gradcheck(layer, (small.requires_grad_(),))
