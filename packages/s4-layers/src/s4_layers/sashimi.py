r"""SaShiMi: the multi-scale S4 U-Net of "It's Raw! Audio Generation with State-Space Models"
(Goel et al. 2022), causal at every scale, with an O(1)-per-sample step mode.

Shape (B, L, H) -> (B, L, H) (``transposed=True``: (B, H, L)). With pooling factors
``pool = [p_1, ..., p_T]`` and widths ``d_i = H expand^i``:

- tier i (i = 0..T-1) runs at length L / (p_1 ... p_i) and width d_i; on the way down
  (``unet=True`` only) it has ``n_layers`` residual pairs [S4 block, feed-forward block], then a
  causal down-pool ``DownPool_i``: reshape (L, d_i) -> (L / p, p d_i), Linear(p d_i, d_{i+1});
  the centre runs ``n_layers`` pairs at width d_T and adds its input back;
- on the way up, ``UpPool_i``: Linear(d_{i+1}, p d_i), reshape -> (L, d_i), *shifted right by
  one pooled step* (its first p outputs are zeros, or the previous chunk's when continuing from
  a state), so fine step t only sees pooled steps built from inputs < t; then the skip from the
  tier's input (the last down-path output when ``unet``) is added and ``n_layers`` pairs follow,
  each adding the matching down-path output when ``unet`` (the U-Net skips).

Residual pairs are pre-norm: ``x + drop(S4Block(LayerNorm(x)))`` and
``x + drop(W2 drop(GELU(W1 LayerNorm(x))))`` with W1 (ff d, d), W2 (d, ff d); ``ff=0`` drops the
feed-forward blocks. A final LayerNorm closes the backbone. ``L`` must be a multiple of
``prod(pool)``.

Step mode: tier i keeps a buffer of its last p_{i+1} down-path outputs and the pending p_{i+1}
up-pool outputs; every p-th step it runs the down-pool, one step of the inner tier and the
up-pool, so the work per sample is O(1) (amortised: sum_i 1 / prod_{j<=i} p_j of a step of tier
i). Forward with state continues exactly from a step state taken at a pooling boundary (after a
multiple of prod(pool) samples).

Parameter count (what :func:`sashimi_param_count` computes and the tests check), with
``S(d)`` the parameters of one S4Block at width d (:func:`s4_block_param_count` for the plain
block), ``R(d) = S(d) + 2d + [ff > 0] (2 ff d^2 + ff d + 3d)`` one residual pair, and
``e = expand``:

    total = sum_{i<T} [ (1 + unet) n R(d_i) + (p_i d_i e d_i + e d_i) + (e d_i p_i d_i + p_i d_i) ]
            + n R(d_T) + 2H
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from s4_layers._checks import S4InputError, check_length, describe
from s4_layers.block import S4Block
from s4_layers.dropout import make_dropout


def s4_block_param_count(
    d: int,
    d_state: int = 64,
    mode: str = "dplr",
    channels: int = 1,
    rank: int = 1,
    final_act: str | None = "glu",
) -> int:
    r"""Trainable parameters of a unidirectional, ungated ``S4Block(d)`` (every SSM tensor
    trained): kernel ``d (1 + N (2 + c + [dplr] r))`` (log_dt, Re/Im A, B, [P], C), D ``c d``,
    output ``c d (2d) + 2d`` for GLU else ``c d d + d``."""
    N, c = d_state, channels
    kernel = d * (1 + N * (2 + c + (rank if mode == "dplr" else 0)))
    out = c * d * 2 * d + 2 * d if final_act == "glu" else c * d * d + d
    return kernel + c * d + out


def sashimi_param_count(
    d_model: int,
    n_layers: int = 8,
    pool: Sequence[int] = (4, 4),
    expand: int = 2,
    ff: int = 2,
    unet: bool = False,
    block_params: Callable[[int], int] | None = None,
) -> int:
    """The parameter-count formula of the module docstring; ``block_params(d)`` = S(d)
    (default: :func:`s4_block_param_count` with its defaults)."""
    S = block_params or s4_block_param_count

    def pair(d: int) -> int:
        return S(d) + 2 * d + (2 * ff * d * d + ff * d + 3 * d if ff > 0 else 0)

    total, d = 0, d_model
    for p in pool:
        e = expand
        total += (1 + unet) * n_layers * pair(d)
        total += p * d * e * d + e * d  # DownPool_i
        total += e * d * p * d + p * d  # UpPool_i
        d *= expand
    return total + n_layers * pair(d) + 2 * d_model


# ----------------------------------------------------------------------------------------------
# residual blocks: forward(x (B, L, d), state, rate) -> (y, state); step(x (B, d), state)


class _S4Residual(nn.Module):
    """``x + drop(S4Block(LayerNorm(x)))``."""

    def __init__(self, d: int, dropout: float, layer: dict[str, Any]) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.block = S4Block(d, transposed=False, **layer)
        self.drop = make_dropout(dropout)

    def forward(self, x, state=None, rate: float = 1.0):
        y, state = self.block(self.norm(x), state=state, rate=rate)
        return x + self.drop(y), state

    def step(self, x, state):
        y, state = self.block.step(self.norm(x), state)
        return x + self.drop(y), state

    def default_state(self, batch: int, device=None):
        return self.block.default_state(batch, device=device)

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        self.block.setup_step(mode=mode, rate=rate)


class _FFResidual(nn.Module):
    """``x + drop(W2 drop(GELU(W1 LayerNorm(x))))``, W1 (ff d, d), W2 (d, ff d)."""

    def __init__(self, d: int, ff: int, dropout: float) -> None:
        super().__init__()
        drop = make_dropout(dropout)
        self.net = nn.Sequential(
            nn.LayerNorm(d), nn.Linear(d, ff * d), nn.GELU(), drop, nn.Linear(ff * d, d)
        )
        self.drop = make_dropout(dropout)

    def forward(self, x, state=None, rate: float = 1.0):
        return x + self.drop(self.net(x)), state

    def step(self, x, state):
        return x + self.drop(self.net(x)), state

    def default_state(self, batch: int, device=None):
        return None

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        pass


def _pairs(d: int, n_layers: int, ff: int, dropout: float, layer: dict) -> nn.ModuleList:
    blocks = nn.ModuleList()
    for _ in range(n_layers):
        blocks.append(_S4Residual(d, dropout, layer))
        if ff > 0:
            blocks.append(_FFResidual(d, ff, dropout))
    return blocks


def _run(blocks, x, states, rate, skips=None, push=None):
    """Run blocks in order on a sequence; add ``skips.pop()`` after each (U-Net up path) or
    append each output to ``push`` (down path). Returns (x, new states or None)."""
    new = [] if states is not None else None
    for i, block in enumerate(blocks):
        x, st = block(x, state=None if states is None else states[i], rate=rate)
        if new is not None:
            new.append(st)
        if skips is not None:
            x = x + skips.pop()
        if push is not None:
            push.append(x)
    return x, new


def _run_step(blocks, x, states, skips=None, push=None):
    new = []
    for block, st in zip(blocks, states):
        x, st = block.step(x, st)
        new.append(st)
        if skips is not None:
            x = x + skips.pop()
        if push is not None:
            push.append(x)
    return x, new


# ----------------------------------------------------------------------------------------------
# tiers


class _Center(nn.Module):
    """n_layers residual pairs at the coarsest width, plus its input: ``blocks(z) + z``."""

    def __init__(self, d: int, n_layers: int, ff: int, dropout: float, layer: dict) -> None:
        super().__init__()
        self.blocks = _pairs(d, n_layers, ff, dropout, layer)

    def forward(self, z, state=None, rate: float = 1.0):
        y, states = _run(self.blocks, z, None if state is None else state["blocks"], rate)
        return y + z, (None if state is None else {"blocks": states})

    def step(self, z, state):
        y, states = _run_step(self.blocks, z, state["blocks"])
        return y + z, {"blocks": states}

    def default_state(self, batch: int, device=None, dtype=None):
        return {"blocks": [b.default_state(batch, device=device) for b in self.blocks]}

    def check_phase(self, state, depth: int) -> None:
        pass


class _Tier(nn.Module):
    """One pooling level: [down pairs] -> DownPool -> inner -> UpPool (shifted) + skip -> pairs.

    State: ``phase`` (steps taken mod p), ``buffer`` (B, p, d) down-path outputs of the current
    chunk, ``pending`` (B, p d) up-pool outputs for the current chunk, ``down``/``up`` block
    states, ``inner``.
    """

    def __init__(
        self,
        d: int,
        p: int,
        expand: int,
        inner: nn.Module,
        n_layers: int,
        ff: int,
        dropout: float,
        unet: bool,
        layer: dict,
    ) -> None:
        super().__init__()
        self.d, self.p, self.unet = d, p, unet
        self.down = _pairs(d, n_layers, ff, dropout, layer) if unet else nn.ModuleList()
        self.down_pool = nn.Linear(p * d, expand * d)
        self.inner = inner
        self.up_pool = nn.Linear(expand * d, p * d)
        self.up = _pairs(d, n_layers, ff, dropout, layer)

    def forward(self, x, state=None, rate: float = 1.0):
        B, L, d = x.shape
        skips = [x]
        h, down_st = _run(self.down, x, None if state is None else state["down"], rate, push=skips)
        # causal down-pool: pooled step j sees fine steps j p .. j p + p - 1
        z = self.down_pool(h.reshape(B, L // self.p, self.p * d))
        z, inner_st = self.inner(z, None if state is None else state["inner"], rate)
        up = self.up_pool(z)  # (B, L / p, p d)
        # shift by one pooled step: chunk j gets the up-pool output of pooled step j - 1
        first = up.new_zeros(B, 1, self.p * d) if state is None else state["pending"][:, None]
        u = torch.cat([first, up[:, :-1]], dim=1).reshape(B, L, d) + skips.pop()
        up_states = None if state is None else state["up"]
        u, up_st = _run(self.up, u, up_states, rate, skips if self.unet else None)
        if state is None:
            return u, None
        return u, {
            "phase": 0,
            "buffer": torch.zeros_like(state["buffer"]),
            "pending": up[:, -1],
            "down": down_st,
            "inner": inner_st,
            "up": up_st,
        }

    def step(self, x, state):
        B, r = x.shape[0], state["phase"]
        skips = [x]
        h, down_st = _run_step(self.down, x, state["down"], push=skips)
        buffer = state["buffer"].clone()
        buffer[:, r] = h
        u = state["pending"].view(B, self.p, self.d)[:, r] + skips.pop()
        u, up_st = _run_step(self.up, u, state["up"], skips if self.unet else None)
        pending, inner_st = state["pending"], state["inner"]
        if r == self.p - 1:  # chunk complete: one step of everything below
            z = self.down_pool(buffer.reshape(B, self.p * self.d))
            z, inner_st = self.inner.step(z, inner_st)
            pending = self.up_pool(z)
        return u, {
            "phase": (r + 1) % self.p,
            "buffer": buffer,
            "pending": pending,
            "down": down_st,
            "inner": inner_st,
            "up": up_st,
        }

    def default_state(self, batch: int, device=None, dtype=None):
        zeros = dict(device=device, dtype=dtype)
        return {
            "phase": 0,
            "buffer": torch.zeros(batch, self.p, self.d, **zeros),
            "pending": torch.zeros(batch, self.p * self.d, **zeros),
            "down": [b.default_state(batch, device=device) for b in self.down],
            "inner": self.inner.default_state(batch, device=device, dtype=dtype),
            "up": [b.default_state(batch, device=device) for b in self.up],
        }

    def check_phase(self, state, depth: int) -> None:
        if not isinstance(state, dict) or "phase" not in state:
            got = type(state).__name__
            raise S4InputError(f"state: expected a SaShiMi state (default_state), got {got}")
        if state["phase"] != 0:
            raise S4InputError(
                "state: expected a state at a pooling boundary for forward (every tier's phase "
                f"0, i.e. a multiple of prod(pool) steps taken), got phase {state['phase']} at "
                f"tier {depth}; continue with step() up to the boundary"
            )
        self.inner.check_phase(state["inner"], depth + 1)


# ----------------------------------------------------------------------------------------------


class SaShiMi(nn.Module):
    """The SaShiMi backbone (module docstring). forward(x, state=None, rate=1.0) ->
    (y, next_state); ``setup_step()``, ``default_state(batch)``, ``step(x (B, H), state)``.

    Args:
        d_model: H.  n_layers: residual pairs per tier (down path only when ``unet``; the
        centre and every up tier always).  pool: pooling factors, outer first (e.g. [4, 4]).
        expand: width factor per pooling level.  ff: feed-forward expansion (0 = none).
        dropout: residual dropout.  unet: down-path blocks and U-Net skips.
        layer: :class:`S4Block` kwargs (mode "dplr" S4 / "diag" S4D, d_state, ...; transposed
        is managed here).  transposed: (B, H, L) if True else (B, L, H).
    """

    def __init__(
        self,
        d_model: int,
        n_layers: int = 8,
        pool: Sequence[int] = (4, 4),
        expand: int = 2,
        ff: int = 2,
        dropout: float = 0.0,
        unet: bool = False,
        layer: dict[str, Any] | None = None,
        transposed: bool = False,
    ) -> None:
        super().__init__()
        check_length(d_model, "d_model")
        check_length(n_layers, "n_layers")
        check_length(expand, "expand")
        pool = list(pool)
        if not pool or not all(isinstance(p, int) and not isinstance(p, bool) for p in pool):
            raise S4InputError(f"pool: expected a non-empty list of ints >= 1, got {pool!r}")
        if any(p < 1 for p in pool):
            raise S4InputError(f"pool: expected a non-empty list of ints >= 1, got {pool!r}")
        if isinstance(ff, bool) or not isinstance(ff, int) or ff < 0:
            raise S4InputError(f"ff: expected an int >= 0 (0 = no feed-forward), got {ff!r}")
        if not 0.0 <= dropout < 1.0:
            raise S4InputError(f"dropout: expected a value in [0, 1), got {dropout!r}")
        layer = dict(layer or {})
        layer.pop("transposed", None)
        self.d_model, self.pool, self.expand, self.unet = d_model, pool, expand, unet
        self.transposed, self.d_output = transposed, d_model
        self.chunk = math.prod(pool)
        widths = [d_model * expand**i for i in range(len(pool) + 1)]
        inner: nn.Module = _Center(widths[-1], n_layers, ff, dropout, layer)
        for i in reversed(range(len(pool))):
            inner = _Tier(widths[i], pool[i], expand, inner, n_layers, ff, dropout, unet, layer)
        self.tiers = inner
        self.norm = nn.LayerNorm(d_model)

    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        axis = 1 if self.transposed else 2
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[axis] != self.d_model:
            layout = "(B, H, L)" if self.transposed else "(B, L, H)"
            got = describe(x) if isinstance(x, torch.Tensor) else type(x).__name__
            raise S4InputError(f"x: expected {layout} with H={self.d_model}, got {got}")
        x = x.transpose(1, 2) if self.transposed else x
        if x.shape[1] % self.chunk:
            raise S4InputError(
                f"x: expected a length L divisible by prod(pool) = {self.chunk}, got L={x.shape[1]}"
            )
        return x

    def forward(self, x: torch.Tensor, state=None, rate: float = 1.0):
        """x (B, L, H) -> (y (B, L, H), next_state or None when no state given)."""
        x = self._check_x(x)
        if state is not None:
            self.tiers.check_phase(state, 0)
        y, next_state = self.tiers(x, state, rate)
        y = self.norm(y)
        return (y.transpose(1, 2) if self.transposed else y), next_state

    def default_state(self, *batch: int, device=None):
        """Zero state for a batch of B (nested dict: buffers, block states, phases)."""
        if len(batch) != 1:
            raise S4InputError(f"batch: expected one batch size (B,), got {batch}")
        dtype = self.norm.weight.dtype
        device = self.norm.weight.device if device is None else device
        return self.tiers.default_state(batch[0], device=device, dtype=dtype)

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        for module in self.modules():
            if isinstance(module, (_S4Residual, _FFResidual)):
                module.setup_step(mode=mode, rate=rate)

    def step(self, x: torch.Tensor, state):
        """x (B, H), state -> (y (B, H), next state). One sample; O(1) amortised work."""
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != self.d_model:
            got = describe(x) if isinstance(x, torch.Tensor) else type(x).__name__
            raise S4InputError(f"x: expected one step of shape (B, H={self.d_model}), got {got}")
        y, state = self.tiers.step(x, state)
        return self.norm(y), state
