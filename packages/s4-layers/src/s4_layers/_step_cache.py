"""Staleness key of a step cache: what ``setup_step`` derived must be re-derived when it
changes (an optimiser step bumps the in-place version counter; ``.double()`` / ``.to()`` /
``load_state_dict(assign=True)`` change storage, dtype or device)."""

from __future__ import annotations

from itertools import chain

from torch import nn


def parameter_key(module: nn.Module) -> tuple:
    """(storage, version, dtype, device) of the module's own parameters and buffers."""
    return tuple(
        (t.data_ptr(), t._version, t.dtype, t.device)
        for t in chain(module._parameters.values(), module._buffers.values())
        if t is not None
    )
