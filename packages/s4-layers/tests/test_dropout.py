"""Tied dropout (one mask per batch and feature) and stochastic depth."""

import pytest
import torch

import s4_layers.dropout as dropout_module
from s4_layers.dropout import Dropout, StochasticDepth, TiedDropout, make_dropout


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


def test_elementwise_dropout_is_nn_dropouts_rule():
    """Each element kept with probability 1 - p (binomial bounds) and scaled by 1 / (1 - p); the
    gradient is the same mask; x's layout kept; eval, p = 0 and inplace as nn.Dropout."""
    torch.manual_seed(0)
    drop = make_dropout(0.25)
    assert isinstance(drop, Dropout) and isinstance(drop, torch.nn.Dropout)
    x = (torch.rand(40, 50, 30) + 1).transpose(1, 2).requires_grad_()  # a (B, L, H) view
    y = drop.train()(x)
    kept = y != 0
    n = kept.numel()
    # a binomial(n, 0.75) count is within 5 standard deviations of its mean
    assert abs(kept.sum().item() - 0.75 * n) < 5 * (n * 0.75 * 0.25) ** 0.5
    assert torch.allclose(y[kept], x[kept] / 0.75, rtol=1e-6)
    assert y.stride() == x.stride()
    y.backward(torch.ones_like(y))
    assert torch.allclose(x.grad, kept.float() / 0.75, rtol=1e-6)
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    z = torch.rand(8, 9) + 1
    z0 = z.clone()
    out = Dropout(0.5, inplace=True).train()(z)
    assert out is z and (z == 0).any() and torch.allclose(z[z != 0], 2 * z0[z != 0])


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_elementwise_dropout_keeps_the_dtype(dtype):
    torch.manual_seed(1)
    x = torch.rand(64, 64, dtype=dtype) + 1
    y = Dropout(0.5).train()(x)
    kept = y != 0
    assert y.dtype == dtype and 0.4 < kept.float().mean() < 0.6
    rtol = 1e-2 if dtype == torch.bfloat16 else 1e-15
    assert torch.allclose(y[kept].double(), (x[kept] * 2).double(), rtol=rtol)


def test_cpu_mask_rate_and_scale_for_a_p_not_a_multiple_of_2_to_16():
    """p = 0.1 is drawn as p' = round(p 2^16) / 2^16 (|p' - p| <= 2^-17) and kept values are
    scaled by 1 / (1 - p'), so the mask's mean is exactly 1 in expectation."""
    torch.manual_seed(2)
    x = torch.ones(200_000, dtype=torch.float64)
    y = Dropout(0.1).train()(x)
    p_drawn = round(0.1 * 2**16) / 2**16
    assert abs(p_drawn - 0.1) <= 2**-17
    kept = y != 0
    n = x.numel()
    assert abs((~kept).sum().item() - p_drawn * n) < 5 * (n * p_drawn * (1 - p_drawn)) ** 0.5
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / (1 - p_drawn)), rtol=1e-15)
    # torch's generator governs the mask: its seed and its saved state
    torch.manual_seed(3)
    a = Dropout(0.3).train()(x)
    torch.manual_seed(3)
    assert torch.equal(a, Dropout(0.3).train()(x))
    saved = torch.get_rng_state()
    b = Dropout(0.3).train()(x)
    assert not torch.equal(a, b)  # a fresh mask per call
    torch.set_rng_state(saved)
    assert torch.equal(b, Dropout(0.3).train()(x))
    # a p that 16 bits would round to 1 goes to nn.Dropout (keeps (almost) nothing, no inf)
    z = Dropout(1 - 2**-20).train()(x)
    assert torch.isfinite(z).all() and (z == 0).float().mean() > 0.99


def test_cpu_mask_bits_are_uniform_16_bit_lanes():
    """The mask's 16-bit lanes (four per 64-bit word of SFC64) are uniform and independent of
    their position in the word: a chi-square test over 64 bins per lane position, and the
    lanes' top bits (the sign bits of the int16 compare) are fair."""
    torch.manual_seed(4)
    words = dropout_module._random_words(1 << 16)
    assert words.dtype == torch.int64 and words.shape == (1 << 16,)
    lanes = words.view(torch.int16).view(-1, 4).to(torch.int64) + 2**15  # (n, 4) in [0, 2^16)
    for k in range(4):
        counts = torch.bincount(lanes[:, k] >> 10, minlength=64).double()  # 64 bins
        expected = lanes.shape[0] / 64
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        assert chi2 < 120, (k, chi2)  # 63 degrees of freedom: p < 1e-5 beyond ~120
        top = float((lanes[:, k] >= 2**15).double().mean())
        assert abs(top - 0.5) < 5 * (0.25 / lanes.shape[0]) ** 0.5
