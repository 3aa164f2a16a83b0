"""SequenceModel: an encoder-free backbone of residual S4 blocks (the original's layout)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from s4_layers._checks import S4InputError, check_length, describe
from s4_layers.block import S4Block
from s4_layers.dropout import StochasticDepth, make_dropout
from s4_layers.norm import Normalization, make_norm
from s4_layers.pool import make_pool
from s4_layers.residual import make_residual

LAYERS = ("s4", "s4block", "S4Block")  # the original registry's names for S4Block


class SequenceResidualBlock(nn.Module):
    r"""One block on (B, L, H):

        y = layer(norm(x)) (prenorm) or layer(x);  y = residual(x, drop_path(drop(y)));
        y = norm(y) (postnorm);  y = pool(y).

    With ``residual=None`` the layer output is used as is (no skip and, as in the original, no
    dropout). Attribute names follow the original (layer, norm, residual, pool), so official
    state dicts map key for key.
    """

    def __init__(
        self,
        d_input: int,
        i_layer: int,
        layer: dict[str, Any],
        prenorm: bool = True,
        dropout: float = 0.0,
        tie_dropout: bool = False,
        residual: bool | str | dict | None = "R",
        norm: str | dict | None = "layer",
        pool: dict | None = None,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.prenorm = prenorm
        self.layer = S4Block(d_input, transposed=False, **layer)
        d_layer = self.layer.d_output
        self.residual = make_residual(residual, i_layer, d_input, d_layer)
        d_residual = d_layer if self.residual is None else self.residual.d_output
        self.norm = make_norm(d_input if prenorm else d_residual, norm)
        self.pool = make_pool(pool, d_residual)
        self.drop = make_dropout(dropout, tie=tie_dropout, transposed=False)
        self.drop_path = StochasticDepth(drop_path) if drop_path > 0 else nn.Identity()
        self.d_output = d_residual if self.pool is None else self.pool.d_output

    @property
    def stride(self) -> int:
        return getattr(self.pool, "stride", 1)

    def _around(self, x: torch.Tensor, run) -> tuple[torch.Tensor, Any]:
        z = self.norm(x) if (self.norm is not None and self.prenorm) else x
        z, state = run(z)
        if self.residual is not None:
            z = self.residual(x, self.drop_path(self.drop(z)))
        if self.norm is not None and not self.prenorm:
            z = self.norm(z)
        return (z if self.pool is None else self.pool(z)), state

    def forward(self, x, state=None, rate: float = 1.0, lengths=None):
        return self._around(x, lambda z: self.layer(z, state=state, rate=rate, lengths=lengths))

    def step(self, x: torch.Tensor, state: torch.Tensor):
        return self._around(x, lambda z: self.layer.step(z, state))


def _layer_list(layer) -> list[dict[str, Any]]:
    layers = [layer] if layer is None or isinstance(layer, dict) else list(layer)
    out = []
    for item in layers:
        item = dict(item or {})
        name = item.pop("_name_", "s4")
        if name not in LAYERS:
            raise S4InputError(f"layer._name_: expected one of {list(LAYERS)}, got {name!r}")
        item.pop("transposed", None)  # managed here: the blocks see (B, L, H)
        out.append(item)
    return out


def _mean_square(x: torch.Tensor) -> torch.Tensor:
    """mean(x^2) of the detached x, as one reduction (no squared copy of the activations)."""
    return torch.linalg.vector_norm(x.detach()).square() / x.numel()


class SequenceModel(nn.Module):
    r"""``n_layers * n_repeat`` residual blocks (:class:`SequenceResidualBlock`), then a final
    norm when prenorm; input dropout ``dropinp`` first.

    Options shared with the original SequenceModel keep its meaning; the defaults are those of
    its standard config (``configs/model/base.yaml``: 4 layers, residual "R", layer norm,
    prenorm, no pooling).

    Args:
        d_model: H.  n_layers: depth.  transposed: input (B, H, L) if True else (B, L, H) (the
            original always takes (B, L, H) and uses ``transposed`` for its internal layout;
            internally we always run (B, L, H)).
        dropout: after each block's layer, and passed into every layer that sets none (as the
            original).  tie_dropout: masks shared along the sequence.  dropinp: on the input.
        drop_path: stochastic depth of every residual branch.
        prenorm: norm before (True) or after each block.  norm: "layer" | "batch" |
            "instance" | "group" | None, or ``{"_name_": ..., **kwargs}``.
        layer: a dict of :class:`S4Block` kwargs (optional ``_name_`` "s4"), or a list of them
            (cycled).  n_repeat: the layer list is repeated ``n_layers * n_repeat`` times and
            the pool applies after every ``n_repeat``-th block.
        residual: "R" (x + y, default; also True), "F"/None/False (none), "H" (highway), "D"
            (decay), "A" (affine), or ``{"_name_": ..., **kwargs}``.
        pool: None or ``{"_name_": "pool" | "sample" | "linear", "stride": s, "expand": e}``.
        track_norms: record the mean square of the input and of every block's output in
            ``self.metrics`` ({"norm/0": ..., "norm/i": ...}, detached) at each forward.
    forward(x, state=None, rate=1.0, lengths=None) -> (y, next_state): state is a list with one
    entry per block (see :meth:`default_state`); y has x's layout with d_output features.
    """

    def __init__(
        self,
        d_model: int,
        n_layers: int = 4,
        transposed: bool = False,
        dropout: float = 0.0,
        tie_dropout: bool = False,
        prenorm: bool = True,
        n_repeat: int = 1,
        layer: dict[str, Any] | list[dict[str, Any]] | None = None,
        residual: bool | str | dict | None = "R",
        norm: str | dict | None = "layer",
        pool: dict[str, Any] | None = None,
        track_norms: bool = True,
        dropinp: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        check_length(n_layers, "n_layers")
        check_length(n_repeat, "n_repeat")
        self.d_model, self.transposed, self.prenorm = d_model, transposed, prenorm
        self.track_norms = track_norms
        self.metrics: dict[str, torch.Tensor] = {}
        self.drop = make_dropout(dropinp, tie=tie_dropout, transposed=False)
        layers = _layer_list(layer)
        for item in layers:
            if item.get("dropout") is None:
                item["dropout"] = dropout
        blocks, d = [], d_model
        for i, item in enumerate(layers * n_layers * n_repeat):
            block = SequenceResidualBlock(
                d,
                i + 1,
                item,
                prenorm=prenorm,
                dropout=dropout,
                tie_dropout=tie_dropout,
                residual=residual,
                norm=norm,
                pool=pool if (i + 1) % n_repeat == 0 else None,
                drop_path=drop_path,
            )
            blocks.append(block)
            d = block.d_output
        self.layers = nn.ModuleList(blocks)
        self.norm: Normalization | None = make_norm(d, norm) if prenorm else None
        self.d_output = d

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        axis = 1 if self.transposed else 2
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[axis] != self.d_model:
            layout = "(B, H, L)" if self.transposed else "(B, L, H)"
            raise S4InputError(f"x: expected {layout} with H={self.d_model}, got {describe(x)}")
        return x.transpose(1, 2) if self.transposed else x

    def _states(self, state):
        if state is None:
            return [None] * len(self.layers)
        if not isinstance(state, (list, tuple)) or len(state) != len(self.layers):
            got = (
                f"{type(state).__name__} of length {len(state)}"
                if isinstance(state, (list, tuple))
                else type(state).__name__
            )
            raise S4InputError(
                f"state: expected a list of {len(self.layers)} per-layer states, got {got}"
            )
        return list(state)

    def _record(self, norms: list[torch.Tensor]) -> None:
        self.metrics = {f"norm/{i}": v for i, v in enumerate(norms)}

    def forward(self, x: torch.Tensor, state=None, rate: float = 1.0, lengths=None):
        x = self.drop(self._check(x))  # (B, L, H)
        norms = [_mean_square(x)] if self.track_norms else []
        next_states = []
        for block, st in zip(self.layers, self._states(state)):
            x, st = block(x, state=st, rate=rate, lengths=lengths)
            next_states.append(st)
            if self.track_norms:
                norms.append(_mean_square(x))
            if lengths is not None and block.stride > 1:  # a pooled step is real if it
                lengths = _pooled_lengths(lengths, block.stride)  # covers a real one
        if self.norm is not None:
            x = self.norm(x)
        if self.track_norms:
            self._record(norms)
        return (x.transpose(1, 2) if self.transposed else x), (
            next_states if state is not None else None
        )

    def default_state(self, *batch: int, device=None) -> list[torch.Tensor]:
        return [block.layer.default_state(*batch, device=device) for block in self.layers]

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        if any(block.stride > 1 for block in self.layers):
            raise S4InputError("setup_step: expected no pooling (stride 1), got a pooled model")
        norms = [b.norm for b in self.layers] + [self.norm]
        for norm in norms:
            if norm is not None and not norm.steppable:
                raise S4InputError(
                    f"setup_step: expected a layer / batch norm or none, got norm={norm.kind!r} "
                    "(its statistics span the whole sequence)"
                )
        for block in self.layers:
            block.layer.setup_step(mode=mode, rate=rate)

    def step(self, x: torch.Tensor, state: list[torch.Tensor]):
        """x (B, H), state list -> (y (B, d_output), next state list)."""
        next_states = []
        for block, st in zip(self.layers, self._states(state)):
            x, st = block.step(x, st)
            next_states.append(st)
        return (x if self.norm is None else self.norm(x)), next_states


def _pooled_lengths(lengths, stride: int):
    if isinstance(lengths, torch.Tensor):
        return torch.div(lengths + stride - 1, stride, rounding_mode="floor")
    return math.ceil(lengths / stride)
