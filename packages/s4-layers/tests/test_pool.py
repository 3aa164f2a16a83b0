"""Down-pooling by the original's names: sample, pool/avg, linear; clear errors."""

import pytest
import torch

from s4_layers.pool import DownAvgPool, DownLinearPool, DownSample, make_pool


def test_each_pool_against_its_formula():
    torch.manual_seed(0)
    x = torch.randn(2, 12, 3)
    sample = DownSample(3, stride=3, expand=2)
    assert torch.equal(sample(x), x[:, ::3].repeat_interleave(2, dim=-1))
    avg = DownAvgPool(3, stride=4)
    assert not hasattr(avg, "linear") and avg.d_output == 3  # expand=None: no Linear
    assert torch.allclose(avg(x)[:, 1], x[:, 4:8].mean(1))
    avg2 = DownAvgPool(3, stride=2, expand=1)
    assert avg2.linear.weight.shape == (3, 3)  # expand set (even 1): a Linear, as the original
    lin = DownLinearPool(3, stride=2, expand=2)
    # step j concatenates x[2j] and x[2j+1] feature by feature: (h, s) order
    cat = torch.stack([x[:, 0::2], x[:, 1::2]], -1).flatten(2)
    assert torch.allclose(lin(x), lin.linear(cat))
    assert make_pool({"_name_": "avg", "stride": 2}, 3).stride == 2 and make_pool(None, 3) is None


def test_pool_errors():
    with pytest.raises(ValueError, match="x: expected L divisible by pool stride 5, got L=12"):
        DownAvgPool(3, stride=5)(torch.randn(1, 12, 3))
    with pytest.raises(ValueError, match=r"pool: expected _name_ among .*got 'spectral'"):
        make_pool({"_name_": "spectral"}, 3)
    with pytest.raises(ValueError, match="stride: expected a Python int >= 1, got 0"):
        DownSample(3, stride=0)
