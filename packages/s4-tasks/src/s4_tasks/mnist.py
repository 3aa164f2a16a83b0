"""MNIST from the standard idx files: sequential (sMNIST) and permuted (pMNIST).

The idx format (LeCun et al.): a 4-byte magic ``0x00 0x00 <dtype code> <ndim>``, then
``ndim`` big-endian uint32 sizes, then the row-major data big-endian. MNIST uses dtype code
0x08 (uint8): images ``(n, 28, 28)`` (magic 0x00000803), labels ``(n,)`` (0x00000801).

Each image becomes a sequence of its 784 pixels in row-major order, x = pixel / 255, shape
(784, 1) float32; with ``permute=True`` one fixed seeded permutation of the 784 positions is
applied to every image (pMNIST).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

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

# dtype code -> (numpy big-endian dtype); from the idx format description.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MNIST_SUBDIR = "mnist"


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in .gz (errors name the file)."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DataFormatError(
            f"{path}: expected a gzip-compressed idx file, but it is corrupt or truncated ({err})"
        ) from err


def read_idx(
    path: str | Path, ndim: int | None = None, dtype_code: int | None = None
) -> np.ndarray:
    """Read one idx file (optionally .gz) into a numpy array of its declared shape.

    Checks the magic number, the expected ``ndim`` / ``dtype_code`` when given, and that the
    file length is exactly header + prod(dims) * itemsize; anything else raises
    :class:`DataFormatError` naming the file and what was expected.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataFormatError(
            f"{path}: expected an idx file (4-byte magic number), got only {len(raw)} bytes"
        )
    zero0, zero1, code, dims = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or code not in IDX_DTYPES:
        raise DataFormatError(
            f"{path}: bad idx magic number 0x{raw[:4].hex()}; expected 0x0000 followed by a "
            f"dtype code in {[hex(c) for c in IDX_DTYPES]} and the number of dimensions"
        )
    if dtype_code is not None and code != dtype_code:
        raise DataFormatError(
            f"{path}: expected idx dtype code 0x{dtype_code:02x}, got 0x{code:02x}"
        )
    if ndim is not None and dims != ndim:
        raise DataFormatError(f"{path}: expected an idx array with {ndim} dims, got {dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataFormatError(
            f"{path}: truncated idx header: expected {header} bytes for {dims} dims, got {len(raw)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=dims, offset=4))
    dtype = IDX_DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        kind = "truncated" if len(raw) < expected else "has trailing bytes"
        raise DataFormatError(
            f"{path}: idx file {kind}: shape {shape} of {dtype.name} needs {expected} bytes, "
            f"the file has {len(raw)}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


def find_idx_file(root: Path, stem: str) -> Path | None:
    """``root/stem`` or ``root/stem.gz`` (also under ``root/mnist``), whichever exists."""
    for folder in (root, root / MNIST_SUBDIR):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def load_mnist_arrays(root: str | Path) -> dict[str, np.ndarray]:
    """The four MNIST arrays (uint8 images (n, 28, 28), uint8 labels (n,)) under ``root``."""
    root = Path(root)
    arrays = {}
    for key, stem in MNIST_FILES.items():
        path = find_idx_file(root, stem)
        if path is None:
            raise missing_data("mnist", root, f"{stem}[.gz]")
        is_image = key.endswith("images")
        array = read_idx(path, ndim=3 if is_image else 1, dtype_code=0x08)
        if is_image and array.shape[1:] != (28, 28):
            raise DataFormatError(
                f"{path}: expected MNIST images of shape (n, 28, 28), got {array.shape}"
            )
        if not is_image and array.size and array.max() > 9:
            raise DataFormatError(f"{path}: expected labels 0..9, got max {array.max()}")
        arrays[key] = array
    for split in ("train", "test"):
        n_img, n_lab = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_img != n_lab:
            raise DataFormatError(
                f"{root}: MNIST {split} split has {n_img} images but {n_lab} labels"
            )
    return arrays


class PixelSequenceSource:
    """Images ``(n, P)`` uint8 as sequences ``(P, 1)`` float32 in [0, 1], with labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, permutation: np.ndarray | None):
        self.images = images.reshape(len(images), -1)
        self.labels = labels.astype(np.int64)
        self.permutation = permutation

    def __len__(self) -> int:
        return len(self.images)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = self.images[index]
        if self.permutation is not None:
            pixels = pixels[self.permutation]
        x = torch.from_numpy(pixels.astype(np.float32) / 255.0).unsqueeze(-1)
        return x, torch.tensor(self.labels[index], dtype=torch.int64)


def mnist(
    *,
    root: str | Path = "data/mnist",
    permute: bool = False,
    permute_seed: int = 42,
    val_split: float = 0.1,
    seed: int = 0,
) -> SequenceDataset:
    """Sequential / permuted MNIST from the idx files under ``root`` (gz or not).

    Items: x float32 (784, 1) = pixel / 255, y int64 class. ``val_split`` of the 60k
    training images (chosen with ``seed``) form the validation split; the test split is
    t10k. ``permute=True`` applies one fixed permutation drawn from ``permute_seed``.
    """
    permute = check_bool("permute", permute)
    permute_seed = check_int("permute_seed", permute_seed, 0)
    val_split = check_fraction("val_split", val_split)
    seed = check_int("seed", seed, 0)
    arrays = load_mnist_arrays(root)
    permutation = np.random.default_rng(permute_seed).permutation(784) if permute else None
    train_source = PixelSequenceSource(arrays["train_images"], arrays["train_labels"], permutation)
    test_source = PixelSequenceSource(arrays["test_images"], arrays["test_labels"], permutation)
    val_idx, train_idx = split_indices(len(train_source), [val_split], seed)
    return SequenceDataset(
        train=IndexedDataset(train_source, train_idx),
        val=IndexedDataset(train_source, val_idx),
        test=IndexedDataset(test_source, np.arange(len(test_source))),
        d_input=1,
        d_output=10,
        l_max=784,
        input_kind="real",
        output_kind="class",
        l_output=None,
        name="mnist",
        chance=0.1,
        classes=[str(k) for k in range(10)],
        info={"permute": permute, "permute_seed": permute_seed, "permutation": permutation},
    )
