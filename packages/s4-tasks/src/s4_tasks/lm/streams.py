"""Next-token windows over one contiguous token stream, and the LM task record.

A split is one stream ``s`` of T tokens; item i is the window::

    x = s[i L : i L + L]          (L,) int64
    y = s[i L + 1 : i L + L + 1]  (L,) int64   (x shifted by one)

for i < (T - 1) // L. The last ``(T - 1) mod L`` tokens do not fit a whole window and are
not in the windowed items; the full stream is kept in ``info["streams"]`` for stateful
(truncated-BPTT) training, which walks every token.
"""

from __future__ import annotations

import numpy as np
import torch

from s4_tasks.base import DataFormatError, IndexedDataset, SequenceDataset
from s4_tasks.lm.vocab import Vocab


class StreamWindows:
    """Non-overlapping next-token windows of one stream (see module doc)."""

    def __init__(self, stream: torch.Tensor, seq_len: int) -> None:
        self.stream, self.seq_len = stream, seq_len

    def __len__(self) -> int:
        return max(0, (len(self.stream) - 1) // self.seq_len)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = index * self.seq_len
        x = self.stream[start : start + self.seq_len]
        y = self.stream[start + 1 : start + self.seq_len + 1]
        return x.clone(), y.clone()


def lm_task(name: str, streams: dict[str, torch.Tensor], vocab: Vocab, seq_len: int, **info):
    """The next-token SequenceDataset over ``streams`` (train/val/test), with the contract info."""
    parts = {}
    for split, stream in streams.items():
        source = StreamWindows(stream, seq_len)
        if len(source) == 0:
            raise DataFormatError(
                f"{name}: the {split} split has {len(stream)} tokens, fewer than "
                f"seq_len + 1 = {seq_len + 1}; lower seq_len"
            )
        parts[split] = IndexedDataset(source, np.arange(len(source)))
    return SequenceDataset(
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        d_input=len(vocab),
        d_output=len(vocab),
        l_max=seq_len,
        input_kind="token",
        output_kind="seq_class",
        l_output=seq_len,
        name=name,
        chance=1.0 / len(vocab),
        info={"streams": streams, "vocab": vocab, **info},
    )
