"""Decoders: (B, L, d_model) features -> predictions.

- class / regression: pool over L, then a linear map: (B, L, d_model) -> (B, d_output), with
  pool "last" (h[:, -1]), "mean" (1/L sum_l h[:, l]) or "sum" (sum_l h[:, l]). With
  ``lengths`` (B,) (padded token tasks) only the steps l < lengths[b] count: "last" takes
  h[b, lengths[b] - 1], "mean" divides by lengths[b].
- seq_class: the last ``l_output`` steps, each mapped linearly:
  (B, L, d_model) -> (B, l_output, d_output) (all L steps when ``l_output`` is None).
"""

from __future__ import annotations

import torch
from torch import nn

POOLS = ("last", "mean", "sum")
OUTPUT_KINDS = ("class", "seq_class", "regression")


def pool_sequence(h: torch.Tensor, pool: str, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """(B, L, D) -> (B, D) by ``pool`` in {"last", "mean", "sum"}; ``lengths`` (B,) masks
    the padded steps l >= lengths[b] out of every pool."""
    if lengths is not None:
        return _pool_valid(h, pool, lengths)
    if pool == "last":
        return h[:, -1]
    if pool == "mean":
        return h.mean(dim=1)
    if pool == "sum":
        return h.sum(dim=1)
    raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")


def _pool_valid(h: torch.Tensor, pool: str, lengths: torch.Tensor) -> torch.Tensor:
    B, L, _ = h.shape
    lengths = lengths.to(device=h.device, dtype=torch.long).reshape(-1)
    if lengths.shape[0] != B or bool((lengths < 1).any()) or bool((lengths > L).any()):
        raise ValueError(f"lengths: expected {B} values in [1, {L}], got {lengths.tolist()}")
    if pool == "last":
        return h[torch.arange(B, device=h.device), lengths - 1]
    # valid[b, l] = 1 if l < lengths[b]: padded steps contribute exactly zero
    valid = (torch.arange(L, device=h.device)[None, :] < lengths[:, None]).to(h.dtype)
    total = torch.einsum("bld,bl->bd", h, valid)
    if pool == "sum":
        return total
    if pool == "mean":
        return total / lengths[:, None].to(h.dtype)
    raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")


class PooledDecoder(nn.Module):
    """(B, L, d_model) -> pool over L -> linear -> (B, d_output)."""

    def __init__(self, d_model: int, d_output: int, pool: str):
        super().__init__()
        self.d_model, self.pool = d_model, pool
        self.output = nn.Linear(d_model, d_output)

    def forward(self, h: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if h.dim() != 3 or h.shape[-1] != self.d_model:
            raise ValueError(f"decoder expects (B, L, {self.d_model}), got {tuple(h.shape)}")
        return self.output(pool_sequence(h, self.pool, lengths))


class SequenceDecoder(nn.Module):
    """(B, L, d_model) -> the last ``l_output`` steps -> linear -> (B, l_output, d_output)."""

    def __init__(self, d_model: int, d_output: int, l_output: int | None):
        super().__init__()
        self.d_model, self.l_output = d_model, l_output
        self.output = nn.Linear(d_model, d_output)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.dim() != 3 or h.shape[-1] != self.d_model:
            raise ValueError(f"decoder expects (B, L, {self.d_model}), got {tuple(h.shape)}")
        if self.l_output is not None:
            if h.shape[1] < self.l_output:
                raise ValueError(
                    f"sequence decoder needs L >= l_output={self.l_output}, got L={h.shape[1]}"
                )
            h = h[:, h.shape[1] - self.l_output :]
        return self.output(h)


class RetrievalDecoder(nn.Module):
    """Two-tower comparison (LRA retrieval): (B, L, D) x 2 -> (B, d_output).

    u = pool(h1), v = pool(h2) (length-aware); z = [u, v, u * v, u - v] (B, 4D);
    out = W2 gelu(W1 z + b1) + b2 with a hidden width ``d_hidden`` (default D).
    """

    def __init__(self, d_model: int, d_output: int, pool: str, d_hidden: int | None = None):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        self.d_model, self.pool = d_model, pool
        d_hidden = d_hidden or d_model
        self.mlp = nn.Sequential(
            nn.Linear(4 * d_model, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_output)
        )

    def forward(
        self,
        h1: torch.Tensor,
        h2: torch.Tensor,
        lengths1: torch.Tensor | None = None,
        lengths2: torch.Tensor | None = None,
    ) -> torch.Tensor:
        for name, h in (("h1", h1), ("h2", h2)):
            if h.dim() != 3 or h.shape[-1] != self.d_model:
                raise ValueError(f"{name}: expected (B, L, {self.d_model}), got {tuple(h.shape)}")
        u = pool_sequence(h1, self.pool, lengths1)
        v = pool_sequence(h2, self.pool, lengths2)
        return self.mlp(torch.cat([u, v, u * v, u - v], dim=-1))


def build_decoder(
    output_kind: str,
    d_model: int,
    d_output: int,
    pool: str = "last",
    l_output: int | None = None,
) -> nn.Module:
    """Decoder for ``output_kind`` in {"class", "regression", "seq_class"} (see module doc)."""
    if output_kind not in OUTPUT_KINDS:
        raise ValueError(f"output_kind must be one of {OUTPUT_KINDS}, got {output_kind!r}")
    for name, value in (("d_model", d_model), ("d_output", d_output)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if output_kind == "seq_class":
        if l_output is not None and (
            not isinstance(l_output, int) or isinstance(l_output, bool) or l_output < 1
        ):
            raise ValueError(f"l_output must be None or a positive int, got {l_output!r}")
        return SequenceDecoder(d_model, d_output, l_output)
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    return PooledDecoder(d_model, d_output, pool)
