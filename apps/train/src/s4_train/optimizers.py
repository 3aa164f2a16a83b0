"""The optimizer from the ``optimizer`` config section, over s4_layers' parameter groups.

SSM parameters (A, B, dt, ...) keep the lr and weight decay they carry (``_optim``, set by
``model.layer.lr``; weight decay 0), every other parameter uses the section's values; see
``s4_layers.param_groups``. The classes are torch's own (``torch.optim``).
"""

from __future__ import annotations

from typing import Any

import torch

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adamw": torch.optim.AdamW,
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


def build_optimizer(network: torch.nn.Module, optimizer: dict[str, Any]) -> torch.optim.Optimizer:
    """``optimizer``: the section as a plain dict (``name`` + the class's keyword arguments)."""
    from s4_layers import param_groups

    kwargs = dict(optimizer)
    name = kwargs.pop("name")
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer.name: expected one of {sorted(OPTIMIZERS)}, got {name!r}")
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    groups = param_groups(network, lr=kwargs["lr"], weight_decay=kwargs["weight_decay"])
    return OPTIMIZERS[name](groups, **kwargs)
