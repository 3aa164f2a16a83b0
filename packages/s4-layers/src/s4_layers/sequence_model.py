"""SequenceModel: an encoder-free backbone of residual S4 blocks."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from s4_layers._checks import S4InputError, check_choice, describe
from s4_layers.block import S4Block

NORMS = ("layer", "batch", "none")


class _Norm(nn.Module):
    """LayerNorm / BatchNorm over the feature axis of (B, L, H) or (B, H)."""

    def __init__(self, d: int, kind: str | None) -> None:
        super().__init__()
        self.kind = check_choice("norm", kind or "none", NORMS)
        self.norm = {"layer": nn.LayerNorm, "batch": nn.BatchNorm1d}.get(
            self.kind, lambda d: nn.Identity()
        )(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "batch" and x.dim() == 3:
            return self.norm(x.transpose(1, 2)).transpose(1, 2)
        return self.norm(x)


class _DownPool(nn.Module):
    """Average every ``stride`` steps, then Linear(H, expand * H). (B, L, H) -> (B, L/s, eH)."""

    def __init__(self, d: int, stride: int = 1, expand: int = 1) -> None:
        super().__init__()
        self.stride, self.d_output = stride, d * expand
        self.linear = nn.Linear(d, d * expand) if expand != 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            B, L, H = x.shape
            if L % self.stride:
                raise S4InputError(
                    f"x: expected L divisible by pool stride {self.stride}, got L={L}"
                )
            x = x.reshape(B, L // self.stride, self.stride, H).mean(2)
        return self.linear(x)


class SequenceModel(nn.Module):
    r"""``n_layers`` residual blocks: x = x + drop(block(norm(x))) (prenorm) or
    x = norm(x + drop(block(x))) (postnorm); a final norm when prenorm.

    Args:
        d_model: H.  n_layers: depth.  transposed: input (B, H, L) if True else (B, L, H).
        dropout: after each block.  prenorm: norm before (True) or after each block.
        norm: "layer" | "batch" | None.  layer: dict of :class:`S4Block` kwargs (transposed is
        managed here).  pool: None or {"stride": s, "expand": e}: average-pool by s and widen by
        e after every block (no step mode when s > 1).  residual: add the skip connections.
    forward(x, state=None, rate=1.0) -> (y, next_state): state is a list with one entry per
    layer (see :meth:`default_state`); y has x's layout with d_output features.
    """

    def __init__(
        self,
        d_model: int,
        n_layers: int = 4,
        transposed: bool = False,
        dropout: float = 0.0,
        prenorm: bool = True,
        norm: str | None = "layer",
        layer: dict[str, Any] | None = None,
        pool: dict[str, int] | None = None,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.d_model, self.transposed, self.prenorm, self.residual = (
            d_model,
            transposed,
            prenorm,
            residual,
        )
        layer = dict(layer or {})
        layer.pop("transposed", None)
        self.blocks, self.norms, self.pools = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        d = d_model
        for _ in range(n_layers):
            self.blocks.append(S4Block(d, transposed=False, **layer))
            self.norms.append(_Norm(d, norm))
            pooler = _DownPool(d, **(pool or {}))
            self.pools.append(pooler)
            d = pooler.d_output
        self.final_norm = _Norm(d, norm) if prenorm else nn.Identity()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.d_output = d

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        axis = 1 if self.transposed else 2
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[axis] != self.d_model:
            layout = "(B, H, L)" if self.transposed else "(B, L, H)"
            raise S4InputError(f"x: expected {layout} with H={self.d_model}, got {describe(x)}")
        return x.transpose(1, 2) if self.transposed else x

    def _states(self, state, n: int | None = None):
        if state is None:
            return [None] * len(self.blocks)
        if not isinstance(state, (list, tuple)) or len(state) != len(self.blocks):
            got = (
                f"{type(state).__name__} of length {len(state)}"
                if isinstance(state, (list, tuple))
                else type(state).__name__
            )
            raise S4InputError(
                f"state: expected a list of {len(self.blocks)} per-layer states, got {got}"
            )
        return list(state)

    def forward(self, x: torch.Tensor, state=None, rate: float = 1.0):
        x = self._check(x)  # (B, L, H)
        states = self._states(state)
        next_states = []
        for block, norm, pool, st in zip(self.blocks, self.norms, self.pools, states):
            z = norm(x) if self.prenorm else x
            z, st = block(z, state=st, rate=rate)
            x = x + self.dropout(z) if self.residual else self.dropout(z)
            if not self.prenorm:
                x = norm(x)
            x = pool(x)
            next_states.append(st)
        x = self.final_norm(x)
        return (x.transpose(1, 2) if self.transposed else x), (
            next_states if state is not None else None
        )

    def default_state(self, *batch: int, device=None) -> list[torch.Tensor]:
        return [block.default_state(*batch, device=device) for block in self.blocks]

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        if any(p.stride > 1 for p in self.pools):
            raise S4InputError("setup_step: expected no pooling (stride 1), got a pooled model")
        for block in self.blocks:
            block.setup_step(mode=mode, rate=rate)

    def step(self, x: torch.Tensor, state: list[torch.Tensor]):
        """x (B, H), state list -> (y (B, d_output), next state list)."""
        states = self._states(state)
        next_states = []
        for block, norm, pool, st in zip(self.blocks, self.norms, self.pools, states):
            z = norm(x) if self.prenorm else x
            z, st = block.step(z, st)
            x = x + self.dropout(z) if self.residual else self.dropout(z)
            if not self.prenorm:
                x = norm(x)
            x = pool.linear(x)
            next_states.append(st)
        return self.final_norm(x), next_states
