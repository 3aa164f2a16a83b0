r"""Compiled step mode: what a layer's ``step`` reads, resolved once into a straight line.

A step of S4Block at B = 1 (H = 256, N = 64) is about ten small tensor ops. Called through
the modules, the Python around them costs more than they do on this project's CPU: an
``nn.Module`` attribute lookup is ~2 us, and each level's checks, cache keys and views add up
(measured: the layered step took ~255 us, the same ops on plain tensors ~100 us). A
:class:`StepPlan` is that straight line:

    v = pre(x)                                   the bottleneck Linear, if any
    y, state' = kernel_step(terms, state, v, D)  functional.step (diag, DPLR dense or linear),
                                                 y = flatten(C x' + D v) (B, channels * H)
    y = act(y);  y = y * gate(x) if gated;  y = post(y)      plain functions of the modules

built by the layer from its modules, holding the tensors it read. The layer runs it while it
is *current*: every parameter and buffer it read is the same tensor at the same version,
storage and dtype (an optimiser step, ``load_state_dict``, ``.to()`` or ``.double()``, which
swap a parameter's ``.data``, change one of them, and the layer rebuilds it),
every submodule is the one it was built from, and the kernel's step cache is the one it took
(``setup_step`` was not called since); and while it *applies*: the input is (B, features) of
the working dtype with a state of the plan's shape and dtype, no autograd graph is wanted
(grad mode off, or nothing requires a gradient), no dropout it skips is in training mode and
no hook is registered. Otherwise the layer takes its module-by-module step (the same
functional forms, every module called, the full checks), which the tests hold equal to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter, is_
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as _module_hooks

from s4_layers._checks import complex_dtype_of

Stage = Callable[[torch.Tensor], torch.Tensor]

_version, _dtype, _data_ptr = attrgetter("_version"), attrgetter("dtype"), torch.Tensor.data_ptr


def affine(linear: nn.Module, act: Stage | None = None) -> Stage:
    r"""``act(y W^T + b)`` for a step's y (B, in) -> (B, out), with W^T taken contiguous once
    (MKL's gemm is faster on it than on the transposed view ``F.linear`` passes; see
    :func:`s4_layers._step_cache.linear_step`). ``linear.weight`` is read once, so a weight
    norm's parametrisation is applied at build time (its parameters are watched)."""
    with torch.no_grad():
        W_T = linear.weight.detach().t().contiguous()  # (in, out)
        b = None if linear.bias is None else linear.bias.detach()
    if act is None:
        return (lambda y: torch.mm(y, W_T)) if b is None else (lambda y: torch.addmm(b, y, W_T))
    if b is None:
        return lambda y: act(torch.mm(y, W_T))
    return lambda y: act(torch.addmm(b, y, W_T))


def _no_plan() -> None:
    return None


