"""A Linear over the feature (last) axis whose bias is added inside the GEMM for any layout."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def linear_features(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    r"""``y = x W^T + b`` over the last axis: x (..., d_in), W (d_out, d_in) -> (..., d_out).

    The same result as ``F.linear``. For a strided x of 3 or more dimensions (the (B, L, H)
    view of an S4 layer's (B, H, L) output) ``F.linear`` goes through ``matmul`` and adds the
    bias in a second pass over the whole output; here the rows are folded to (rows, d_in) (a
    view where the layout allows, else the copy ``matmul`` makes too) and one ``addmm`` does
    both.
    """
    if x.dim() <= 2 or bias is None:
        return F.linear(x, weight, bias)
    rows = x.reshape(-1, x.shape[-1])
    return torch.addmm(bias, rows, weight.t()).view(*x.shape[:-1], weight.shape[0])
