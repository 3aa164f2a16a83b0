"""Activation functions by name."""

from __future__ import annotations

from torch import nn

from s4_layers._checks import check_choice

ACTIVATIONS = ("gelu", "relu", "silu", "swish", "tanh", "sigmoid", "elu", "glu", "id", "identity")


def activation(name: str | None, dim: int = -1) -> nn.Module:
    """``nn.Module`` for ``name`` (None / "id" / "identity" -> Identity; "glu" halves ``dim``)."""
    if name is None:
        return nn.Identity()
    check_choice("activation", name, ACTIVATIONS)
    if name in ("id", "identity"):
        return nn.Identity()
    if name == "glu":
        return nn.GLU(dim=dim)
    return {
        "gelu": nn.GELU,
        "relu": nn.ReLU,
        "silu": nn.SiLU,
        "swish": nn.SiLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "elu": nn.ELU,
    }[name]()
