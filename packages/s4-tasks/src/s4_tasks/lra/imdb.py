"""IMDB byte-level text classification (Long Range Arena "Text"): sentiment of a review.

x int64 ``(max_length,)``: the UTF-8 bytes of the review shifted by one (byte b -> id b + 1,
id 0 is padding; vocabulary 257), y int64 (0 = neg, 1 = pos), length int64. Truncation
policy (as LRA): a review longer than ``max_length`` bytes keeps its FIRST ``max_length``
bytes (files are read on access; an item with ``length == max_length`` may be truncated).

Layout: ``aclImdb/{train,test}/{pos,neg}/*.txt`` (the Stanford release ``aclImdb_v1.tar.gz``).
Validation: a seeded ``val_split`` fraction of the train reviews; test: ``aclImdb/test``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from s4_tasks.base import (
    DataFormatError,
    IndexedDataset,
    SequenceDataset,
    check_fraction,
    check_int,
    missing_data,
    split_indices,
)
from s4_tasks.lra.padding import pad_tokens

CLASSES = ("neg", "pos")
BYTE_VOCAB = 257  # pad + 256 byte values


def encode_bytes(data: bytes, max_length: int) -> np.ndarray:
    """bytes -> int64 ids ``b + 1`` of the first ``max_length`` bytes (the truncation policy)."""
    return np.frombuffer(data[:max_length], dtype=np.uint8).astype(np.int64) + 1


def list_reviews(folder: Path) -> list[tuple[Path, int]]:
    """(file, label) for ``folder/{neg,pos}/*.txt``, sorted by name for a stable order."""
    items: list[tuple[Path, int]] = []
    for label, cls in enumerate(CLASSES):
        if not (folder / cls).is_dir():
            raise missing_data("imdb", folder, f"folder {cls}/")
        items += [(p, label) for p in sorted((folder / cls).glob("*.txt"))]
    if not items:
        raise DataFormatError(f"{folder}: no review files in neg/ or pos/")
    return items


class ReviewFiles:
    """Backing store: reviews read from disk on access."""

    def __init__(self, items: list[tuple[Path, int]], max_length: int) -> None:
        self.items, self.max_length = items, max_length

    def __len__(self) -> int:
        return len(self.items)

    def get(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        path, label = self.items[i]
        data = path.read_bytes()
        if not data:
            raise DataFormatError(f"{path}: empty review file")
        x, length = pad_tokens(encode_bytes(data, self.max_length), self.max_length)
        return x, torch.tensor(label, dtype=torch.int64), length


def imdb(
    *,
    root: str = "data/aclImdb",
    max_length: int = 4096,
    val_split: float = 0.1,
    seed: int = 0,
) -> SequenceDataset:
    """IMDB byte-level (LRA Text, L=4096) from ``root`` = the ``aclImdb`` folder or its parent."""
    max_length = check_int("max_length", max_length, 1)
    folder = Path(root)
    if (folder / "aclImdb").is_dir():
        folder = folder / "aclImdb"
    for split in ("train", "test"):
        if not (folder / split).is_dir():
            raise missing_data("imdb", root, f"aclImdb/{split}/")
    train_store = ReviewFiles(list_reviews(folder / "train"), max_length)
    test_store = ReviewFiles(list_reviews(folder / "test"), max_length)
    val_idx, train_idx = split_indices(
        len(train_store), [check_fraction("val_split", val_split)], seed
    )
    return SequenceDataset(
        IndexedDataset(train_store, train_idx),
        IndexedDataset(train_store, val_idx),
        IndexedDataset(test_store, np.arange(len(test_store))),
        d_input=BYTE_VOCAB,
        d_output=2,
        l_max=max_length,
        input_kind="token",
        output_kind="class",
        l_output=None,
        name="imdb",
        chance=0.5,
        classes=list(CLASSES),
        info={"source": str(folder), "padded": True, "pad_id": 0, "truncation": "keep first"},
    )
