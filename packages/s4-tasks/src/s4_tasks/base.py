"""The task record every loader returns, the errors, and small split/argument helpers.

A task is a :class:`SequenceDataset`: three ``torch.utils.data.Dataset`` splits plus the
shapes a model needs (``d_input``, ``d_output``, ``l_max``) and what kind of input and target
it carries. Items are ``(x, y)``:

- x: float32 ``(L, d_input)`` for ``input_kind="real"``, int64 ``(L,)`` for ``"token"``
  (then ``d_input`` is the vocabulary size);
- y: int64 scalar for ``output_kind="class"``, int64 ``(l_output,)`` for ``"seq_class"``,
  float32 ``(d_output,)`` for ``"regression"``.

Next-step prediction (language and audio): ``input_kind="token"``, ``output_kind="seq_class"``,
``l_output=L``, ``d_input=d_output=V``; x int64 ``(L,)`` and y int64 ``(L,)`` = x shifted by
one. Their ``info`` carries what stateful training and generation need:

- LM (``wikitext2``, ``wikitext103``, ``char``): ``info["streams"]`` is
  ``{"train": LongTensor (T,), "val": ..., "test": ...}``, each split as one contiguous token
  stream (the windowed items drop at most L tokens of its tail; the stream keeps all), and
  ``info["vocab"]`` a :class:`s4_tasks.lm.Vocab` (``itos``, ``stoi``, ``encode``, ``decode``).
- Audio (``audio_synthetic``, ``audio_folder``, ``sc09``): ``info = {"sample_rate": sr,
  "quantization": "mu-law" | "linear", "bits": b}``; ``s4_tasks.audio.decode(tokens,
  quantization, bits)`` gives the float waveform in [-1, 1].

Extension for padded token tasks (LRA ListOps; ``info["padded"] = True``): items are
``(x, y, length)`` with x int64 ``(l_max,)`` padded with id 0 after the first ``length``
tokens and ``length`` an int64 scalar in ``[1, l_max]``. Collated, ``lengths`` (B,) is the
third batch element; models pass it to the pooling decoder so padded steps never reach
pooled features or the loss. (Reserved for a pair input, e.g. LRA retrieval:
``((x1, x2), y, (length1, length2))``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from torch.utils.data import Dataset

INPUT_KINDS = ("real", "token")
OUTPUT_KINDS = ("class", "seq_class", "regression")


class DataFormatError(ValueError):
    """A data file is corrupt, truncated or has the wrong shape; the message names the file."""


class MissingDataError(FileNotFoundError):
    """The files a loader needs are not on disk; the message says how to download them."""


def missing_data(name: str, root: Path | str, what: str) -> MissingDataError:
    """Build the error raised when ``what`` is absent under ``root`` for dataset ``name``."""
    return MissingDataError(
        f"{name}: {what} not found under {str(root)!r}. Download it first with "
        f"`s4-data download {name} --root DIR` and pass that folder as root "
        "(loaders never download implicitly)."
    )


@dataclass
class SequenceDataset:
    """A sequence task: splits plus the sizes a model is built from.

    Attributes:
        train, val, test: ``torch.utils.data.Dataset`` of ``(x, y)`` items (see module doc).
        d_input: input features per step, or the vocabulary size for token inputs.
        d_output: number of classes (class / seq_class) or regression dimensions.
        l_max: sequence length L of every item.
        input_kind: ``"real"`` or ``"token"``.
        output_kind: ``"class"``, ``"seq_class"`` or ``"regression"``.
        l_output: number of trailing steps that carry targets (seq_class only).
        name: the registry name of the task.
        chance: accuracy of a uniform random guess (None for regression).
        classes: optional class names, index-aligned with the integer labels.
        info: free-form extras (normalisation constants, permutation seed, ...).
    """

    train: Dataset
    val: Dataset
    test: Dataset
    d_input: int
    d_output: int
    l_max: int
    input_kind: str
    output_kind: str
    l_output: int | None
    name: str
    chance: float | None
    classes: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {self.input_kind!r}")
        if self.output_kind not in OUTPUT_KINDS:
            raise ValueError(f"output_kind must be one of {OUTPUT_KINDS}, got {self.output_kind!r}")
        for attr in ("d_input", "d_output", "l_max"):
            value = getattr(self, attr)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{attr} must be a positive int, got {value!r}")
        if self.output_kind == "seq_class":
            if not isinstance(self.l_output, int) or not 1 <= self.l_output <= self.l_max:
                raise ValueError(
                    f"seq_class needs l_output in [1, l_max={self.l_max}], got {self.l_output!r}"
                )
        elif self.l_output is not None:
            raise ValueError(
                f"l_output is only meaningful for seq_class, got {self.l_output!r} "
                f"for output_kind={self.output_kind!r}"
            )

    def summary(self) -> str:
        """One line: name, split sizes and shapes (for logs and ``s4-data check``)."""
        sizes = "/".join(str(len(split)) for split in (self.train, self.val, self.test))  # type: ignore[arg-type]
        return (
            f"{self.name}: train/val/test={sizes} L={self.l_max} d_input={self.d_input} "
            f"({self.input_kind}) d_output={self.d_output} ({self.output_kind})"
        )


class ItemSource(Protocol):
    """Anything that can produce item ``i`` of a backing store (picklable, for workers).

    A source may also offer ``get_many(indices: np.ndarray) -> list of items``, the same items
    as ``[get(i) for i in indices]`` read at once: :class:`IndexedDataset` then serves a
    DataLoader's batches through it (its ``__getitems__``).
    """

    def __len__(self) -> int: ...

    def get(self, index: int) -> tuple[Any, Any]: ...


class IndexedDataset(Dataset):
    """The items ``source.get(indices[i])``: a lazy split view over a backing store.

    A class rather than a closure so the dataset pickles (DataLoader workers, DDP spawn).
    """

    def __init__(self, source: ItemSource, indices: np.ndarray | Sequence[int]) -> None:
        self.source = source
        self.indices = np.asarray(indices, dtype=np.int64)
        if self.indices.ndim != 1:
            raise ValueError(f"indices must be 1-D, got shape {self.indices.shape}")
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= len(source)):
            raise ValueError(
                f"indices must lie in [0, {len(source)}), got range "
                f"[{self.indices.min()}, {self.indices.max()}]"
            )

    def __len__(self) -> int:
        return int(self.indices.size)

    def _source_rows(self, items: Sequence[int]) -> np.ndarray:
        """The source's rows of the split positions ``items`` (negative ones from the end)."""
        positions = np.asarray(items, dtype=np.int64).reshape(-1)
        n = len(self)
        bad = positions[(positions < -n) | (positions >= n)]
        if bad.size:
            raise IndexError(f"index {bad[0]} out of range for a split of {n} items")
        return self.indices[positions]

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        return self.source.get(int(self._source_rows([i])[0]))

    def __getitems__(self, items: Sequence[int]) -> list[tuple[Any, Any]]:
        """The items ``[self[i] for i in items]``, read in one call of the source's
        ``get_many`` where it has one (what a DataLoader asks for a batch: per-item reads cost
        ~6 us each, most of a small batch's loading)."""
        rows = self._source_rows(items)
        get_many = getattr(self.source, "get_many", None)
        if get_many is None:
            return [self.source.get(int(j)) for j in rows]
        return get_many(rows)


def split_indices(n: int, fractions: Sequence[float], seed: int) -> tuple[np.ndarray, ...]:
    """Seeded random partition of ``range(n)``.

    Returns ``len(fractions) + 1`` sorted index arrays: one of ``round(f * n)`` indices per
    fraction, then the remainder (usually the train split). Deterministic given ``seed``.
    """
    total = float(sum(fractions))
    if any(f < 0 for f in fractions) or total >= 1.0:
        raise ValueError(
            f"split fractions must be >= 0 and sum to < 1, got {list(fractions)} (sum {total})"
        )
    order = np.random.default_rng(seed).permutation(n)
    parts = []
    start = 0
    for f in fractions:
        count = round(f * n)
        parts.append(np.sort(order[start : start + count]))
        start += count
    parts.append(np.sort(order[start:]))
    if len(parts[-1]) == 0:
        raise ValueError(
            f"splitting {n} items by fractions {list(fractions)} leaves no items for training"
        )
    return tuple(parts)


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """``value`` as an int, or ValueError naming ``name`` (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_fraction(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1), or ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool, or ValueError naming ``name``."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be a bool, got {value!r} ({type(value).__name__})")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices``, else ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value
