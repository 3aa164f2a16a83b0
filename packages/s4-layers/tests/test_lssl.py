"""LSSL layer: conv == step == two halves with carried state (float64), the layer against a
plain recurrence, learn=0 frozen, and the kernel as a drop-in for FFTConv / S4Block."""

import pytest
import torch

import s4_layers
from s4_layers import LSSL, FFTConv, S4Block, S4InputError, SSMKernelLSSL
from s4_layers.kernel_lssl import lssl_recurrence


def _rel(out, ref):
    out, ref = out.detach().double(), ref.detach().double()
    return float((out - ref).norm() / ref.norm())


def _layer(**kw):
    torch.manual_seed(0)
    return LSSL(4, d_state=8, channels=2, **kw).double().eval()


def test_layer_equals_the_plain_recurrence():
    layer = _layer(measure="legt", activation="tanh")
    u = torch.randn(3, 4, 30, dtype=torch.float64)
    y, _ = layer(u)
    dA, dB = layer.kernel.discrete()
    z, _ = lssl_recurrence(dA, dB, layer.kernel.C, u)  # (B, channels, H, L)
    z = torch.tanh(z + layer.D[..., None] * u[:, None]).flatten(1, 2)
    ref = torch.einsum("oi,bil->bol", layer.output_linear.weight, z)
    ref = ref + layer.output_linear.bias[:, None]
    assert y.shape == u.shape
    assert _rel(y, ref) < 1e-10


@pytest.mark.parametrize("measure", ["legs", "fout"])
def test_conv_equals_step_equals_two_halves_with_state(measure):
    layer = _layer(measure=measure, disc="backward")
    u = torch.randn(2, 4, 24, dtype=torch.float64)
    y_conv, x_conv = layer(u, state=layer.default_state(2))
    layer.setup_step()
    x = layer.default_state(2)
    ys = []
    for t in range(24):
        y_t, x = layer.step(u[..., t], x)
        ys.append(y_t)
    y_step = torch.stack(ys, -1)
    y1, x1 = layer(u[..., :10], state=layer.default_state(2))
    y2, x2 = layer(u[..., 10:], state=x1)
    assert _rel(y_step, y_conv) < 1e-10
    assert _rel(x, x_conv) < 1e-10
    assert _rel(torch.cat([y1, y2], -1), y_conv) < 1e-10
    assert _rel(x2, x_conv) < 1e-10


def test_untransposed_layout_and_no_state():
    layer = _layer()
    u = torch.randn(2, 16, 4, dtype=torch.float64)
    layer.transposed = False
    y, state = layer(u)
    assert y.shape == (2, 16, 4) and state is None
    layer.transposed = True
    assert _rel(y, layer(u.transpose(1, 2))[0].transpose(1, 2)) < 1e-12
    with pytest.raises(S4InputError, match=r"x: expected \(B, H, L\) with H=4"):
        layer(u)


def test_learn0_layer_keeps_A_and_dt_after_training_step():
    layer = LSSL(4, d_state=8, learn=0)
    A0, dt0 = layer.kernel.A.clone(), layer.kernel.log_dt.clone()
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    layer(torch.randn(2, 4, 32))[0].square().mean().backward()
    opt.step()
    assert torch.equal(layer.kernel.A, A0) and torch.equal(layer.kernel.log_dt, dt0)
    assert {n for n, _ in layer.named_parameters()} == {
        "kernel.C",
        "D",
        "output_linear.weight",
        "output_linear.bias",
    }


def test_gradcheck_through_the_layer_with_state():
    layer = LSSL(2, d_state=4, learn=2, activation="tanh").double()
    u = torch.randn(1, 2, 6, dtype=torch.float64, requires_grad=True)
    x0 = torch.randn(1, 2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u, x0: layer(u, state=x0), (u, x0))


def _check_s4block_with_lssl():
    torch.manual_seed(0)
    block = S4Block(4, mode="lssl", d_state=8, init="legt", learn=1, channels=2).double().eval()
    assert isinstance(block.layer, FFTConv) and isinstance(block.layer.kernel, SSMKernelLSSL)
    u = torch.randn(2, 4, 20, dtype=torch.float64)
    y, x_conv = block(u, state=block.default_state(2))
    block.setup_step()
    x = block.default_state(2)
    ys = []
    for t in range(20):
        y_t, x = block.step(u[..., t], x)
        ys.append(y_t)
    assert _rel(torch.stack(ys, -1), y) < 1e-10
    assert _rel(x, x_conv) < 1e-10


def test_s4block_mode_lssl_through_the_factory():
    """The LSSL kernel is a drop-in for FFTConv / S4Block: conv == step with a carried state."""
    assert isinstance(s4_layers.SSMKernel("lssl", 2, 4), SSMKernelLSSL)
    _check_s4block_with_lssl()
