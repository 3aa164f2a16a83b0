"""Residual connections by the original's names, each against its formula."""

import pytest
import torch

from s4_layers.residual import RESIDUALS, make_residual


def test_each_residual_against_its_formula():
    torch.manual_seed(0)
    x, y = torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    assert torch.equal(make_residual("R", 1, 4, 4)(x, y), x + y)
    assert torch.equal(make_residual({"_name_": "R", "beta": 2.0}, 1, 4, 4)(x, y), x + 2 * y)
    for name in ("F", "N", "ff", "feedforward", "none"):
        assert torch.equal(make_residual(name, 1, 4, 4)(x, y), y)
    decay = make_residual("D", 4, 4, 4)  # beta = 4^-0.5 = 0.5, alpha = sqrt(1 - 0.25)
    assert torch.allclose(decay(x, y), 0.75**0.5 * x + 0.5 * y)
    linear_decay = make_residual({"_name_": "decay", "l2": False}, 4, 4, 4)
    assert torch.allclose(linear_decay(x, y), 0.5 * x + 0.5 * y)
    affine = make_residual({"_name_": "A", "gamma": 1.0, "beta": 3.0}, 3, 4, 4)
    assert torch.allclose(affine.affine, torch.ones(1)) and torch.allclose(affine(x, y), x + y)
    hw = make_residual({"_name_": "H", "elemwise": True}, 1, 4, 4)
    r = torch.sigmoid(hw.Wx(x) + hw.Wy * y)
    assert torch.allclose(hw(x, y), (1 - r) * x + r * hw.Wy * y)
    assert make_residual(None, 1, 4, 4) is None and make_residual(False, 1, 4, 4) is None
    assert set(RESIDUALS) >= {"R", "F", "N", "H", "D", "A"}


def test_residual_needs_matching_widths():
    with pytest.raises(ValueError, match="residual: expected the layer to keep the width 4"):
        make_residual("R", 1, 4, 8)
    assert make_residual("F", 1, 4, 8).d_output == 8  # no skip: any width
