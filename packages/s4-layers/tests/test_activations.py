"""Activation lookup."""

import pytest
import torch

from s4_layers import ACTIVATIONS, activation


def test_every_name_builds_and_unknown_raises():
    x = torch.randn(3, 4)
    for name in ACTIVATIONS:
        out = activation(name)(x)
        assert out.shape == ((3, 2) if name == "glu" else (3, 4))
    assert torch.equal(activation(None)(x), x)
    with pytest.raises(ValueError, match=r"activation: expected one of .*got 'mish2'"):
        activation("mish2")
