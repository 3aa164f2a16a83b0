"""Tied dropout (one mask per batch and feature) and stochastic depth."""

import pytest
import torch

from s4_layers.dropout import StochasticDepth, TiedDropout, make_dropout


@pytest.mark.parametrize("transposed", [True, False])
def test_tied_dropout_masks_whole_feature_tracks(transposed):
    torch.manual_seed(0)
    drop = TiedDropout(0.5, transposed=transposed).train()
    x = torch.rand(16, 6, 40) + 1 if transposed else torch.rand(16, 40, 6) + 1
    y = drop(x)
    zero = (y == 0).transpose(1, 2) if not transposed else y == 0  # (B, H, L)
    assert zero.any() and (zero.all(-1) | ~zero.any(-1)).all()
    kept = ~zero
    x_bhl = x if transposed else x.transpose(1, 2)
    y_bhl = y if transposed else y.transpose(1, 2)
    assert torch.allclose(y_bhl[kept], 2 * x_bhl[kept])
    assert torch.equal(drop.eval()(x), x)


def test_make_dropout_and_stochastic_depth():
    assert isinstance(make_dropout(0.0, tie=True), torch.nn.Identity)
    assert isinstance(make_dropout(0.1), torch.nn.Dropout)
    with pytest.raises(ValueError, match=r"dropout: expected a probability in \[0, 1\), got 1.0"):
        make_dropout(1.0)
    torch.manual_seed(0)
    sd = StochasticDepth(0.25, mode="batch").train()
    outs = {float(sd(torch.ones(3, 2)).sum()) for _ in range(50)}
    assert outs == {0.0, 6 / 0.75}  # the whole batch kept (scaled) or dropped
    with pytest.raises(ValueError, match=r"mode: expected one of \['row', 'batch'\], got 'col'"):
        StochasticDepth(0.1, mode="col")
