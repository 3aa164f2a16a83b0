"""AAN document retrieval (Long Range Arena "Retrieval"): do two papers cite each other?

A pair task (``info["pair"] = True``): x int64 ``(2, max_length)``, both documents as UTF-8
bytes shifted by one (id 0 = padding, vocabulary 257), y int64 in {0, 1}, lengths int64
``(2,)``. Truncation policy (as LRA): each document keeps its FIRST ``max_length`` bytes.
Models encode both documents with the same backbone and compare the pooled features
(``s4_tasks.decoders.RetrievalDecoder``).

Release files (``lra_release/tsv_data/``): ``new_aan_pairs.{train,eval,test}.tsv``, no
header, tab-separated columns ``label id1 id2 text1 text2``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from s4_tasks.base import DataFormatError, SequenceDataset, check_int
from s4_tasks.lra.imdb import BYTE_VOCAB, encode_bytes
from s4_tasks.lra.padding import missing_lra, pad_tokens

SPLIT_FILES = {
    "train": "new_aan_pairs.train.tsv",
    "val": "new_aan_pairs.eval.tsv",
    "test": "new_aan_pairs.test.tsv",
}


def read_aan_tsv(path: Path, max_length: int) -> tuple[list[tuple[bytes, bytes]], list[int]]:
    """(text1, text2) byte pairs (each cut to its first ``max_length`` bytes) and labels."""
    csv.field_size_limit(sys.maxsize)
    pairs: list[tuple[bytes, bytes]] = []
    labels: list[int] = []
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as f:
        for line, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if len(row) != 5:
                raise DataFormatError(
                    f"{path}:{line}: expected 5 columns (label id1 id2 text1 text2), got {len(row)}"
                )
            try:
                label = int(float(row[0]))
            except ValueError as err:
                raise DataFormatError(f"{path}:{line}: bad label {row[0]!r}") from err
            if label not in (0, 1) or not row[3] or not row[4]:
                raise DataFormatError(
                    f"{path}:{line}: expected label 0/1 and two non-empty documents"
                )
            texts = [t.encode("utf-8", errors="surrogateescape")[:max_length] for t in row[3:]]
            pairs.append((texts[0], texts[1]))
            labels.append(label)
    if not pairs:
        raise DataFormatError(f"{path}: no document pairs")
    return pairs, labels


class DocumentPairs(Dataset):
    """In-memory pairs, encoded and padded on access: ``(x (2, L), y, lengths (2,))``."""

    def __init__(self, pairs: list[tuple[bytes, bytes]], labels: list[int], l_max: int) -> None:
        self.pairs, self.labels, self.l_max = pairs, np.asarray(labels, np.int64), l_max

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        docs = [pad_tokens(encode_bytes(t, self.l_max), self.l_max) for t in self.pairs[i]]
        x = torch.stack([d[0] for d in docs])
        lengths = torch.stack([d[1] for d in docs])
        return x, torch.tensor(self.labels[i]), lengths


def aan(*, root: str = "data/lra_release", max_length: int = 4000) -> SequenceDataset:
    """AAN retrieval from ``root`` = ``lra_release/`` (or its ``tsv_data/`` folder)."""
    max_length = check_int("max_length", max_length, 1)
    folder = Path(root)
    for sub in ("lra_release", "tsv_data"):
        if (folder / sub).is_dir():
            folder = folder / sub
    splits = []
    for split, fname in SPLIT_FILES.items():
        if not (folder / fname).is_file():
            raise missing_lra("aan", root, f"{split} split file tsv_data/{fname}")
        splits.append(DocumentPairs(*read_aan_tsv(folder / fname, max_length), max_length))
    return SequenceDataset(
        *splits,
        d_input=BYTE_VOCAB,
        d_output=2,
        l_max=max_length,
        input_kind="token",
        output_kind="class",
        l_output=None,
        name="aan",
        chance=0.5,
        classes=["unrelated", "cited"],
        info={"source": str(folder), "padded": True, "pair": True, "pad_id": 0},
    )
