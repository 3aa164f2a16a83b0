"""encoder -> backbone -> decoder shapes, and the minimal S4D stack against a plain loop."""

from __future__ import annotations

import pytest
import torch

from s4_train import DataSpec, MinimalS4DStack, build_network
from s4_train.network import layer_kwargs

MODEL = {
    "backbone": "sequence_model",
    "d_model": 8,
    "n_layers": 2,
    "dropout": 0.0,
    "prenorm": True,
    "norm": "layer",
    "residual": True,
    "layer": {"mode": "diag", "d_state": 4, "lr": 0.001, "init": None},
}
TASK = {"encoder": "auto", "positional": "none", "pool": "last", "metrics": []}


@pytest.mark.parametrize(
    ("spec", "x", "out_shape"),
    [
        (DataSpec(10, 8, 20, "token", "seq_class", 5), torch.randint(0, 10, (3, 20)), (3, 5, 8)),
        (DataSpec(2, 4, 20, "real", "class"), torch.randn(3, 20, 2), (3, 4)),
        (DataSpec(2, 1, 20, "real", "regression"), torch.randn(3, 20, 2), (3, 1)),
    ],
)
@pytest.mark.parametrize("backbone", ["sequence_model", "s4d_minimal"])
@pytest.mark.parametrize("mode", ["diag", "dplr"])
def test_network_shapes(spec, x, out_shape, backbone, mode) -> None:
    model = {**MODEL, "backbone": backbone, "layer": {**MODEL["layer"], "mode": mode}}
    net = build_network(model, TASK, spec)
    out = net(x)
    assert out.shape == out_shape
    assert torch.isfinite(out).all()
    out.float().sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_positional_and_pool_options_reach_the_modules() -> None:
    spec = DataSpec(2, 4, 12, "real", "class")
    task = {**TASK, "positional": "learned", "pool": "mean"}
    net = build_network(MODEL, task, spec)
    x = torch.randn(2, 12, 2)
    assert net(x).shape == (2, 4)
    n_plain = sum(p.numel() for p in build_network(MODEL, TASK, spec).parameters())
    assert sum(p.numel() for p in net.parameters()) == n_plain + 12 * 8  # learned table


def test_layer_kwargs_drop_unset_entries() -> None:
    assert layer_kwargs({"mode": "diag", "d_state": 4, "init": None}) == {
        "mode": "diag",
        "d_state": 4,
    }


def test_unknown_backbone_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"model\.backbone"):
        build_network({**MODEL, "backbone": "rnn"}, TASK, DataSpec(2, 4, 8, "real", "class"))


@pytest.mark.parametrize("prenorm", [True, False])
def test_minimal_stack_matches_a_plain_residual_loop(prenorm) -> None:
    torch.manual_seed(0)
    stack = MinimalS4DStack(6, 2, d_state=4, dropout=0.0, prenorm=prenorm).double().eval()
    x = torch.randn(2, 10, 6, dtype=torch.float64)
    # reference: y = x; for each layer: z = S4D(norm?(y)) ; y = z + y ; norm after if postnorm
    y = x.clone()
    for layer, norm in zip(stack.layers, stack.norms):
        z = norm(y) if prenorm else y
        out = layer(z.transpose(1, 2))
        z = (out[0] if isinstance(out, tuple) else out).transpose(1, 2)
        y = z + y
        if not prenorm:
            y = norm(y)
    got = stack(x)
    assert (got - y).norm() / y.norm() < 1e-12


def test_minimal_stack_ties_its_dropouts_when_asked() -> None:
    from s4_layers.dropout import TiedDropout

    model = {**MODEL, "backbone": "s4d_minimal", "dropout": 0.5, "tie_dropout": True}
    stack = build_network(model, TASK, DataSpec(2, 4, 20, "real", "class")).backbone
    assert all(isinstance(d, TiedDropout) for d in stack.dropouts)
    assert all(isinstance(layer.dropout, TiedDropout) for layer in stack.layers)
    stack.train()
    torch.manual_seed(0)
    x = torch.ones(3, 4, 8)  # (B, H, L): one mask per (batch, feature), shared along L
    y = stack.dropouts[0](x)
    assert torch.equal(y, y[..., :1].expand_as(y))
    untied = MinimalS4DStack(8, 1, d_state=4, dropout=0.5)
    assert isinstance(untied.dropouts[0], torch.nn.Dropout)


def test_s4d_minimal_config_ties_dropout_as_the_original_example() -> None:
    from s4_train import compose_config

    assert compose_config(["model=s4d_minimal"]).model.tie_dropout is True
