"""Encoders: inputs -> (B, L, d_model) features, with optional positional information.

- ``linear``: (B, L, d_input) float -> x W^T + b.
- ``embedding``: (B, L) integer token ids in [0, d_input) -> E[x].
- positional ``sinusoidal``: adds P[l, 2i] = sin(l / 10000^(2i/d)), P[l, 2i+1] = cos(...)
  (Vaswani et al. 2017), any L; ``learned``: adds a trained (l_max, d_model) table, L <= l_max.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

ENCODER_KINDS = ("linear", "embedding")
POSITIONAL_KINDS = (None, "sinusoidal", "learned")


def sinusoidal_table(length: int, d_model: int) -> torch.Tensor:
    """(length, d_model) table: P[l, 2i] = sin(l w_i), P[l, 2i+1] = cos(l w_i),
    w_i = 10000^(-2i/d_model)."""
    position = torch.arange(length, dtype=torch.float64)[:, None]
    freq = torch.exp(
        -math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model
    )
    table = torch.zeros(length, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: d_model // 2])
    return table.float()


class SinusoidalPosition(nn.Module):
    """Adds the fixed sinusoidal table to (B, L, d_model) features (no parameters)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.d_model = d_model
        # Cached table (not saved in checkpoints); grows when a longer sequence arrives and
        # follows the module across devices, so a training step does no host work.
        self.register_buffer("table", torch.zeros(0, d_model), persistent=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        length = h.shape[-2]
        if self.table.shape[0] < length:
            self.table = sinusoidal_table(length, self.d_model).to(h.device)
        return h + self.table[:length].to(h.dtype)


class LearnedPosition(nn.Module):
    """Adds a trained (l_max, d_model) table to (B, L, d_model) features, L <= l_max."""

    def __init__(self, l_max: int, d_model: int):
        super().__init__()
        self.l_max = l_max
        self.table = nn.Parameter(torch.randn(l_max, d_model) * d_model**-0.5)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        length = h.shape[-2]
        if length > self.l_max:
            raise ValueError(
                f"learned positions cover at most l_max={self.l_max} steps, got L={length}"
            )
        return h + self.table[:length]


class Encoder(nn.Module):
    """Input projection (linear or embedding) followed by an optional positional term.

    forward: (B, L, d_input) float (linear) or (B, L) long (embedding) -> (B, L, d_model).
    """

    def __init__(self, kind: str, d_input: int, d_model: int, position: nn.Module | None):
        super().__init__()
        self.kind, self.d_input, self.d_model = kind, d_input, d_model
        if kind == "linear":
            self.project: nn.Module = nn.Linear(d_input, d_model)
        else:
            self.project = nn.Embedding(d_input, d_model)
        self.position = position

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "linear":
            if x.dim() != 3 or x.shape[-1] != self.d_input or not x.is_floating_point():
                raise ValueError(
                    f"linear encoder expects float (B, L, {self.d_input}), got "
                    f"{x.dtype} {tuple(x.shape)}"
                )
        else:
            if x.dim() != 2 or x.is_floating_point() or x.is_complex():
                raise ValueError(
                    f"embedding encoder expects integer token ids (B, L), got "
                    f"{x.dtype} {tuple(x.shape)}"
                )
            if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.d_input):
                raise ValueError(
                    f"token ids must lie in [0, {self.d_input}), got "
                    f"[{int(x.min())}, {int(x.max())}]"
                )
        h = self.project(x)
        return h if self.position is None else self.position(h)


def build_encoder(
    kind: str,
    d_input: int,
    d_model: int,
    positional: str | None = None,
    l_max: int | None = None,
) -> Encoder:
    """Encoder mapping (B, L, d_input) float or (B, L) long to (B, L, d_model).

    ``kind``: "linear" (real inputs) or "embedding" (tokens; d_input = vocabulary size).
    ``positional``: None, "sinusoidal" or "learned" (needs ``l_max``).
    """
    if kind not in ENCODER_KINDS:
        raise ValueError(f"encoder kind must be one of {ENCODER_KINDS}, got {kind!r}")
    if positional not in POSITIONAL_KINDS:
        raise ValueError(f"positional must be one of {POSITIONAL_KINDS}, got {positional!r}")
    for name, value in (("d_input", d_input), ("d_model", d_model)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    position: nn.Module | None = None
    if positional == "sinusoidal":
        position = SinusoidalPosition(d_model)
    elif positional == "learned":
        if not isinstance(l_max, int) or isinstance(l_max, bool) or l_max < 1:
            raise ValueError(f"learned positions need a positive int l_max, got {l_max!r}")
        position = LearnedPosition(l_max, d_model)
    return Encoder(kind, d_input, d_model, position)


def adaptive_clusters(vocab: int, cutoffs: list[int], d_model: int, div_val: float):
    """``[(start, end, dim)]`` per frequency cluster: ids ``start..end-1`` get width ``dim``.

    Cluster i (ids ``cutoffs[i-1] .. cutoffs[i]-1``, ids sorted by decreasing frequency) has
    width ``d_model // div_val**i`` (at least 1), so rare words cost fewer parameters.
    """
    bounds = [0, *cutoffs, vocab]
    if any(not isinstance(c, int) or isinstance(c, bool) for c in cutoffs) or any(
        lo >= hi for lo, hi in itertools.pairwise(bounds)
    ):
        raise ValueError(
            f"cutoffs: expected increasing ints in (0, vocab={vocab}), got {list(cutoffs)}"
        )
    if not div_val >= 1:
        raise ValueError(f"div_val: expected a number >= 1, got {div_val!r}")
    return [
        (bounds[i], bounds[i + 1], max(1, int(d_model // div_val**i)))
        for i in range(len(bounds) - 1)
    ]


class AdaptiveInput(nn.Module):
    """Adaptive input embeddings (Baevski & Auli 2019): int64 ``(B, L)`` -> ``(B, L, d_model)``.

    Token t in cluster i is embedded as ``P_i E_i[t - start_i]`` with ``E_i`` of width
    ``d_i = d_model // div_val**i`` and ``P_i: d_i -> d_model`` (see ``adaptive_clusters``).
    """

    def __init__(self, vocab: int, d_model: int, cutoffs: list[int], div_val: float = 4.0):
        super().__init__()
        self.vocab, self.d_model = vocab, d_model
        self.clusters = adaptive_clusters(vocab, list(cutoffs), d_model, div_val)
        self.embeddings = nn.ModuleList(nn.Embedding(hi - lo, d) for lo, hi, d in self.clusters)
        self.projections = nn.ModuleList(
            nn.Linear(d, d_model, bias=False) for _, _, d in self.clusters
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.int64:
            raise ValueError(f"x: expected int64 token ids, got {x.dtype}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.vocab):
            raise ValueError(
                f"x: expected ids in [0, {self.vocab}), got [{int(x.min())}, {int(x.max())}]"
            )
        out = x.new_zeros((*x.shape, self.d_model), dtype=self.projections[0].weight.dtype)
        for (lo, hi, _), emb, proj in zip(
            self.clusters, self.embeddings, self.projections, strict=True
        ):
            mask = (x >= lo) & (x < hi)
            if mask.any():
                out[mask] = proj(emb(x[mask] - lo))
        return out
