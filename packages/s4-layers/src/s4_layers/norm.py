"""Normalisation layers by the original's names, over the feature axis of (B, L, H) or (B, H)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from s4_layers._checks import S4InputError, check_choice

NORMS = ("layer", "instance", "batch", "group", "none")
# the norms whose statistics mix time steps cannot run one step at a time
SEQUENCE_NORMS = ("instance", "group")


class Normalization(nn.Module):
    """``_name_``: "layer" (LayerNorm over H), "batch" (BatchNorm1d over H, running statistics),
    "instance" (InstanceNorm1d over L per feature; affine=False, no running statistics, as the
    original), "group" (GroupNorm with one group: over (H, L) jointly) or "none".
    **kwargs go to the torch module (e.g. ``eps``, ``affine``).

    x: (B, L, H) or, for layer / batch / none, one step (B, H).
    """

    def __init__(self, d: int, _name_: str = "layer", **kwargs: Any) -> None:
        super().__init__()
        self.kind = check_choice("norm", _name_, NORMS)
        if self.kind == "layer":
            self.norm = nn.LayerNorm(d, **kwargs)
        elif self.kind == "instance":
            self.norm = nn.InstanceNorm1d(
                d, **{"affine": False, "track_running_stats": False, **kwargs}
            )
        elif self.kind == "batch":
            self.norm = nn.BatchNorm1d(d, **{"affine": True, "track_running_stats": True, **kwargs})
        elif self.kind == "group":
            self.norm = nn.GroupNorm(1, d, **kwargs)
        else:
            self.norm = nn.Identity()

    @property
    def steppable(self) -> bool:
        return self.kind not in SEQUENCE_NORMS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind in ("layer", "none"):
            return self.norm(x)
        if x.dim() == 2:
            if not self.steppable:
                raise S4InputError(
                    f"x: expected (B, L, H) for norm={self.kind!r} (its statistics span the "
                    f"sequence), got one step {tuple(x.shape)}"
                )
            return self.norm(x)
        return self.norm(x.transpose(1, 2)).transpose(1, 2)  # the torch norms want (B, H, L)


def make_norm(d: int, norm: str | dict | None) -> Normalization | None:
    """None / "none" -> None; a name; or a dict ``{"_name_": name, **kwargs}``."""
    if norm is None or norm == "none":
        return None
    if isinstance(norm, str):
        return Normalization(d, _name_=norm)
    if isinstance(norm, dict):
        kw = dict(norm)
        return Normalization(d, _name_=kw.pop("_name_", "layer"), **kw)
    raise S4InputError(f"norm: expected None, a name or a dict with '_name_', got {norm!r}")
