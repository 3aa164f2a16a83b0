"""Normalisation layers by the original's names, on (B, L, H) and one step (B, H)."""

import pytest
import torch

from s4_layers.norm import NORMS, Normalization, make_norm


def test_norms_over_the_right_axes():
    torch.manual_seed(0)
    x = torch.randn(3, 7, 4) * 3 + 1
    layer = Normalization(4, "layer")
    assert torch.allclose(layer(x), torch.nn.functional.layer_norm(x, (4,)), atol=1e-6)
    inst = Normalization(4, "instance")
    assert not list(inst.parameters())  # affine=False, as the original
    z = inst(x)
    assert torch.allclose(z.mean(1), torch.zeros(3, 4), atol=1e-5)
    group = Normalization(4, "group")
    g = group(x)
    assert torch.allclose(g.mean((1, 2)), torch.zeros(3), atol=1e-5)
    batch = Normalization(4, "batch").train()
    b = batch(x)
    assert torch.allclose(b.mean((0, 1)), torch.zeros(4), atol=1e-5)
    batch.eval()
    assert batch(x[:, 0]).shape == (3, 4)  # one step with running statistics
    assert make_norm(4, None) is None and make_norm(4, "none") is None
    assert make_norm(4, {"_name_": "layer", "eps": 1e-3}).norm.eps == 1e-3
    assert set(NORMS) == {"layer", "instance", "batch", "group", "none"}


def test_sequence_norms_refuse_one_step():
    with pytest.raises(ValueError, match="x: expected \\(B, L, H\\) for norm='instance'"):
        Normalization(4, "instance")(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"norm: expected one of .*got 'rms'"):
        Normalization(4, "rms")
