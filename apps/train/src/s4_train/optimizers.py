"""The optimizer from the ``optimizer`` config section, over s4_layers' parameter groups.

SSM parameters (A, B, dt, ...) keep the lr and weight decay they carry (``_optim``, set by
``model.layer.lr``; weight decay 0), every other parameter uses the section's values; see
``s4_layers.param_groups``. The classes are torch's own (``torch.optim``).

Adam and AdamW run torch's fused implementation unless ``optimizer.fused`` says otherwise
(``fused: null``, the default, = fused when every parameter allows it): the same update in one
kernel over all parameters, instead of ~25 small ops per parameter (at d_model 64, 4 layers
on CPU: ~0.7 ms instead of ~3.5 ms an optimizer step). It agrees with the per-parameter loop to
rounding (float32: ~1e-7 relative per step).
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
    if name in _FUSABLE and kwargs.get("fused") is None:
        kwargs["fused"] = _fusable(network)
    groups = param_groups(network, lr=kwargs["lr"], weight_decay=kwargs["weight_decay"])
    return OPTIMIZERS[name](groups, **kwargs)


_FUSABLE = ("adamw", "adam")
_FUSED_DEVICES = ("cpu", "cuda")


def _fusable(network: torch.nn.Module) -> bool:
    """Whether torch's fused Adam / AdamW accepts every trainable parameter: floating point
    (not complex), on CPU or CUDA, all on one device type."""
    params = [p for p in network.parameters() if p.requires_grad]
    devices = {p.device.type for p in params}
    return (
        bool(params)
        and len(devices) == 1
        and devices <= set(_FUSED_DEVICES)
        and all(p.is_floating_point() for p in params)
    )
