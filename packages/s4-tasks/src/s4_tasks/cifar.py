"""Sequential CIFAR-10 from the standard python-pickle batches (``cifar-10-batches-py``).

Each batch file (``data_batch_1`` .. ``data_batch_5``, ``test_batch``) is a pickled dict with
``b"data"`` a uint8 array (n, 3072) (1024 red, then 1024 green, then 1024 blue values of a
32x32 image, each row-major) and ``b"labels"`` a list of n ints in 0..9.

An image becomes the sequence of its 1024 pixels in row-major order: (1024, 3) RGB, or
(1024, 1) grayscale with luminance 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601). Values are
scaled to [0, 1]; with ``normalize=True`` (default) every channel is then standardised by the
mean and std of the training split, x = (v - mean) / std.

The pickles are read with a restricted unpickler that only rebuilds plain containers and
numpy arrays, so a tampered batch file cannot run code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from s4_tasks.base import (
    DataFormatError,
    IndexedDataset,
    SequenceDataset,
    check_bool,
    check_fraction,
    check_int,
    missing_data,
    split_indices,
)

CIFAR10_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{k}" for k in range(1, 6)]
TEST_BATCH = "test_batch"
CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# The globals a pickled numpy array needs (module names of numpy 1.x and 2.x).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            # numpy 2 moved numpy.core to numpy._core; the old name only warns.
            module = module.replace("numpy.core", "numpy._core", 1)
        return super().find_class(module, name)


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch: data uint8 (n, 3072) and labels int64 (n,).

    Raises :class:`DataFormatError` naming the file when it is not a readable pickle, lacks
    the ``b"data"`` / ``b"labels"`` keys, or holds wrongly shaped / typed arrays.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            # latin1 is how numpy arrays pickled by Python 2 (the official files) decode.
            batch = _SafeUnpickler(io.BufferedReader(handle), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DataFormatError(
            f"{path}: expected a CIFAR-10 python pickle batch, but it is corrupt or "
            f"truncated ({type(err).__name__}: {err})"
        ) from err
    if isinstance(batch, dict):
        # Keys are bytes (b"data") in the official files, str when re-pickled by Python 3.
        batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        found = sorted(map(str, batch)) if isinstance(batch, dict) else type(batch).__name__
        raise DataFormatError(
            f"{path}: expected a dict with keys b'data' and b'labels', got {found}"
        )
    data, labels = batch["data"], np.asarray(batch["labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        got = (getattr(data, "dtype", type(data).__name__), getattr(data, "shape", None))
        raise DataFormatError(f"{path}: expected b'data' uint8 of shape (n, 3072), got {got}")
    if data.shape[1] != 3072:
        raise DataFormatError(f"{path}: expected b'data' of shape (n, 3072), got {data.shape}")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(
            f"{path}: expected {len(data)} integer labels, got array {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataFormatError(
            f"{path}: expected labels in 0..9, got [{labels.min()}, {labels.max()}]"
        )
    return data, labels.astype(np.int64)


def resolve_cifar_root(root: str | Path) -> Path:
    """``root`` itself when it holds the batches, else ``root/cifar-10-batches-py``."""
    root = Path(root)
    for folder in (root, root / CIFAR10_DIR):
        if (folder / TEST_BATCH).is_file():
            return folder
    raise missing_data("cifar10", root, f"{CIFAR10_DIR}/{TEST_BATCH}")


def load_cifar10_arrays(root: str | Path) -> dict[str, np.ndarray]:
    """Train/test data (n, 3072) uint8 and labels (n,) int64 from the batch folder."""
    folder = resolve_cifar_root(root)
    parts = []
    for name in TRAIN_BATCHES:
        if not (folder / name).is_file():
            raise missing_data("cifar10", folder, name)
        parts.append(read_cifar_batch(folder / name))
    test_data, test_labels = read_cifar_batch(folder / TEST_BATCH)
    return {
        "train_data": np.concatenate([d for d, _ in parts]),
        "train_labels": np.concatenate([y for _, y in parts]),
        "test_data": test_data,
        "test_labels": test_labels,
    }


def to_pixel_sequence(data: np.ndarray, grayscale: bool) -> np.ndarray:
    """(n, 3072) uint8 rows -> (n, 1024, C) float32 in [0, 1]; C = 1 if grayscale else 3."""
    rgb = data.reshape(len(data), 3, 1024).transpose(0, 2, 1).astype(np.float32) / 255.0
    if grayscale:
        return (rgb @ LUMA_WEIGHTS)[..., None]
    return rgb


class ImageSequenceSource:
    """Rows (n, 3072) uint8 -> items x (1024, C) float32, y int64; converted lazily."""

    def __init__(
        self,
        data: np.ndarray,
        labels: np.ndarray,
        grayscale: bool,
        mean: np.ndarray | None,
        std: np.ndarray | None,
    ):
        self.data, self.labels, self.grayscale = data, labels, grayscale
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.data)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_pixel_sequence(self.data[index : index + 1], self.grayscale)[0]
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.tensor(
            self.labels[index], dtype=torch.int64
        )


def cifar10(
    *,
    root: str | Path = "data/cifar-10-batches-py",
    grayscale: bool = False,
    normalize: bool = True,
    val_split: float = 0.1,
    seed: int = 0,
) -> SequenceDataset:
    """Sequential CIFAR-10 (sCIFAR): x (1024, 3) or (1024, 1) grayscale, y int64 class.

    ``val_split`` of the 50k training images (chosen with ``seed``) form the validation
    split; the test split is ``test_batch``. Normalisation statistics come from the train
    split only and are stored in ``info``.
    """
    grayscale = check_bool("grayscale", grayscale)
    normalize = check_bool("normalize", normalize)
    val_split = check_fraction("val_split", val_split)
    seed = check_int("seed", seed, 0)
    arrays = load_cifar10_arrays(root)
    val_idx, train_idx = split_indices(len(arrays["train_data"]), [val_split], seed)
    mean = std = None
    if normalize:
        # Streamed in chunks so the float copy of the training set never exists at once.
        channels = 1 if grayscale else 3
        total = np.zeros(channels, dtype=np.float64)
        total_sq = np.zeros(channels, dtype=np.float64)
        for start in range(0, len(train_idx), 4096):
            chunk = to_pixel_sequence(
                arrays["train_data"][train_idx[start : start + 4096]], grayscale
            ).astype(np.float64)
            total += chunk.sum(axis=(0, 1))
            total_sq += (chunk**2).sum(axis=(0, 1))
        count = len(train_idx) * 1024
        mean64 = total / count
        std64 = np.sqrt(np.maximum(total_sq / count - mean64**2, 0.0))
        mean = mean64.astype(np.float32)
        std = np.where(std64 > 0, std64, 1.0).astype(np.float32)
    train_source = ImageSequenceSource(
        arrays["train_data"], arrays["train_labels"], grayscale, mean, std
    )
    test_source = ImageSequenceSource(
        arrays["test_data"], arrays["test_labels"], grayscale, mean, std
    )
    return SequenceDataset(
        train=IndexedDataset(train_source, train_idx),
        val=IndexedDataset(train_source, val_idx),
        test=IndexedDataset(test_source, np.arange(len(test_source))),
        d_input=1 if grayscale else 3,
        d_output=10,
        l_max=1024,
        input_kind="real",
        output_kind="class",
        l_output=None,
        name="cifar10",
        chance=0.1,
        classes=list(CIFAR10_CLASSES),
        info={"grayscale": grayscale, "normalize": normalize, "mean": mean, "std": std},
    )