class StepPlan:
    """One step of a layer as plain tensor ops (see the module docstring).

    Args:
        owner: the layer; every parameter, buffer, submodule and hook under it is watched.
        kernel_cache: (holder, attribute): the step cache the plan was built from, read as
            ``holder.attribute`` (a kernel's ``_step_cache``, S4D's ``_step``): it holds
            ``"step"`` (a function of functional.step) and its ``"terms"``.
        d_in: features of the input x.  H, N2: the kernel's features and state size.
        D: (channels, H) skip term (detached).  flatten: (B, channels, H) -> (B, features)
            (the layer's own, e.g. FFTConv's channel order; default ``flatten(1, 2)``).
        pre: x -> v, the kernel's input (None: v = x).
        conv: stages after the skip (the activation); they get a tensor of the plan's own, so
            they may work in place (``plain_activation(m, inplace=True)``).
        gate: (x, y) -> y, or None.
        post: stages after the gate (mult_act, the output Linear and its activation).
        skipped: dropout modules the plan leaves out: it applies only while none is training.
        contiguous: make the output contiguous (FFTConv's step contract).
    """

    def __init__(
        self,
        owner: nn.Module,
        kernel_cache: tuple[Any, str],
        d_in: int,
        H: int,
        N2: int,
        D: torch.Tensor,
        *,
        flatten: Stage | None = None,
        pre: Stage | None = None,
        conv: Sequence[Stage | None] = (),
        gate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        post: Sequence[Stage | None] = (),
        skipped: Sequence[nn.Module] = (),
        contiguous: bool = False,
    ) -> None:
        holder, attribute = kernel_cache
        self._cache_vars, self._cache_name = vars(holder), attribute
        cache = self._cache = getattr(holder, attribute)
        self.kernel_step, self.terms = cache["step"], cache["terms"]
        w = self.terms_dtype = _working_dtype(self.terms)
        self.d_in, self.H, self.N2, self.state_dtype = d_in, H, N2, complex_dtype_of(w)
        self.D, self.flatten, self.contiguous = D.detach().to(w), flatten, contiguous
        # the step form adds D v and flattens itself (channel-major) unless the layer's own
        # flatten differs from that (FFTConv's swapped channels, with more than one)
        self.skip_in_step = flatten is None or self.D.shape[0] == 1
        self.pre, self.gate = pre, gate
        self.conv = tuple(f for f in conv if f is not None)
        self.post = tuple(f for f in post if f is not None)
        self.skipped = tuple(m for m in skipped if not isinstance(m, nn.Identity))
        watched: list[tuple[dict, str, Any]] = []  # (dict, key, what it held)
        hooks: list[dict] = [
            _module_hooks._global_forward_hooks,
            _module_hooks._global_forward_pre_hooks,
            _module_hooks._global_backward_hooks,
            _module_hooks._global_backward_pre_hooks,
        ]
        tensors = []
        for m in owner.modules():
            for d in (m._parameters, m._buffers):
                watched += [(d, n, t) for n, t in d.items() if t is not None]
                tensors += [t for t in d.values() if t is not None]
            watched += [(m._modules, n, c) for n, c in m._modules.items()]
            hooks += [m._forward_hooks, m._forward_pre_hooks, m._backward_hooks,
                      m._backward_pre_hooks]  # fmt: skip
        self._hooks = tuple(hooks)
        self._tensors = tuple(tensors)
        self._dicts, self._names, self._held = (
            (tuple(c) for c in zip(*watched, strict=True)) if watched else ((), (), ())
        )
        self._keys = self._tensor_keys()

    def _tensor_keys(self) -> tuple[list, list, list]:
        # C-level maps: current() runs every step, and a per-tensor loop in Python cost ~1 us
        # a tensor on this project's CPU
        ts = self._tensors
        return list(map(_version, ts)), list(map(_data_ptr, ts)), list(map(_dtype, ts))

    def __reduce__(self):
        # not pickled with its layer (it holds closures): the layer rebuilds it at its next step
        return (_no_plan, ())

    def current(self) -> bool:
        """Nothing the plan read has changed (module docstring)."""
        return (
            self._cache_vars.get(self._cache_name) is self._cache
            and all(map(is_, map(dict.get, self._dicts, self._names), self._held))
            and self._tensor_keys() == self._keys
        )

    def applies(self, x: Any, state: Any) -> bool:
        """x and state are what the plan computes on, in a mode it computes for."""
        if not (
            isinstance(x, torch.Tensor)
            and isinstance(state, torch.Tensor)
            and x.dim() == 2
            and x.shape[1] == self.d_in
            and x.dtype == self.terms_dtype
            and state.dtype == self.state_dtype
            and state.shape == (x.shape[0], self.H, self.N2)
        ):
            return False
        if any(self._hooks) or any(m.training for m in self.skipped):
            return False
        return not torch.is_grad_enabled() or not (
            x.requires_grad or state.requires_grad or any(t.requires_grad for t in self._tensors)
        )

    def __call__(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, d_in), state (B, H, N2) -> (y (B, features), next state)."""
        v = x if self.pre is None else self.pre(x)
        if self.skip_in_step:
            y, state = self.kernel_step(self.terms, state, v, self.D)  # (B, channels H), + D v
        else:
            y, state = self.kernel_step(self.terms, state, v)  # (B, channels, H)
            y = self.flatten(torch.addcmul(y, self.D, v.unsqueeze(1)))  # + D v
        for f in self.conv:  # y is the plan's own tensor here: these may work in place
            y = f(y)
        if self.gate is not None:
            y = self.gate(x, y)
        for f in self.post:
            y = f(y)
        return (y.contiguous() if self.contiguous else y), state


def _working_dtype(terms: dict) -> torch.dtype:
    """The real dtype of a step's terms (every form has a real matrix among them)."""
    for t in terms.values():
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            return t.dtype
    raise ValueError("step terms: expected a real tensor among them")  # pragma: no cover


def step_with_plan(layer: nn.Module, build: Callable[[], StepPlan | None], x, state, general):
    """``layer``'s step: its plan (rebuilt by ``build`` when it is not current) when it
    applies, else ``general(x, state)``, the module-by-module step. ``build`` returns None
    when the layer has no plan (e.g. an LSSL kernel); ``general`` is then always used."""
    plan = layer.__dict__.get("_step_plan")
    if plan is None or not plan.current():
        plan = layer.__dict__["_step_plan"] = build()
        if plan is None:
            return general(x, state)
    if plan.applies(x, state):
        return plan(x, state)
    return general(x, state)


__all__ = ["StepPlan", "affine", "step_with_plan"]
