"""Helpers of the recurrent step caches.

:func:`parameter_key`: what ``setup_step`` derived must be re-derived when it changes (an
optimiser step bumps the in-place version counter; ``.double()`` / ``.to()`` /
``load_state_dict(assign=True)`` change storage, dtype or device).
:func:`step_input_ok`: the per-step boundary check's fast path (a step is a few small ops, so
the check must cost little; anything it does not accept goes through the full checks, which
raise the usual messages).
:func:`apply_unless_identity`: a module call that skips ``nn.Identity`` and, for a module
without hooks, ``nn.Module.__call__``'s bookkeeping (about 2 us a call each, which a step of
a few small ops notices).
:class:`StateBuffers`: recycled storage for the new state of a step, once the caller dropped it.
:func:`linear_step`: ``F.linear`` on a (batch, features) step input through a cached transposed
weight (MKL's gemm is faster on it, and not slow on a strided input).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from itertools import chain
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as _module_hooks

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
    """``module(x)``, or x itself when the module is an ``nn.Identity`` (same result); a
    module without hooks (its own or global) runs its ``forward`` directly, which is what
    ``module(x)`` would do after checking for them (~2 us a call, several calls a step)."""
    if isinstance(module, nn.Identity):
        return x
    if _has_hooks(module):
        return module(x)
    return module.forward(x)


def _has_hooks(module: nn.Module) -> bool:
    """Any forward or backward hook that ``module(x)`` would run (its own or global)."""
    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or module._backward_pre_hooks
        or _module_hooks._global_forward_hooks
        or _module_hooks._global_forward_pre_hooks
        or _module_hooks._global_backward_hooks
        or _module_hooks._global_backward_pre_hooks
    )


def _refcount(buffers: list, i: int) -> int:
    return sys.getrefcount(buffers[i])


def _storage_refs(t: torch.Tensor) -> int:
    return torch._C._storage_Use_Count(t.untyped_storage()._cdata)


def _counts(buffers: list, i: int) -> tuple[int, int, int] | None:
    """(Python refs, TensorImpl refs, storage refs) of ``buffers[i]``; None when this torch
    lacks the counters (then nothing is recycled)."""
    try:
        return _refcount(buffers, i), buffers[i]._use_count(), _storage_refs(buffers[i])
    except (AttributeError, RuntimeError):  # private counters: absent in some torch build
        return None


def _no_views(t: torch.Tensor) -> tuple:
    return ()


class StateBuffers:
    r"""Storage for the new state of a step, recycled from the states it handed out before.

    Why: on CPU a fresh state tensor each step costs more than the step's arithmetic once it is
    large (B=16, H=256, N/2=32 complex64: 1 MB): glibc serves it with fresh pages (measured
    about 160 page faults, ~200 us, a step), while a recycled one is already mapped.

    When: a buffer is handed out again only when nothing but this object references it: no
    Python reference (the caller dropped it, as ``_, s = layer.step(u, s)`` drops the state of
    two steps before), no other C++ owner of the tensor (autograd, DLPack) and no other tensor
    or array on its storage (views, ``.numpy()``). So a recycled buffer is never a tensor the
    caller can still read; only its identity (``id``, weak references) may repeat. Buffers are
    only used where no autograd graph is recorded (callers check).

    ``views``: a function of a buffer to the views a step reads it through (e.g. its real
    view), derived once per buffer and held here (``empty_with_views``, ``views_of``): each view
    op costs ~2 us on this project's CPU, a step at B = 1 ~100 us. The references they hold
    are counted in each buffer's baseline (the counts of a buffer held only by this object,
    measured when it is made), so they never make a buffer look used or unused.
    """

    def __init__(self, keep: int = 2, views: Callable[[torch.Tensor], tuple] | None = None):
        self.keep = keep  # the current state and the one before cover a plain step loop
        self.views = views if views is not None else _no_views
        self._buffers: list[torch.Tensor] = []
        self._extras: list[tuple[tuple, tuple[int, int, int] | None]] = []  # (views, baseline)

    def __getstate__(self) -> dict:
        # scratch storage: pickled, saved or deep-copied empty (its views alias its buffers,
        # which torch.save refuses, and a copy would not be recycled anyway)
        return {"keep": self.keep, "views": self.views}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def _unused(self, i: int) -> bool:
        baseline = self._extras[i][1]
        if baseline is None:
            return False
        py, impl, storage = baseline
        # cheapest test first: the state the caller holds fails on its Python references
        b = self._buffers
        return (
            _refcount(b, i) == py and b[i]._use_count() == impl and _storage_refs(b[i]) == storage
        )

    def empty_with_views(
        self, shape: torch.Size, dtype: torch.dtype, device: torch.device
    ) -> tuple[torch.Tensor, tuple]:
        """An uninitialised tensor (a recycled buffer when one fits and is unused, else new)
        and its ``views``."""
        b = self._buffers
        for i in range(len(b)):  # oldest first: the likeliest to be dropped
            if self._unused(i) and b[i].shape == shape and b[i].dtype == dtype:
                if b[i].device == device:
                    b.append(b.pop(i))  # most recent last
                    self._extras.append(self._extras.pop(i))
                    return b[-1], self._extras[-1][0]
        t = torch.empty(shape, dtype=dtype, device=device)
        views = self.views(t)
        b.append(t)
        del t  # the baseline: held by this object (and its views) alone
        self._extras.append((views, _counts(b, len(b) - 1)))
        del b[: -self.keep], self._extras[: -self.keep]
        return b[-1], views

    def empty(self, shape: torch.Size, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """An uninitialised tensor: a recycled buffer when one fits and is unused, else new."""
        return self.empty_with_views(shape, dtype, device)[0]

    def views_of(self, t: torch.Tensor) -> tuple:
        """``views(t)``: the held ones when t is one of the buffers (a step's old state)."""
        for i, held in enumerate(self._buffers):
            if held is t:
                return self._extras[i][0]
        return self.views(t)


def linear_step(linear: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    r"""``linear(x)`` for x (batch, in) -> (batch, out): ``bias + x @ W^T`` with W^T cached
    contiguous on the module (keyed like :func:`parameter_key`, so an optimiser step or
    ``load_state_dict`` refreshes it).

    Why: MKL's sgemm at these shapes is faster with a contiguous (in, out) right factor than with
    the transposed view ``F.linear`` passes (measured, H=256 -> 512: 21 vs 35 us at B=16, 5 vs 9
    at B=1), and ``F.linear`` on a strided (batch, in) input can be much slower (132 vs 8 us at
    B=4). Only without autograd (a cached copy would cut the weight's gradient) and for a plain
    ``nn.Linear`` without hooks; anything else is the module call itself.
    """
    W, b = linear._parameters.get("weight"), linear._parameters.get("bias")
    if (
        W is None  # parametrised (weight_norm): the weight is recomputed on access
        or type(linear) is not nn.Linear
        or _has_hooks(linear)
        or (torch.is_grad_enabled() and (W.requires_grad or (b is not None and b.requires_grad)))
        or x.dim() != 2
    ):
        return linear(x.contiguous())  # contiguous: F.linear's slow case above
    key = (W.data_ptr(), W._version, W.dtype, W.device)
    cache = linear.__dict__.get("_s4_weight_t")
    if cache is None or cache[0] != key:
        cache = linear.__dict__["_s4_weight_t"] = (key, W.t().contiguous())
    if b is None:
        return torch.mm(x, cache[1])
    return torch.addmm(b, x, cache[1])
