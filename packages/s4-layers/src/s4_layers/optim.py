"""Per-parameter optimiser settings and the parameter groups built from them.

SSM parameters (dt, A, P, B) carry their own optimiser hyperparameters in a ``_optim`` attribute
(``{"weight_decay": 0.0}`` plus ``"lr"`` when one was given); a learning rate of 0 freezes the
tensor instead (it is registered as a buffer). :func:`param_groups` turns a model into
``torch.optim`` parameter groups: one group per distinct ``_optim`` setting, one for ordinary
weights (``lr``, ``weight_decay``) and one for biases and normalisation parameters
(``lr``, no weight decay).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

_NORM_TYPES = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


def register(
    module: nn.Module, name: str, tensor: torch.Tensor, lr: float | None, wd: float = 0.0
) -> None:
    """Register ``tensor`` on ``module``: a buffer when ``lr == 0`` (frozen), else a Parameter
    tagged with ``_optim = {"weight_decay": wd, "lr": lr (if not None)}``. The tensor is stored
    as a contiguous copy: a strided view (``Lambda.imag``) or hippo_core's column-major arrays
    would slow every elementwise op of the kernel and the step."""
    tensor = tensor.detach().clone(memory_format=torch.contiguous_format)
    if lr == 0.0:
        module.register_buffer(name, tensor)
        return
    param = nn.Parameter(tensor)
    optim: dict[str, Any] = {"weight_decay": wd}
    if lr is not None:
        optim["lr"] = lr
    param._optim = optim  # type: ignore[attr-defined]
    module.register_parameter(name, param)


def param_groups(model: nn.Module, lr: float, weight_decay: float) -> list[dict[str, Any]]:
    """Optimiser parameter groups for ``model``.

    Returns a list of dicts ``{"name", "params", "lr", "weight_decay"}``: "default" (weights,
    ``lr`` and ``weight_decay``), "no_decay" (biases, 1-d parameters and every parameter of a
    normalisation layer: ``lr``, weight decay 0), then one "ssm:..." group per distinct
    ``_optim`` setting. Every trainable parameter appears exactly once; empty groups are dropped.
    """
    no_decay_ids = set()
    for module in model.modules():
        if isinstance(module, _NORM_TYPES):
            no_decay_ids.update(id(p) for p in module.parameters(recurse=False))
    default, no_decay = [], []
    special: dict[tuple, list[nn.Parameter]] = {}
    for _, param in model.named_parameters():
        if not param.requires_grad:
            continue
        optim = getattr(param, "_optim", None)
        if optim is not None:
            special.setdefault(tuple(sorted(optim.items())), []).append(param)
        elif param.ndim <= 1 or id(param) in no_decay_ids:
            no_decay.append(param)
        else:
            default.append(param)
    groups = [
        {"name": "default", "params": default, "lr": lr, "weight_decay": weight_decay},
        {"name": "no_decay", "params": no_decay, "lr": lr, "weight_decay": 0.0},
    ]
    for key, params in special.items():
        hp = {"lr": lr, "weight_decay": weight_decay, **dict(key)}
        label = ",".join(f"{k}={v}" for k, v in key)
        groups.append({"name": f"ssm:{label}", "params": params, **hp})
    return [g for g in groups if g["params"]]
