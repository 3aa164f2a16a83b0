"""8-bit (or ``bits``-bit) mu-law and linear quantisation of waveforms in [-1, 1].

Mu-law companding with ``mu = 2**bits - 1`` (ITU-T G.711 shape, continuous form)::

    f(x)   = sign(x) * log(1 + mu |x|) / log(1 + mu)          in [-1, 1]
    q      = round((f(x) + 1) / 2 * mu)                        in {0 .. mu}
    f^-1(y) = sign(y) * ((1 + mu)^|y| - 1) / mu,  y = 2 q / mu - 1

Linear quantisation uses the same grid without companding: ``q = round((x + 1) / 2 * mu)``.
"""

from __future__ import annotations

import numpy as np
import torch

QUANTIZATIONS = ("mu-law", "linear")


def _check(quantization: str, bits: int) -> int:
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"quantization: expected one of {list(QUANTIZATIONS)}, got {quantization!r}"
        )
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
        raise ValueError(f"bits: expected an int in [1, 16], got {bits!r}")
    return 2**bits - 1


def encode(
    wave: np.ndarray | torch.Tensor, quantization: str = "mu-law", bits: int = 8
) -> torch.Tensor:
    """Float waveform ``(..., T)`` in [-1, 1] (clipped) -> int64 tokens in ``[0, 2**bits)``."""
    mu = _check(quantization, bits)
    x = torch.as_tensor(wave, dtype=torch.float64).clamp(-1.0, 1.0)
    if quantization == "mu-law":
        # f(x) = sign(x) log(1 + mu|x|) / log(1 + mu)
        x = torch.sign(x) * torch.log1p(mu * x.abs()) / np.log1p(mu)
    return torch.round((x + 1.0) / 2.0 * mu).to(torch.int64)


def decode(
    tokens: np.ndarray | torch.Tensor, quantization: str = "mu-law", bits: int = 8
) -> torch.Tensor:
    """Int tokens ``(..., T)`` in ``[0, 2**bits)`` -> float32 waveform in [-1, 1]."""
    mu = _check(quantization, bits)
    q = torch.as_tensor(tokens)
    if q.dtype.is_floating_point or q.dtype == torch.bool:
        raise ValueError(f"tokens: expected an integer tensor, got dtype {q.dtype}")
    if q.numel() and (int(q.min()) < 0 or int(q.max()) > mu):
        raise ValueError(
            f"tokens: expected values in [0, {mu}] for bits={bits}, "
            f"got range [{int(q.min())}, {int(q.max())}]"
        )
    y = 2.0 * q.to(torch.float64) / mu - 1.0
    if quantization == "mu-law":
        # f^-1(y) = sign(y) ((1 + mu)^|y| - 1) / mu
        y = torch.sign(y) * (torch.pow(1.0 + mu, y.abs()) - 1.0) / mu
    return y.to(torch.float32)
