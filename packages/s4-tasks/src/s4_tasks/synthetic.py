"""Synthetic long-memory tasks generated on the fly: the copying and adding problems.

Every item is generated from its own seed ``(seed, split, index)``, so a task is fully
deterministic given ``seed``, items can be read in any order (shuffling, DataLoader workers,
DDP shards) and nothing is held in memory.

Copying (L = ``seq_len``, T = ``n_tokens``, V = ``vocab``), tokens 0 = blank,
1..V = symbols, V+1 = the "recall now" marker::

    x = [s_1 .. s_T, 0 ... 0, marker, 0 ... 0]      (L,)  int64, marker at L - T - 1
    y = [s_1 - 1 .. s_T - 1]                        (T,)  int64, read at the last T steps

The symbols are seen only in the first T steps and must be reproduced after L - 2T - 1 blank
steps, so the model has to carry them across the whole sequence.

Adding (Hochreiter & Schmidhuber 1997; Le et al. 2015): x is (L, 2); channel 0 holds
values u_t ~ U[0, 1), channel 1 marks exactly two steps, one in each half of the sequence;
the target is y = [u_a + u_b] (float32, (1,)). Predicting the mean (1.0) gives MSE 1/6.
"""

from __future__ import annotations

import numpy as np
import torch

from s4_tasks.base import IndexedDataset, SequenceDataset, check_int

SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


class CopyingSource:
    """Item ``i`` of one split of the copying task (see module doc)."""

    def __init__(self, seq_len: int, n_tokens: int, vocab: int, n: int, seed: int, split: str):
        self.seq_len, self.n_tokens, self.vocab = seq_len, n_tokens, vocab
        self.n, self.seed, self.split_id = n, seed, SPLIT_IDS[split]

    def __len__(self) -> int:
        return self.n

    @property
    def marker(self) -> int:
        return self.vocab + 1

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.split_id, index))
        symbols = rng.integers(1, self.vocab + 1, size=self.n_tokens)
        x = np.zeros(self.seq_len, dtype=np.int64)
        x[: self.n_tokens] = symbols
        x[self.seq_len - self.n_tokens - 1] = self.marker
        y = (symbols - 1).astype(np.int64)
        return torch.from_numpy(x), torch.from_numpy(y)


class AddingSource:
    """Item ``i`` of one split of the adding problem (see module doc)."""

    def __init__(self, seq_len: int, n: int, seed: int, split: str):
        self.seq_len, self.n, self.seed, self.split_id = seq_len, n, seed, SPLIT_IDS[split]

    def __len__(self) -> int:
        return self.n

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.split_id, index))
        half = self.seq_len // 2
        values = rng.random(self.seq_len)
        first = rng.integers(0, half)
        second = rng.integers(half, self.seq_len)
        x = np.zeros((self.seq_len, 2), dtype=np.float32)
        x[:, 0] = values
        x[first, 1] = 1.0
        x[second, 1] = 1.0
        # The target sums the float32 values the model actually sees.
        y = np.array([x[first, 0] + x[second, 0]], dtype=np.float32)
        return torch.from_numpy(x), torch.from_numpy(y)


def _sizes(n_train: int, n_val: int, n_test: int) -> dict[str, int]:
    return {
        "train": check_int("n_train", n_train, 1),
        "val": check_int("n_val", n_val, 1),
        "test": check_int("n_test", n_test, 1),
    }


def copying(
    *,
    seq_len: int = 200,
    n_tokens: int = 10,
    vocab: int = 8,
    n_train: int = 10000,
    n_val: int = 1000,
    n_test: int = 1000,
    seed: int = 0,
) -> SequenceDataset:
    """The copying task: reproduce the first ``n_tokens`` symbols at the end.

    Items: x int64 (seq_len,), y int64 (n_tokens,) with classes 0..vocab-1. ``d_input`` is
    ``vocab + 2`` (blank, symbols, marker); chance accuracy is ``1 / vocab``.
    """
    n_tokens = check_int("n_tokens", n_tokens, 1)
    vocab = check_int("vocab", vocab, 2)
    seq_len = check_int("seq_len", seq_len, 1)
    seed = check_int("seed", seed, 0)
    if seq_len < 2 * n_tokens + 1:
        raise ValueError(
            f"copying needs seq_len >= 2 * n_tokens + 1 = {2 * n_tokens + 1} "
            f"(tokens, marker, recall window), got seq_len={seq_len}"
        )
    splits = {
        name: IndexedDataset(CopyingSource(seq_len, n_tokens, vocab, n, seed, name), range(n))
        for name, n in _sizes(n_train, n_val, n_test).items()
    }
    return SequenceDataset(
        **splits,
        d_input=vocab + 2,
        d_output=vocab,
        l_max=seq_len,
        input_kind="token",
        output_kind="seq_class",
        l_output=n_tokens,
        name="copying",
        chance=1.0 / vocab,
        classes=[f"symbol_{k + 1}" for k in range(vocab)],
        info={"blank_token": 0, "marker_token": vocab + 1, "seed": seed},
    )


def adding(
    *,
    seq_len: int = 200,
    n_train: int = 10000,
    n_val: int = 1000,
    n_test: int = 1000,
    seed: int = 0,
) -> SequenceDataset:
    """The adding problem: regress the sum of the two marked values.

    Items: x float32 (seq_len, 2), y float32 (1,). ``info["baseline_mse"]`` = 1/6 is the
    MSE of always predicting the mean.
    """
    seq_len = check_int("seq_len", seq_len, 2)
    seed = check_int("seed", seed, 0)
    splits = {
        name: IndexedDataset(AddingSource(seq_len, n, seed, name), range(n))
        for name, n in _sizes(n_train, n_val, n_test).items()
    }
    return SequenceDataset(
        **splits,
        d_input=2,
        d_output=1,
        l_max=seq_len,
        input_kind="real",
        output_kind="regression",
        l_output=None,
        name="adding",
        chance=None,
        info={"baseline_mse": 1.0 / 6.0, "seed": seed},
    )
