"""Batch layout shared by the chunked backends: split the broadcast batch into pole and row parts.

The poles (``w`` for Cauchy, ``x`` for Vandermonde) and the evaluation grid define an (N, L)
matrix per *pole batch* element; the remaining leading dimensions of ``v`` / ``u`` (for S4:
the channel and low-rank combinations) are *rows* that share that matrix. Laying tensors out
as (RB, E, ...) with RB the flattened pole batch and E the flattened rows lets one (N, L) block
serve E rows through a matmul instead of being recomputed E times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Layout:
    """full = rows + pole (right-aligned), RB = prod(pole), E = prod(rows)."""

    full: torch.Size
    rows: torch.Size
    pole: torch.Size

    @property
    def RB(self) -> int:
        return math.prod(self.pole)

    @property
    def E(self) -> int:
        return math.prod(self.rows)

    def rows_first(self, t: torch.Tensor) -> torch.Tensor:
        """(full..., K) -> (RB, E, K): expand to the full batch, put the pole batch first."""
        k = t.shape[-1]
        t = t.expand(*self.full, k).reshape(self.E, self.RB, k)
        return t.transpose(0, 1)

    def pole_only(self, t: torch.Tensor) -> torch.Tensor:
        """(pole..., K) -> (RB, K)."""
        k = t.shape[-1]
        return t.expand(*self.pole, k).reshape(self.RB, k)

    def restore(self, t: torch.Tensor) -> torch.Tensor:
        """(RB, E, K) -> (full..., K), contiguous (a plain layout for callers)."""
        k = t.shape[-1]
        return t.transpose(0, 1).reshape(*self.full, k).contiguous()


def broadcast_shapes(*shapes: tuple[int, ...]) -> torch.Size:
    """``torch.broadcast_shapes`` in plain Python: the same result and the same RuntimeError.

    torch's costs ~10 us a call (it goes through its Python reference implementation), and a
    kernel call broadcasts its batch shapes several times."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for shape in shapes:
        for i, d in enumerate(shape, ndim - len(shape)):
            if d != 1:
                if out[i] == 1:
                    out[i] = d
                elif out[i] != d:
                    raise RuntimeError(
                        f"Shape mismatch: objects cannot be broadcast to a single shape: "
                        f"{', '.join(str(tuple(s)) for s in shapes)}"
                    )
    return torch.Size(out)


def make_layout(full: torch.Size, *pole_batches: torch.Size) -> Layout:
    """Right-align the broadcast of ``pole_batches`` inside ``full``; the rest are rows."""
    pole = broadcast_shapes(*pole_batches)
    k = len(pole)
    return Layout(
        full=torch.Size(full),
        rows=torch.Size(full[: len(full) - k]),
        pole=torch.Size(full[len(full) - k :]),
    )
