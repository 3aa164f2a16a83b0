"""linear_features against F.linear, for every layout an S4 layer hands it."""

import pytest
import torch
import torch.nn.functional as F

from s4_layers.functional.linear import linear_features


@pytest.mark.parametrize(
    "layout",
    ["contiguous", "bhl_transposed", "sliced", "two_dim", "no_bias"],
)
def test_linear_features_equals_f_linear_with_gradients_float64(layout):
    g = torch.Generator().manual_seed(0)
    W = torch.randn(6, 4, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, generator=g, requires_grad=True)
    if layout == "bhl_transposed":  # the (B, L, H) view of a (B, H, L) layer output
        x = torch.randn(2, 4, 5, dtype=torch.float64, generator=g).transpose(1, 2)
    elif layout == "sliced":  # no 2-D view exists: the rows are copied
        x = torch.randn(2, 10, 4, dtype=torch.float64, generator=g)[:, ::2]
    elif layout == "two_dim":
        x = torch.randn(7, 4, dtype=torch.float64, generator=g)
    else:
        x = torch.randn(2, 5, 4, dtype=torch.float64, generator=g)
    bias = None if layout == "no_bias" else b
    x.requires_grad_()
    y = linear_features(x, W, bias)
    assert y.shape == (*x.shape[:-1], 6)
    assert torch.allclose(y, F.linear(x, W, bias), rtol=1e-13, atol=1e-13)
    inputs = (x, W) if bias is None else (x, W, bias)
    assert torch.autograd.gradcheck(lambda *t: linear_features(*t), inputs)
