"""Down-pooling by the original's names, on (B, L, H) (or one step (B, H) when stride is 1)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from s4_layers._checks import S4InputError, check_length


def _check_divisible(x: torch.Tensor, stride: int) -> None:
    if x.dim() == 3 and x.shape[1] % stride:
        raise S4InputError(
            f"x: expected L divisible by pool stride {stride}, got L={x.shape[1]} "
            "(the original would silently drop the remainder)"
        )


class DownSample(nn.Module):
    """Keep every ``stride``-th step, repeat each feature ``expand`` times ("sample")."""

    def __init__(self, d_input: int, stride: int = 1, expand: int = 1) -> None:
        super().__init__()
        self.stride, self.expand = check_length(stride, "stride"), check_length(expand, "expand")
        self.d_output = d_input * expand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            _check_divisible(x, self.stride)
            x = x[:, :: self.stride]
        return x.repeat_interleave(self.expand, dim=-1) if self.expand > 1 else x


class DownAvgPool(nn.Module):
    """Average every ``stride`` steps, then Linear(H, expand H) when ``expand`` is set
    ("pool" / "avg"; expand=None: no Linear, as the original)."""

    def __init__(self, d_input: int, stride: int = 1, expand: int | None = None) -> None:
        super().__init__()
        self.stride = check_length(stride, "stride")
        self.expand = None if expand is None else check_length(expand, "expand")
        if self.expand is not None:
            self.linear = nn.Linear(d_input, d_input * self.expand)
        self.d_output = d_input * (self.expand or 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            _check_divisible(x, self.stride)
            B, L, H = x.shape
            x = x.reshape(B, L // self.stride, self.stride, H).mean(2)
        return self.linear(x) if self.expand is not None else x


class DownLinearPool(nn.Module):
    """Concatenate every ``stride`` steps (features ordered (H, stride)), then
    Linear(stride H, expand H) ("linear")."""

    def __init__(self, d_input: int, stride: int = 1, expand: int = 1) -> None:
        super().__init__()
        self.stride, self.expand = check_length(stride, "stride"), check_length(expand, "expand")
        self.linear = nn.Linear(d_input * self.stride, d_input * self.expand)
        self.d_output = d_input * self.expand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3 and self.stride > 1:
            _check_divisible(x, self.stride)
            B, L, H = x.shape
            x = x.reshape(B, L // self.stride, self.stride, H).transpose(2, 3).flatten(2)
        return self.linear(x)


POOLS: dict[str, type[nn.Module]] = {
    "sample": DownSample,
    "pool": DownAvgPool,
    "avg": DownAvgPool,
    "linear": DownLinearPool,
}


def make_pool(pool: dict | None, d_input: int) -> nn.Module | None:
    """None -> None; ``{"_name_": name (default "pool"), "stride": s, "expand": e}``."""
    if pool is None:
        return None
    if not isinstance(pool, dict):
        raise S4InputError(f"pool: expected None or a dict with '_name_', got {pool!r}")
    kw: dict[str, Any] = dict(pool)
    name = kw.pop("_name_", "pool")
    if name not in POOLS:
        raise S4InputError(
            f"pool: expected _name_ among {sorted(POOLS)} (spectral pooling is not ported), "
            f"got {name!r}"
        )
    return POOLS[name](d_input, **kw)
