"""Bad inputs to the layers (issue 10, items 7-10): a table of inputs that must be refused with
an error naming the argument, and the faults that must now compute correctly instead
(stale step caches, mixed dtypes, empty batches)."""

from __future__ import annotations

import math

import pytest
import torch

from s4_layers import S4D, FFTConv, S4Block, S4InputError, SSMKernel


def _block(mode="diag", **kw):
    return S4Block(4, mode=mode, d_state=8, **kw)


def _x(B=2, L=10, dtype=torch.float32):
    return torch.randn(B, 4, L, dtype=dtype)


# (id, callable, error type, text the message must contain: the argument's name)
BAD = [
    ("rate=0 block", lambda: _block()(_x(), rate=0.0), S4InputError, "rate: expected"),
    ("rate<0 dplr", lambda: _block("dplr")(_x(), rate=-1.0), S4InputError, "rate: expected"),
    ("rate=nan", lambda: _block()(_x(), rate=math.nan), S4InputError, "rate: expected"),
    ("rate=inf", lambda: _block()(_x(), rate=math.inf), S4InputError, "rate: expected"),
    ("rate='2'", lambda: _block()(_x(), rate="2"), S4InputError, "rate: expected"),
    ("rate S4D", lambda: S4D(4, 8)(_x(), rate=0.0), S4InputError, "rate: expected"),
    ("rate setup_step", lambda: _block().setup_step(rate=-2.0), S4InputError, "rate: expected"),
    ("rate kernel", lambda: SSMKernel("dplr", 4, 8)(10, rate=math.nan), S4InputError, "rate"),
    ("S4D odd d_state", lambda: S4D(4, d_state=7), S4InputError, "d_state: expected an even"),
    ("S4D d_model=0", lambda: S4D(0), S4InputError, "d_model: expected a Python int >= 1"),
    ("S4D d_state=0", lambda: S4D(4, d_state=0), S4InputError, "d_state: expected"),
    ("S4D dt range", lambda: S4D(4, dt_min=0.1, dt_max=0.01), S4InputError, "dt_min, dt_max"),
    ("S4D dt nan", lambda: S4D(4, dt_max=math.nan), S4InputError, "dt_min, dt_max"),
    ("block d_model=0", lambda: S4Block(0), S4InputError, "d_model: expected"),
    ("rank=0", lambda: S4Block(4, d_state=8, rank=0), S4InputError, "rank: expected"),
    (
        "S4D step state (B,1,1)",
        lambda: S4D(4, 8).step(torch.randn(2, 4), torch.zeros(2, 1, 1, dtype=torch.cfloat)),
        S4InputError,
        "state: expected complex (batch, H, N/2) = (2, 4, 4)",
    ),
    (
        "S4D step u shape",
        lambda: S4D(4, 8).step(torch.randn(2, 3), S4D(4, 8).default_state(2)),
        S4InputError,
        "u: expected one step",
    ),
    (
        "float64 x into float32 block",
        lambda: _block()(_x(dtype=torch.float64)),
        S4InputError,
        "x: expected dtype torch.float32",
    ),
    (
        "float64 x into float32 S4D",
        lambda: S4D(4, 8)(_x(dtype=torch.float64)),
        S4InputError,
        "u: expected dtype torch.float32",
    ),
    (
        "complex128 state into float32 block",
        lambda: _block()(_x(), state=torch.zeros(2, 4, 4, dtype=torch.complex128)),
        S4InputError,
        "state: expected dtype torch.complex64",
    ),
    (
        "complex128 state into float32 dplr step",
        lambda: _block("dplr").step(torch.randn(2, 4), torch.zeros(2, 4, 4, dtype=torch.cdouble)),
        S4InputError,
        "state: expected dtype torch.complex64",
    ),
    (
        "complex128 state into float32 S4D",
        lambda: S4D(4, 8)(_x(), state=torch.zeros(2, 4, 4, dtype=torch.complex128)),
        S4InputError,
        "state: expected dtype torch.complex64",
    ),
    ("integer x", lambda: _block()(torch.ones(2, 4, 10, dtype=torch.long)), S4InputError, "x:"),
    ("complex x", lambda: _block()(_x().to(torch.cfloat)), S4InputError, "x: expected a real"),
    ("x not a tensor", lambda: _block()([1.0, 2.0]), S4InputError, "x: expected"),
    ("step mode", lambda: _block("dplr").setup_step(mode="fast"), S4InputError, "mode: expected"),
]


