"""Activation functions by name, and their plain functions for step mode."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from s4_layers._checks import check_choice

ACTIVATIONS = ("gelu", "relu", "silu", "swish", "tanh", "sigmoid", "elu", "glu", "id", "identity")


def activation(name: str | None, dim: int = -1) -> nn.Module:
    """``nn.Module`` for ``name`` (None / "id" / "identity" -> Identity; "glu" halves ``dim``)."""
    if name is None:
        return nn.Identity()
    check_choice("activation", name, ACTIVATIONS)
    if name in ("id", "identity"):
        return nn.Identity()
    if name == "glu":
        return nn.GLU(dim=dim)
    return {
        "gelu": nn.GELU,
        "relu": nn.ReLU,
        "silu": nn.SiLU,
        "swish": nn.SiLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "elu": nn.ELU,
    }[name]()


def gelu_torch_kernel(x: torch.Tensor) -> torch.Tensor:
    r"""``F.gelu(x)`` (exact, erf form) computed by torch's own kernel.

    Why: torch sends a contiguous float32 input to oneDNN's GELU, which inside a step costs
    about 45 us a call on this project's 2-core CPU against ~2 us for torch's kernel (measured
    in a B=1 S4Block step, H=256: 279 -> 234 us a step; in isolation 13 against 2 us). A
    non-contiguous view of the same memory (its last axis split in two halves, transposed)
    takes torch's kernel, which keeps that layout, so transposing back is a view again. The
    two kernels agree to 1 ulp.
    """
    if x.dim() and x.shape[-1] % 2 == 0 and x.is_contiguous():
        halves = x.unflatten(-1, (2, -1)).transpose(-1, -2)  # same memory, not contiguous
        return F.gelu(halves).transpose(-1, -2).flatten(-2)
    return F.gelu(x)


def gelu_torch_kernel_(x: torch.Tensor) -> torch.Tensor:
    r"""x = GELU(x) in place (exact, erf form), by torch's own kernel (see
    :func:`gelu_torch_kernel`): a contiguous (B, features) x is written through one strided
    view of its two halves, so no view is needed to read the result (each costs ~2 us where a
    step's GELU costs ~2 us). Returns x."""
    if x.dim() == 2 and x.shape[1] % 2 == 0 and x.is_contiguous():
        batch, features = x.shape
        g = x.as_strided((batch, features // 2, 2), (features, 1, features // 2))
    else:  # a strided x already takes torch's kernel (and a 1-D or odd one is rare here)
        g = x
    F.gelu(g, out=g)
    return x


def plain_activation(
    module: nn.Module, inplace: bool = False
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The function ``module.forward`` computes, for a step's (B, features) tensor, without
    ``nn.Module.__call__`` (hooks are the caller's to check): None for an identity,
    :func:`gelu_torch_kernel` for the exact GELU (:func:`gelu_torch_kernel_` with
    ``inplace``, for a tensor the caller owns), ``F.glu`` over the module's ``dim``, and the
    bound ``forward`` of anything else."""
    if isinstance(module, nn.Identity):
        return None
    if type(module) is nn.GELU:
        if module.approximate == "none":
            return gelu_torch_kernel_ if inplace else gelu_torch_kernel
        return partial(F.gelu, approximate=module.approximate)
    if type(module) is nn.GLU:
        return partial(F.glu, dim=module.dim)
    return module.forward
