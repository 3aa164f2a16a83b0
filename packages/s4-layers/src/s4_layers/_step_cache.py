"""Helpers of the recurrent step caches.

:func:`parameter_key`: what ``setup_step`` derived must be re-derived when it changes (an
optimiser step bumps the in-place version counter; ``.double()`` / ``.to()`` /
``load_state_dict(assign=True)`` change storage, dtype or device).
:func:`step_input_ok`: the per-step boundary check's fast path (a step is a few small ops, so
the check must cost little; anything it does not accept goes through the full checks, which
raise the usual messages).
:func:`apply_unless_identity`: a module call that skips ``nn.Identity`` (about 2 us a call,
which a step of a few small ops notices).
"""

from __future__ import annotations

from functools import cache
from itertools import chain
from typing import Any

import torch
from torch import nn

from s4_layers._checks import complex_dtype_of, real_dtype_of

_FLOATS = (torch.float64, torch.float32, torch.bfloat16, torch.float16)


@cache
def _step_dtypes(param_dtype: torch.dtype) -> frozenset:
    """Input dtypes a layer with parameters of ``param_dtype`` takes without losing precision
    (its working precision or lower: the rule of ``_checks.check_signal``)."""
    bits = torch.finfo(real_dtype_of(param_dtype)).bits
    return frozenset(d for d in _FLOATS if torch.finfo(d).bits <= bits)


def step_input_ok(u: Any, state: Any, H: int, N2: int, param_dtype: torch.dtype) -> bool:
    """True when u is (batch, H) of an accepted float dtype and state (batch, H, N2) of the
    layer's complex state dtype; False means: run the full checks (they raise)."""
    return (
        isinstance(u, torch.Tensor)
        and isinstance(state, torch.Tensor)
        and u.dim() == 2
        and u.shape[1] == H
        and u.dtype in _step_dtypes(param_dtype)
        and state.shape == (u.shape[0], H, N2)
        and state.dtype == complex_dtype_of(param_dtype)
    )


def parameter_key(module: nn.Module) -> tuple:
    """(storage, version, dtype, device) of the module's own parameters and buffers."""
    return tuple(
        (t.data_ptr(), t._version, t.dtype, t.device)
        for t in chain(module._parameters.values(), module._buffers.values())
        if t is not None
    )


def apply_unless_identity(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module(x)``, or x itself when the module is an ``nn.Identity`` (same result)."""
    return x if isinstance(module, nn.Identity) else module(x)
