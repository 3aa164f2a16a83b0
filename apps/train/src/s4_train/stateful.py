"""Stateful training over long token streams (``train.state``).

A dataset that exposes ``data.info["streams"]`` (split -> 1-D int64 token stream) is trained
as B parallel streams: the stream is cut into B equal rows, ``batchify`` -> (B, T), and batch i
is the chunk ``x = rows[:, i*L:(i+1)*L]`` with next-token targets ``y = rows[:, i*L+1:(i+1)*L+1]``
(L = ``train.state.seq_len``; a final partial chunk, < L tokens per row, is left out).
Row b of batch i+1 continues row b of batch i, so the backbone
state at the end of one batch is the right initial state of the next:

- ``reset``: every batch starts from the zero state (chunks are independent sequences);
- ``tbptt``: the state is carried into the next batch detached (truncated backpropagation:
  gradients stay inside one batch; the forward is exact over the whole stream).
- ``bptt``: K = ``train.state.bptt_batches`` consecutive chunks make one training batch
  (K, B, L); they run one after the other with the state carried *attached*, the loss is the
  token mean over all K chunks and one backward goes through every carried state: the
  gradient of one optimizer step is that of a single forward over K * L tokens (exact, the
  forward-with-state path), at the memory of K chunks. The state after the K-th chunk is
  carried into the next step detached.

Backpropagation into chunks of earlier optimizer steps is not offered: their graphs are freed
and their weights have changed. Carried states are reset at every epoch start, and
validation/test run over their whole stream with the state carried (the exact loss of the
model read left to right).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset


def batchify(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """1-D stream (T,) -> (B, T // B): B consecutive pieces, the remainder dropped."""
    if stream.dim() != 1:
        raise ValueError(f"stream: expected a 1-D token tensor, got shape {tuple(stream.shape)}")
    length = stream.numel() // batch_size
    if length < 2:  # a row needs an input and its next-token target
        raise ValueError(
            f"stream: expected at least 2 tokens per row for batch_size={batch_size}, got "
            f"{stream.numel()} tokens"
        )
    return stream[: length * batch_size].reshape(batch_size, length)


class StreamChunks(Dataset):
    """Map-style dataset of consecutive (x, y) chunks (B, L) of a batchified stream; item i is
    a whole batch (use ``DataLoader(batch_size=None)``), in stream order.

    ``group`` = K > 1 (bptt): item i is K consecutive chunks stacked, x and y (K, B, L).
    """

    def __init__(self, stream: torch.Tensor, batch_size: int, seq_len: int, group: int = 1) -> None:
        if seq_len < 1:
            raise ValueError(f"train.state.seq_len: expected a positive integer, got {seq_len}")
        if group < 1:
            raise ValueError(f"train.state.bptt_batches: expected a positive integer, got {group}")
        self.rows = batchify(torch.as_tensor(stream, dtype=torch.long), batch_size)
        self.seq_len = int(seq_len)
        self.group = int(group)

    def __len__(self) -> int:
        # every token but the last of a row is an input with a next-token target; a last
        # chunk (group) shorter than seq_len (* group) is left out (decoders expect
        # L = seq_len): reported by :attr:`dropped_tokens`
        return (self.rows.shape[1] - 1) // (self.seq_len * self.group)

    @property
    def dropped_tokens(self) -> int:
        """Input tokens per row after the last whole item (not trained or evaluated on)."""
        return (self.rows.shape[1] - 1) - len(self) * self.seq_len * self.group

    def _chunk(self, j: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = j * self.seq_len
        stop = start + self.seq_len
        return self.rows[:, start:stop], self.rows[:, start + 1 : stop + 1]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        if self.group == 1:
            return self._chunk(i)
        pairs = [self._chunk(i * self.group + k) for k in range(self.group)]
        return torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs])


def detach_state(state: Any) -> Any:
    """The same nested state with every tensor detached (tbptt)."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (list, tuple)):
        return type(state)(detach_state(s) for s in state)
    return state
