"""Mu-law / linear quantisation against the closed form, in float64."""

import numpy as np
import pytest
import torch

from s4_tasks.audio import decode, encode


def test_mu_law_matches_closed_form():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=1000)
    mu = 255
    f = np.sign(x) * np.log(1 + mu * np.abs(x)) / np.log(1 + mu)
    expected = np.round((f + 1) / 2 * mu).astype(np.int64)
    np.testing.assert_array_equal(encode(x, "mu-law", 8).numpy(), expected)
    y = 2 * expected / mu - 1
    inverse = np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu
    np.testing.assert_allclose(decode(expected, "mu-law", 8).numpy(), inverse, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("quantization", ["mu-law", "linear"])
@pytest.mark.parametrize("bits", [4, 8])
def test_roundtrip_error_within_half_step(quantization, bits):
    x = np.linspace(-1, 1, 2001)
    q = encode(x, quantization, bits)
    assert q.dtype == torch.int64 and int(q.min()) == 0 and int(q.max()) == 2**bits - 1
    back = decode(q, quantization, bits).double().numpy()
    if quantization == "linear":
        assert np.abs(back - x).max() <= 1.0 / (2**bits - 1) + 1e-6
    else:
        # The error is half a step in the companded domain: compare there.
        mu = 2**bits - 1
        comp = lambda v: np.sign(v) * np.log1p(mu * np.abs(v)) / np.log1p(mu)
        assert np.abs(comp(back) - comp(x)).max() <= 1.0 / mu + 1e-6
    # Encoding a decoded token gives the token back.
    np.testing.assert_array_equal(encode(back, quantization, bits).numpy(), q.numpy())


def test_silence_and_clipping():
    assert int(encode(np.array([0.0]), "linear", 8)[0]) == 128
    assert encode(np.array([-5.0, 5.0]), "mu-law", 8).tolist() == [0, 255]


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: encode(np.zeros(3), "alaw", 8), "quantization"),
        (lambda: encode(np.zeros(3), "linear", 0), "bits"),
        (lambda: decode(torch.tensor([256]), "linear", 8), "tokens"),
        (lambda: decode(torch.tensor([0.5]), "linear", 8), "tokens"),
    ],
)
def test_bad_arguments_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()