@pytest.mark.parametrize("make, error, text", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_refused_naming_the_argument(make, error, text):
    with pytest.raises(error) as info:
        make()
    assert text in str(info.value)
    assert "expected" in str(info.value) and "got" in str(info.value)


def _step_all(layer, x):
    state, ys = layer.default_state(x.shape[0]), []
    for t in range(x.shape[-1]):
        y, state = layer.step(x[..., t], state)
        ys.append(y)
    return torch.stack(ys, -1), state


LAYERS = {
    "S4D": lambda: S4D(4, 8),
    "diag": lambda: FFTConv(4, d_state=8, mode="diag"),
    "dplr-dense": lambda: FFTConv(4, d_state=8, mode="dplr"),
    "dplr-linear": lambda: FFTConv(4, d_state=8, mode="dplr"),
}


@pytest.mark.parametrize("name", LAYERS)
def test_step_before_setup_step_sets_itself_up(name):
    layer = LAYERS[name]()
    x = _x(L=12)
    y_step, _ = _step_all(layer, x)  # no setup_step call
    y_conv, _ = layer(x)
    assert torch.allclose(y_step, y_conv, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", LAYERS)
def test_step_cache_follows_parameter_changes(name):
    layer = LAYERS[name]()
    step_mode = "linear" if name == "dplr-linear" else None
    x = _x(L=12)
    layer.setup_step(mode=step_mode)
    opt = torch.optim.SGD(layer.parameters(), lr=0.05)
    for _ in range(3):  # the case: three optimiser steps after setup_step
        opt.zero_grad()
        layer(_x())[0].square().mean().backward()
        opt.step()
    with torch.no_grad():
        y_step, _ = _step_all(layer, x)
        y_conv, _ = layer(x)
    assert torch.allclose(y_step, y_conv, rtol=1e-4, atol=1e-5)
    # .double(): the cache follows the dtype (and stays in the form chosen)
    layer = layer.double()
    with torch.no_grad():
        y_step, state = _step_all(layer, x.double())
        y_conv, _ = layer(x.double())
    assert state.dtype == torch.complex128 and y_step.dtype == torch.float64
    assert torch.allclose(y_step, y_conv, rtol=1e-9, atol=1e-11)
    if name == "dplr-linear":
        assert layer.kernel._step_cache["form"] == "linear"
    # load_state_dict copies in place (version counter) and .to() keeps it consistent
    other = LAYERS[name]().double()
    layer.load_state_dict(other.state_dict())
    layer = layer.to(torch.device("cpu"))
    with torch.no_grad():
        y_step, _ = _step_all(layer, x.double())
        y_ref, _ = other(x.double())
    assert torch.allclose(y_step, y_ref, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode", ["diag", "dplr"])
def test_bfloat16_input_and_bfloat16_model_compute(mode):
    torch.manual_seed(0)
    block = _block(mode)
    x = _x()
    y32, _ = block(x)
    # bfloat16 input into a float32 layer: computed in float32
    y, _ = block(x.bfloat16())
    assert y.dtype == torch.float32
    assert (y - y32).norm() / y32.norm() < 3e-2
    # a .bfloat16() model: the SSM is computed in float32, the output is bfloat16
    b16 = _block(mode)
    b16.load_state_dict(block.state_dict())
    b16 = b16.bfloat16()
    y, _ = b16(x.bfloat16())
    assert y.dtype == torch.bfloat16 and torch.isfinite(y.float()).all()
    assert (y.float() - y32).norm() / y32.norm() < 5e-2
    state = b16.default_state(2)
    assert state.dtype == torch.complex64
    ys, _ = b16.step(x[..., 0].bfloat16(), state)
    assert ys.dtype == torch.bfloat16
    assert (ys.float() - y32[..., 0]).norm() / y32[..., 0].norm() < 5e-2


def test_bfloat16_s4d_computes():
    layer = S4D(4, 8)
    x = _x()
    y32, _ = layer(x)
    y, _ = layer.bfloat16()(x.bfloat16())
    assert y.dtype == torch.bfloat16
    assert (y.float() - y32).norm() / y32.norm() < 5e-2


@pytest.mark.parametrize("mode", ["diag", "dplr"])
def test_empty_batch_gives_empty_output(mode):
    block = _block(mode)
    y, _ = block(_x(B=0))
    assert y.shape == (0, 4, 10)
    y, state = block(_x(B=0), state=block.default_state(0))
    assert y.shape == (0, 4, 10) and state.shape == (0, 4, 4)
    block.setup_step()
    y, state = block.step(torch.randn(0, 4), block.default_state(0))
    assert y.shape == (0, 4) and state.shape == (0, 4, 4)
    y, _ = S4D(4, 8)(_x(B=0))
    assert y.shape == (0, 4, 10)
