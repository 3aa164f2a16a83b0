"""Public ops over any leading batch dims, for backends whose autograd Functions take flat rows.

The keops and cuda backends implement each op as a ``torch.autograd.Function`` over flat
``(rows, K)`` tensors. :func:`flat_batch_ops` wraps such a trio into the public signatures:
broadcast the leading dims, flatten them, apply, restore. Keeping this in one place means the
backends differ only in their Functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from ssm_kernels._layout import broadcast_shapes


def flatten_batch(t: torch.Tensor, batch: torch.Size) -> torch.Tensor:
    """(..., K) -> (prod(batch), K), expanded to the full broadcast batch."""
    return t.expand(*batch, t.shape[-1]).reshape(-1, t.shape[-1])


class FlatBatchOps(NamedTuple):
    cauchy: Callable[..., torch.Tensor]
    vandermonde: Callable[..., torch.Tensor]
    vandermonde_transpose: Callable[..., torch.Tensor]


def flat_batch_ops(
    cauchy_fn: type[torch.autograd.Function],
    vandermonde_fn: type[torch.autograd.Function],
    reduce_fn: type[torch.autograd.Function],
    *,
    shared_grid: bool = False,
) -> FlatBatchOps:
    """Public ``cauchy``, ``vandermonde``, ``vandermonde_transpose`` from flat Functions.

    ``cauchy_fn.apply(V (R, N), Z (R or 1, L), W (R, N)) -> (R, L)``;
    ``vandermonde_fn.apply(V (R, N), X (R, N), L) -> (R, L)`` complex;
    ``reduce_fn.apply(U (R, L), X (R, N), L) -> (R, N)`` = ``sum_l U_l exp(X_n l)``.
    ``shared_grid``: a 1-D ``z`` is passed as one ``(1, L)`` row that every row shares, instead
    of being expanded to ``(R, L)``.
    """

    def cauchy(
        v: torch.Tensor, z: torch.Tensor, w: torch.Tensor, conj: bool = True
    ) -> torch.Tensor:
        """out[..., l] = sum_n v[..., n] / (z[..., l] - w[..., n])  (+ the conj term). (..., L)."""
        batch = broadcast_shapes(v.shape[:-1], z.shape[:-1], w.shape[:-1])
        if conj:
            v = torch.cat([v, v.conj()], dim=-1)
            w = torch.cat([w, w.conj()], dim=-1)
        Z = z.reshape(1, -1) if shared_grid and z.dim() == 1 else flatten_batch(z, batch)
        out = cauchy_fn.apply(flatten_batch(v, batch), Z, flatten_batch(w, batch))
        return out.reshape(*batch, z.shape[-1])

    def vandermonde(v: torch.Tensor, x: torch.Tensor, L: int, conj: bool = True) -> torch.Tensor:
        """out[..., l] = sum_n v[..., n] exp(x[..., n] l); 2 Re(out) when conj. (..., L)."""
        batch = broadcast_shapes(v.shape[:-1], x.shape[:-1])
        flat = vandermonde_fn.apply(flatten_batch(v, batch), flatten_batch(x, batch), L)
        out = flat.reshape(*batch, L)
        return 2 * out.real if conj else out

    def vandermonde_transpose(
        u: torch.Tensor, v: torch.Tensor, x: torch.Tensor, L: int
    ) -> torch.Tensor:
        """out[..., n] = v[..., n] sum_l u[..., l] exp(x[..., n] l). (..., N)."""
        batch = broadcast_shapes(u.shape[:-1], v.shape[:-1], x.shape[:-1])
        S = reduce_fn.apply(flatten_batch(u, batch), flatten_batch(x, batch), L)
        return v * S.reshape(*batch, x.shape[-1])

    return FlatBatchOps(cauchy, vandermonde, vandermonde_transpose)
