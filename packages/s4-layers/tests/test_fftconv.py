"""FFTConv: three modes agree, bidirectional / channels shapes, return_states, layouts."""

import copy

import pytest
import torch

from s4_layers import FFTConv, S4InputError

MODES = [("dplr", "dense"), ("dplr", "linear"), ("diag", None)]


def _three_modes(layer, x, step_mode=None):
    s0 = layer.default_state(x.shape[0])
    y, s = layer(x, state=s0)
    half = x.shape[-1] // 2 + 1
    y1, s1 = layer(x[..., :half], state=s0)
    y2, s2 = layer(x[..., half:], state=s1)
    layer.setup_step(mode=step_mode)
    st, ys = s0, []
    for t in range(x.shape[-1]):
        yt, st = layer.step(x[..., t], st)
        ys.append(yt)
    return y, s, torch.cat([y1, y2], -1), s2, torch.stack(ys, -1), st


@pytest.mark.parametrize(("mode", "step_mode"), MODES)
def test_three_modes_agree(ref, mode, step_mode):
    torch.manual_seed(0)
    layer = FFTConv(6, d_state=16, channels=2, mode=mode, activation="id")
    x = torch.randn(2, 6, 45)
    ref_layer = copy.deepcopy(layer).double()
    y64, s64, yh, sh, ys, ss = _three_modes(ref_layer, x.double(), step_mode)
    for out, target in ((yh, y64), (ys, y64), (sh, s64), (ss, s64)):
        assert ref.rel_err(out, target.detach()) < 1e-10
    y, s, yh, sh, ys, ss = _three_modes(layer, x, step_mode)
    for out, target in ((y, y64), (yh, y64), (ys, y64), (s, s64), (sh, s64), (ss, s64)):
        assert ref.rel_err(out, target.detach()) < 1e-5


def test_channels_bidirectional_and_layout_shapes():
    layer = FFTConv(5, d_state=8, channels=3, bidirectional=True, transposed=False, mode="diag")
    y, state = layer(torch.randn(2, 17, 5))
    assert y.shape == (2, 17, 15) and state is None
    with pytest.raises(S4InputError, match="state: expected None for a bidirectional layer"):
        layer(torch.randn(2, 17, 5), state=layer.default_state(2))
    with pytest.raises(S4InputError, match="step: expected a unidirectional layer"):
        layer.step(torch.randn(2, 5), layer.default_state(2))


def test_bidirectional_is_causal_plus_anticausal():
    torch.manual_seed(1)
    layer = FFTConv(3, d_state=8, bidirectional=True, mode="dplr", activation="id").double()
    x = torch.randn(1, 3, 12, dtype=torch.float64)
    K = layer.kernel(12).detach()
    y, _ = layer(x)
    ref = layer.D[0, :, None].detach() * x
    for k in range(12):
        for j in range(12):
            ref[..., k] += K[0, :, k - j] * x[..., j] if j <= k else K[1, :, j - k - 1] * x[..., j]
    assert torch.allclose(y.detach(), ref, atol=1e-10)


def test_return_states_gives_every_state(ref):
    layer = FFTConv(4, d_state=8, mode="diag").double()
    x = torch.randn(2, 4, 30, dtype=torch.float64)
    s0 = torch.randn(2, 4, 4, dtype=torch.complex128)
    y_all, states = layer(x, state=s0, return_states=True)
    assert states.shape == (2, 4, 4, 30)
    k = layer.kernel
    _, _, ref_states = ref.recurrence(k.dt(), k.A(), k.B_c(), k.C_c(), x, state=s0)
    assert ref.rel_err(states, ref_states) < 1e-10
    y, last = layer(x, state=s0)
    assert torch.allclose(states[..., -1], last) and torch.allclose(y_all, y)
    with pytest.raises(S4InputError, match="return_states: expected a unidirectional diag"):
        FFTConv(4, d_state=8, mode="dplr")(x.float(), return_states=True)


def test_setup_step_repeatedly_leaves_conv_mode_intact():
    layer = FFTConv(4, d_state=8, mode="dplr")
    x = torch.randn(1, 4, 20)
    y0, _ = layer(x)
    for mode in ("dense", "linear", "dense"):
        layer.setup_step(mode=mode)
    y1, _ = layer(x)
    assert torch.equal(y0, y1)


def test_bad_x_names_layout():
    layer = FFTConv(4, d_state=8)
    with pytest.raises(S4InputError, match=r"x: expected \(B, H, L\) with H=4, got shape \(2, 5"):
        layer(torch.randn(2, 5, 7))
    with pytest.raises(S4InputError, match=r"x: expected \(B, H, L\) with H=4, got shape \(4, 7"):
        layer(torch.randn(4, 7))
    with pytest.raises(S4InputError, match=r"state: expected complex \(batch, H, N/2\)"):
        layer(torch.randn(2, 4, 7), state=torch.zeros(2, 4, 3, dtype=torch.cfloat))


