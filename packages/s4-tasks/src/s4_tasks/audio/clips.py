"""Next-sample prediction over a list of quantised clips, shared by every audio dataset.

Each item is one window of ``seq_len + 1`` consecutive tokens of a clip (clips shorter than
that are padded at the end with the token of silence)::

    x = tokens[s : s + L]          (L,) int64
    y = tokens[s + 1 : s + L + 1]  (L,) int64     (x shifted by one)
"""

from __future__ import annotations

import numpy as np
import torch

from s4_tasks.audio.quantize import encode
from s4_tasks.base import IndexedDataset, SequenceDataset


class ClipWindows:
    """Windows of ``seq_len + 1`` tokens cut from quantised clips (non-overlapping)."""

    def __init__(self, clips: list[np.ndarray], seq_len: int, quantization: str, bits: int):
        self.seq_len = seq_len
        silence = int(encode(np.zeros(1), quantization, bits)[0])
        self.windows: list[np.ndarray] = []
        for clip in clips:
            tokens = encode(clip, quantization, bits).numpy()
            n = max(1, -(-(len(tokens) - 1) // seq_len))
            padded = np.full(n * seq_len + 1, silence, dtype=np.int64)
            padded[: len(tokens)] = tokens
            self.windows.extend(padded[i * seq_len : (i + 1) * seq_len + 1] for i in range(n))

    def __len__(self) -> int:
        return len(self.windows)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        w = torch.from_numpy(self.windows[index])
        return w[:-1].clone(), w[1:].clone()


def audio_task(
    name: str,
    splits: dict[str, list[np.ndarray]],
    seq_len: int,
    sample_rate: int,
    quantization: str,
    bits: int,
    extra: dict | None = None,
) -> SequenceDataset:
    """Build the next-sample task from float clips per split (``train``/``val``/``test``)."""
    parts = {}
    for split, clips in splits.items():
        source = ClipWindows(clips, seq_len, quantization, bits)
        parts[split] = IndexedDataset(source, np.arange(len(source)))
    vocab = 2**bits
    return SequenceDataset(
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        d_input=vocab,
        d_output=vocab,
        l_max=seq_len,
        input_kind="token",
        output_kind="seq_class",
        l_output=seq_len,
        name=name,
        chance=1.0 / vocab,
        info={
            "sample_rate": sample_rate,
            "quantization": quantization,
            "bits": bits,
            **(extra or {}),
        },
    )
