"""step_plan: the compiled step equals the module-by-module step (values and states, every
block option), is rebuilt when what it read changes, and gives way to the module path where
it does not apply (autograd, training dropout, hooks, other inputs)."""

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from s4_layers import S4D, FFTConv, S4Block, S4InputError
from s4_layers.activations import gelu_torch_kernel, gelu_torch_kernel_, plain_activation
from s4_layers.step_plan import StepPlan

H, N = 8, 8

BLOCKS = {
    "diag": dict(mode="diag"),
    "dplr": dict(mode="dplr"),
    "channels-swap": dict(mode="diag", channels=2, swap_channels=True, final_act="id"),
    "glu-activation": dict(mode="dplr", activation="glu", channels=2),
    "bottleneck": dict(mode="diag", bottleneck=2),
    "gate": dict(mode="diag", gate=2, gate_act="gelu", mult_act="silu", channels=2),
    "gate-matching": dict(mode="dplr", gate=1, final_act="tanh"),
    "no-output-linear": dict(mode="diag", final_act=None, activation="relu"),
    "weight-norm": dict(mode="dplr", weight_norm=True),
    "tied-dropout-eval": dict(mode="diag", dropout=0.2, tie_dropout=True),
}


def _steps(layer, step, xs, state):
    ys = []
    for x in xs:
        y, state = step(x, state)
        ys.append(y)
    return torch.stack(ys), state


def _plan_against_modules(layer, B, dtype, step_mode=None, L=5, d_in=H):
    layer = layer.to(dtype).eval()
    xs = torch.randn(L, B, d_in, dtype=dtype)
    with torch.no_grad():
        layer.setup_step() if step_mode is None else layer.setup_step(mode=step_mode)
        s0 = layer.default_state(B) + torch.randn_like(layer.default_state(B))
        y_plan, s_plan = _steps(layer, layer.step, xs, s0)
        assert isinstance(layer.__dict__["_step_plan"], StepPlan)
        assert layer._step_plan.applies(xs[0], s0)
        y_mod, s_mod = _steps(layer, layer._step_modules, xs, s0)
    tol = 1e-12 if dtype == torch.float64 else 2e-6  # GELU: torch's kernel against oneDNN's
    torch.testing.assert_close(y_plan, y_mod, rtol=tol, atol=tol)
    torch.testing.assert_close(s_plan, s_mod, rtol=tol, atol=tol)
    return y_plan


@pytest.mark.parametrize("name", BLOCKS)
@pytest.mark.parametrize("B", [1, 3])
def test_block_plan_equals_the_module_step(name, B):
    kw = BLOCKS[name]
    y = _plan_against_modules(S4Block(H, d_state=N, **kw), B, torch.float32)
    assert y.shape[-1] == S4Block(H, d_state=N, **kw).d_output


