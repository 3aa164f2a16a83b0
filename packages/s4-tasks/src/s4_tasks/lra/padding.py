"""Fixed-length token padding that keeps the true length beside the item.

Every LRA token task pads (or truncates, by a stated policy) to ``l_max`` with pad id 0 and
returns ``(x, y, length)``: x int64 ``(l_max,)``, y int64 scalar, length int64 scalar with
``1 <= length <= l_max``; positions ``>= length`` are padding and must not reach the loss or
pooled features (``s4_tasks.decoders.pool_sequence(..., lengths=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

PAD_ID = 0

LRA_RELEASE_URL = "https://storage.googleapis.com/long-range-arena/lra_release.gz"


def missing_lra(name: str, root: str, what: str):
    """MissingDataError for an absent LRA release file: names the file, the path, and where
    the release archive comes from (the LRA authors' public bucket; a gzip'd tar)."""
    from s4_tasks.base import MissingDataError

    return MissingDataError(
        f"{name}: {what} not found under {root!r}. It is part of the Long Range Arena release "
        f"{LRA_RELEASE_URL} (tar.gz, ~7.7 GB; extract it and pass the lra_release/ folder as "
        f"dataset.root), or (ListOps, Pathfinder) drop dataset.root to use the generated task."
    )


def pad_tokens(ids: Sequence[int] | np.ndarray, l_max: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``ids`` (n,) -> (x (l_max,) int64 padded with PAD_ID, length int64 scalar).

    Raises ValueError if ``n > l_max`` (callers truncate explicitly first) or ``n == 0``.
    """
    ids = np.asarray(ids, dtype=np.int64)
    n = int(ids.shape[0])
    if n == 0 or n > l_max:
        raise ValueError(f"ids: expected 1..{l_max} tokens, got {n}")
    x = np.full(l_max, PAD_ID, dtype=np.int64)
    x[:n] = ids
    return torch.from_numpy(x), torch.tensor(n, dtype=torch.int64)


class PaddedTokens(Dataset):
    """In-memory split of token lists and labels, padded on access to ``l_max``."""

    def __init__(self, sequences: list[np.ndarray], labels: Sequence[int], l_max: int) -> None:
        if len(sequences) != len(labels):
            raise ValueError(
                f"labels: expected one per sequence ({len(sequences)}), got {len(labels)}"
            )
        self.sequences = sequences
        self.labels = np.asarray(labels, dtype=np.int64)
        self.l_max = l_max

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, length = pad_tokens(self.sequences[i], self.l_max)
        return x, torch.tensor(self.labels[i], dtype=torch.int64), length
