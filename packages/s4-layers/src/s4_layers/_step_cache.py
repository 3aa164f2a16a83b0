"""Helpers of the recurrent step caches.

:func:`parameter_key`: what ``setup_step`` derived must be re-derived when it changes (an
optimiser step bumps the in-place version counter; ``.double()`` / ``.to()`` /
``load_state_dict(assign=True)`` change storage, dtype or device).
:func:`step_output`: the output projection of a step without per-step temporaries.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import torch
from torch import nn


def parameter_key(module: nn.Module) -> tuple:
    """(storage, version, dtype, device) of the module's own parameters and buffers."""
    return tuple(
        (t.data_ptr(), t._version, t.dtype, t.device)
        for t in chain(module._parameters.values(), module._buffers.values())
        if t is not None
    )


def step_output(x: torch.Tensor, cache: dict[str, Any]) -> torch.Tensor:
    """y = 2 Re(C x) = C_real . view_as_real(x): x (batch, H, N/2) -> y (batch, channels, H),
    with ``cache["C_real"]`` (channels, H, N) real (see ``functional.discretize.output_to_real``).

    A real elementwise product and sum (a complex einsum with a batch axis falls back to a
    per-batch loop on CPU). Without autograd the product goes to a buffer kept in ``cache``:
    a fresh MB-sized temporary every step costs more than the arithmetic (the allocator gives
    it back to the OS and page-faults it in again).
    """
    xr = torch.view_as_real(x).flatten(-2).unsqueeze(1)  # (batch, 1, H, N)
    C_real = cache["C_real"]
    if torch.is_grad_enabled() and (x.requires_grad or C_real.requires_grad):
        return (xr * C_real).sum(-1)
    shape = (x.shape[0], *C_real.shape)
    buf = cache.get("buffer")
    if buf is None or buf.shape != shape or buf.dtype != C_real.dtype:
        buf = cache["buffer"] = torch.empty(shape, dtype=C_real.dtype, device=C_real.device)
    return torch.mul(xr, C_real, out=buf).sum(-1)