@pytest.mark.parametrize("step_mode", ["dense", "linear"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dplr_step_forms_through_the_plan(step_mode, dtype):
    _plan_against_modules(S4Block(H, mode="dplr", d_state=N), 4, dtype, step_mode)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fftconv_and_s4d_plans(dtype):
    _plan_against_modules(FFTConv(H, d_state=N, mode="diag", activation="gelu"), 2, dtype)
    _plan_against_modules(FFTConv(H, d_state=N, channels=2, activation="glu"), 1, dtype)
    _plan_against_modules(S4D(H, d_state=N), 3, dtype)


def test_plan_steps_equal_the_convolution():
    """The plan continues a convolution exactly as the module path does (float64)."""
    block = S4Block(H, mode="diag", d_state=N).double().eval()
    u = torch.randn(2, H, 6, dtype=torch.float64)
    with torch.no_grad():
        y_conv, _ = block(u)
        block.setup_step()
        y_step, _ = _steps(block, block.step, u.permute(2, 0, 1), block.default_state(2))
    assert isinstance(block._step_plan, StepPlan)
    torch.testing.assert_close(y_step.permute(1, 2, 0), y_conv, rtol=1e-9, atol=1e-9)


def _plan(layer):
    return layer.__dict__.get("_step_plan")


def test_rebuilt_after_parameter_dtype_and_module_changes():
    block = S4Block(H, mode="diag", d_state=N).eval()
    x, s = torch.randn(2, H), block.default_state(2)
    with torch.no_grad():
        block.setup_step()
        block.step(x, s)
        first = _plan(block)
        block.step(x, s)
        assert _plan(block) is first  # nothing changed: kept

        block.output_linear.linear.bias.add_(1.0)  # in place (an optimiser step)
        y, _ = block.step(x, s)
        assert _plan(block) is not first
        torch.testing.assert_close(y, block._step_modules(x, s)[0])

        block.load_state_dict(S4Block(H, mode="diag", d_state=N).state_dict())
        y, _ = block.step(x, s)
        torch.testing.assert_close(y, block._step_modules(x, s)[0])

        block.layer.kernel.setup_step(rate=2.0)  # the kernel's cache replaced directly
        y, _ = block.step(x, s)
        torch.testing.assert_close(y, block._step_modules(x, s)[0])

        block.output_linear = nn.Identity()  # a submodule replaced
        y, _ = block.step(x, s)
        assert y.shape == (2, H)
        torch.testing.assert_close(y, block._step_modules(x, s)[0])

        block.double()
        y, s2 = block.step(x.double(), s.to(torch.complex128))
        assert y.dtype == torch.float64 and s2.dtype == torch.complex128
        assert _plan(block).terms_dtype == torch.float64


def test_autograd_takes_the_module_path():
    block = S4Block(H, mode="dplr", d_state=N).eval()
    block.setup_step()
    x = torch.randn(2, H)
    y, state = block.step(x, block.default_state(2))  # grad mode on, parameters require it
    assert not _plan(block).applies(x, state)
    y.square().sum().backward()
    assert block.layer.kernel.log_dt.grad is not None
    for p in block.parameters():
        p.requires_grad_(False)
    assert not _plan(block).applies(x, state)  # the state is part of a graph
    state = state.detach()
    assert _plan(block).applies(x, state)  # nothing wants a gradient any more
    x.requires_grad_(True)
    assert not _plan(block).applies(x, state)


def test_training_dropout_and_hooks_take_the_module_path():
    block = S4Block(H, mode="diag", d_state=N, dropout=0.5)
    x = torch.randn(64, H)
    with torch.no_grad():
        block.setup_step()
        state = block.default_state(64)
        block.train()
        y_train, _ = block.step(x, state)
        assert not _plan(block).applies(x, state)
        block.eval()
        y_eval, _ = block.step(x, state)
        assert _plan(block).applies(x, state)
        assert not torch.allclose(y_train, y_eval)  # the training step dropped values

        seen = []
        handle = block.output_linear.register_forward_hook(lambda m, i, o: seen.append(o))
        block.step(x, state)
        assert len(seen) == 1 and not _plan(block).applies(x, state)
        handle.remove()
        assert _plan(block).applies(x, state)


def test_other_inputs_take_the_module_path_and_its_errors():
    block = S4Block(H, mode="diag", d_state=N).eval()
    with torch.no_grad():
        block.setup_step()
        state = block.default_state(2)
        block.step(torch.randn(2, H), state)
        y16, _ = block.step(torch.randn(2, H, dtype=torch.bfloat16), state)  # a lower precision
        assert y16.shape == (2, H)
        with pytest.raises(S4InputError, match="one step of shape"):
            block.step(torch.randn(2, H + 1), state)
        with pytest.raises(S4InputError, match="state"):
            block.step(torch.randn(3, H), state)
        with pytest.raises(S4InputError, match="bidirectional"):
            S4Block(H, mode="diag", d_state=N, bidirectional=True).step(torch.randn(2, H), state)


def test_plan_is_not_pickled_with_its_layer():
    block = S4Block(H, mode="diag", d_state=N).eval()
    x = torch.randn(2, H)
    with torch.no_grad():
        block.setup_step()
        y, _ = block.step(x, block.default_state(2))
        buffer = io.BytesIO()
        torch.save(block, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=False)
        twin = copy.deepcopy(block)
        for other in (loaded, twin):
            assert _plan(other) is None
            torch.testing.assert_close(other.step(x, other.default_state(2))[0], y)
            assert _plan(other).applies(x, other.default_state(2))


@pytest.mark.parametrize("shape", [(1, 256), (16, 256), (3, 2, 6), (5,), (4, 7)])
def test_gelu_torch_kernel_equals_gelu(shape):
    x = torch.randn(shape) * 3
    y = gelu_torch_kernel(x)
    assert y.shape == x.shape and y.is_contiguous()
    exact = F.gelu(x.double())
    # both kernels within float32 rounding of the exact value (they differ by a few ulp)
    assert (y.double() - exact).abs().max() < 1e-6
    assert (F.gelu(x).double() - exact).abs().max() < 1e-6
    x64 = x.double()
    torch.testing.assert_close(gelu_torch_kernel(x64), F.gelu(x64), rtol=0, atol=0)


@pytest.mark.parametrize("strided", [False, True])
@pytest.mark.parametrize("shape", [(1, 256), (16, 256), (4, 7), (5,)])
def test_gelu_torch_kernel_in_place_equals_gelu(shape, strided):
    x = torch.randn(shape) * 3
    if strided and x.dim() == 2:
        x = x.t().contiguous().t()  # the H-major layout a step's bmm leaves
    expected = F.gelu(x.double())
    same = gelu_torch_kernel_(x)
    assert same is x
    assert (x.double() - expected).abs().max() < 1e-6


def test_plain_activation_is_the_modules_function():
    x = torch.randn(3, 8)
    assert plain_activation(nn.Identity()) is None
    assert plain_activation(nn.GELU(), inplace=True) is gelu_torch_kernel_  # only GELU's differs
    assert plain_activation(nn.Tanh(), inplace=True) is not None
    for module in (nn.GELU(), nn.GELU(approximate="tanh"), nn.GLU(dim=1), nn.SiLU(), nn.Tanh()):
        torch.testing.assert_close(plain_activation(module)(x), module(x), rtol=1e-6, atol=1e-7)