@torch.no_grad()
def test_original_defaults_no_activation_and_glu_keeps_width(ref):
    torch.manual_seed(0)
    plain = FFTConv(4, d_state=8, mode="diag")
    assert isinstance(plain.activation, torch.nn.Identity)  # the original's default: none
    glu = FFTConv(4, d_state=8, channels=2, mode="diag", activation="glu").double()
    assert glu.kernel.channels == 4 and glu.D.shape == (4, 4) and glu.d_output == 8
    x = torch.randn(2, 4, 20, dtype=torch.float64)
    y, _ = glu(x)
    assert y.shape == (2, 8, 20)
    K = glu.kernel(20)  # (4, H, L): channels 0-1 are the values, 2-3 the gates
    conv = (
        torch.stack(
            [
                sum(
                    K[c, :, j][:, None] * torch.nn.functional.pad(x, (j, 0))[..., :20]
                    for j in range(20)
                )
                for c in range(4)
            ],
            1,
        )
        + glu.D[None, :, :, None] * x[:, None]
    )
    flat = conv.flatten(1, 2)
    assert ref.rel_err(y, flat[:, :8] * torch.sigmoid(flat[:, 8:])) < 1e-10


def test_swap_channels_and_drop_kernel():
    torch.manual_seed(0)
    a = FFTConv(3, d_state=8, channels=2, mode="diag")
    b = FFTConv(3, d_state=8, channels=2, mode="diag", swap_channels=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 10)
    ya, yb = a(x)[0], b(x)[0]
    assert torch.equal(ya.view(1, 2, 3, 10).transpose(1, 2).reshape(1, 6, 10), yb)
    dk = FFTConv(3, d_state=8, mode="diag", drop_kernel=0.5).eval()
    assert torch.equal(dk(x)[0], dk(x)[0])  # kernel dropout is off in eval
    assert FFTConv(3, d_state=8, kernel="diag").kernel.mode == "diag"  # the original's alias


@pytest.mark.parametrize("mode", ["diag", "dplr"])
def test_evaluation_derives_the_kernel_once_until_parameters_change(mode):
    """Eval mode without autograd keeps K between calls of the same L (a validation pass
    derives it once); an in-place parameter update, another L, or training / autograd
    derive it afresh, and every output equals the uncached layer's."""
    torch.manual_seed(0)
    layer = FFTConv(6, d_state=4, mode=mode).eval()
    calls = []
    layer.kernel.register_forward_hook(lambda *args: calls.append(1))
    x = torch.randn(3, 6, 20)
    with torch.no_grad():
        first, second = layer(x)[0], layer(x)[0]
    assert len(calls) == 1 and torch.equal(first, second)
    assert torch.allclose(layer(x)[0], first, rtol=0, atol=0)  # autograd on: derived again
    assert len(calls) == 2
    with torch.inference_mode():
        layer(x)
        layer(x[..., :10])  # another L
        layer(x[..., :10])
    assert len(calls) == 4
    with torch.no_grad():
        layer.kernel.log_dt.add_(0.3)  # an optimiser step is in place too
        changed = layer(x)[0]
    assert len(calls) == 5
    torch.testing.assert_close(changed, layer(x)[0].detach(), rtol=0, atol=0)
    layer.train()
    with torch.no_grad():
        layer(x)
        layer(x)
    assert len(calls) == 8 and layer._eval_kernel is None


def test_weights_swapped_through_data_are_seen_after_eval():
    """Lightning's weight averaging swaps weights with ``param.data.copy_`` (no version bump)
    and calls ``eval()`` before each validation: the kept kernel is dropped there, so the
    swapped-in weights' kernel is derived."""
    torch.manual_seed(1)
    layer = FFTConv(4, d_state=4, mode="diag").eval()
    x = torch.randn(2, 4, 16)
    with torch.no_grad():
        before = layer(x)[0]
        saved = layer.kernel.log_dt.detach().clone()
        layer.kernel.log_dt.data.copy_(saved + 0.5)  # bypasses the version counter
        layer.eval()
        swapped = layer(x)[0]
    fresh = copy.deepcopy(layer).train()  # no cache: derived from the swapped weights
    with torch.no_grad():
        expected = fresh.eval()(x)[0]
    torch.testing.assert_close(swapped, expected, rtol=0, atol=0)
    assert not torch.allclose(swapped, before)
