"""The user's own arrays: a ``.npz`` file or a pair of ``.npy`` files.

Accepted layouts:

- ``path=data.npz`` with keys ``x`` (n, L) or (n, L, d) and ``y`` (n,): split by the seeded
  fractions ``val_split`` / ``test_split``;
- ``path=data.npz`` with explicit splits ``x_train``/``y_train`` and optionally
  ``x_val``/``y_val``, ``x_test``/``y_test`` (a split that is absent is carved out of train by
  its fraction);
- ``x_path=x.npy, y_path=y.npy``: like ``x``/``y`` above; the ``.npy`` files are memory-mapped,
  so items are read lazily.

x is real-valued by default (cast to float32; (n, L) becomes (L, 1) per item);
``input_kind="token"`` reads integer (n, L) arrays as token ids (vocab = ``vocab`` or
max id + 1). y must be integer class ids (``output_kind="class"``, d_output = ``n_classes`` or
max label + 1), or float targets (n,) / (n, d) with ``output_kind="regression"``.
Wrong shapes, dtypes or non-finite values raise :class:`DataFormatError` naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from s4_tasks.base import (
    DataFormatError,
    IndexedDataset,
    SequenceDataset,
    check_choice,
    check_fraction,
    check_int,
    split_indices,
)

SPLITS = ("train", "val", "test")


def _load(path: Path, mmap: bool) -> np.ndarray | np.lib.npyio.NpzFile:
    if not path.is_file():
        raise FileNotFoundError(f"npz: file {str(path)!r} does not exist")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataFormatError(
            f"{path}: expected a numpy {path.suffix or '.npy/.npz'} file without pickled "
            f"objects, but it is corrupt, truncated or holds objects ({err})"
        ) from err


def _read_member(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataFormatError(f"{path}: array {key!r} is corrupt or truncated ({err})") from err


def _read_pairs(
    path: str | Path | None, x_path: str | Path | None, y_path: str | Path | None
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], str]:
    """{split: (x, y)} for the splits present in the files, and a label for messages."""
    if path is not None and (x_path is not None or y_path is not None):
        raise ValueError("npz: give either path (.npz) or x_path/y_path (.npy), not both")
    if path is None:
        if x_path is None or y_path is None:
            raise ValueError(
                "npz: expected path=FILE.npz, or both x_path and y_path (.npy); "
                f"got x_path={x_path!r}, y_path={y_path!r}"
            )
        x = _load(Path(x_path), mmap=True)
        y = _load(Path(y_path), mmap=True)
        for p, a in ((x_path, x), (y_path, y)):
            if not isinstance(a, np.ndarray):
                raise DataFormatError(f"{p}: expected a single-array .npy file, got an archive")
        return {"all": (x, y)}, f"{x_path} + {y_path}"
    path = Path(path)
    archive = _load(path, mmap=False)
    if isinstance(archive, np.ndarray):
        raise DataFormatError(f"{path}: expected a .npz archive with x and y, got a single array")
    with archive:
        keys = set(archive.files)
        if "x" in keys and "x_train" in keys:
            raise DataFormatError(f"{path}: holds both 'x' and 'x_train'; keep one layout")
        if {"x", "y"} <= keys:
            return {
                "all": (_read_member(archive, "x", path), _read_member(archive, "y", path))
            }, str(path)
        if {"x_train", "y_train"} <= keys:
            pairs = {}
            for split in SPLITS:
                has_x, has_y = f"x_{split}" in keys, f"y_{split}" in keys
                if has_x != has_y:
                    raise DataFormatError(
                        f"{path}: has {'x' if has_x else 'y'}_{split} without its partner"
                    )
                if has_x:
                    pairs[split] = (
                        _read_member(archive, f"x_{split}", path),
                        _read_member(archive, f"y_{split}", path),
                    )
            return pairs, str(path)
        raise DataFormatError(
            f"{path}: expected keys x and y, or x_train and y_train (plus optional "
            f"x_val/y_val, x_test/y_test); found {sorted(keys)}"
        )


def _validate(x: np.ndarray, y: np.ndarray, where: str, input_kind: str, output_kind: str) -> None:
    if x.ndim not in (2, 3) or (input_kind == "token" and x.ndim != 2):
        expected = "(n, L)" if input_kind == "token" else "(n, L) or (n, L, d)"
        raise DataFormatError(f"{where}: expected x of shape {expected}, got {x.shape}")
    if len(x) != len(y):
        raise DataFormatError(f"{where}: x has {len(x)} rows but y has {len(y)}")
    if input_kind == "token":
        if not np.issubdtype(x.dtype, np.integer):
            raise DataFormatError(f"{where}: token inputs need an integer x, got {x.dtype}")
        if x.size and x.min() < 0:
            raise DataFormatError(f"{where}: token ids must be >= 0, got min {x.min()}")
    elif not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DataFormatError(f"{where}: expected a numeric x, got {x.dtype}")
    elif np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise DataFormatError(f"{where}: x holds NaN or infinite values")
    if output_kind == "class":
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DataFormatError(
                f"{where}: expected integer class labels y of shape (n,), got {y.dtype} {y.shape}"
            )
        if y.size and y.min() < 0:
            raise DataFormatError(f"{where}: class labels must be >= 0, got min {y.min()}")
    else:
        if y.ndim not in (1, 2) or not np.issubdtype(y.dtype, np.floating):
            raise DataFormatError(
                f"{where}: regression needs float y of shape (n,) or (n, d), got {y.dtype} "
                f"{y.shape}"
            )
        if not np.isfinite(y).all():
            raise DataFormatError(f"{where}: y holds NaN or infinite values")


class ArraySource:
    """Rows of x and y as items: x float32 (L, d) or int64 (L,), y int64 or float32 (d,)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, input_kind: str, output_kind: str):
        self.x, self.y, self.input_kind, self.output_kind = x, y, input_kind, output_kind

    def __len__(self) -> int:
        return len(self.x)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self._rows(np.asarray([index]))
        return x[0], y[0]

    def get_many(self, indices: np.ndarray) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The items of ``indices`` from one read of their rows: views of two batch tensors."""
        x, y = self._rows(indices)
        return list(zip(x.unbind(0), y.unbind(0)))

    def _rows(self, indices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, L, d) float32 or (n, L) int64 and y (n,) int64 or (n, d) float32."""
        rows, labels = np.asarray(self.x[indices]), np.asarray(self.y[indices])
        if self.input_kind == "token":
            x = torch.from_numpy(rows.astype(np.int64))
        else:  # (n, L) -> (n, L, 1)
            shape = (*rows.shape[:2], 1 if rows.ndim == 2 else rows.shape[2])
            x = torch.from_numpy(rows.astype(np.float32).reshape(shape))
        if self.output_kind == "class":
            return x, torch.from_numpy(labels.astype(np.int64))
        d = 1 if labels.ndim == 1 else labels.shape[1]  # (n,) -> (n, 1)
        return x, torch.from_numpy(labels.astype(np.float32).reshape(len(labels), d))


def npz(
    *,
    path: str | Path | None = None,
    x_path: str | Path | None = None,
    y_path: str | Path | None = None,
    val_split: float = 0.1,
    test_split: float = 0.1,
    seed: int = 0,
    input_kind: str = "real",
    output_kind: str = "class",
    n_classes: int | None = None,
    vocab: int | None = None,
) -> SequenceDataset:
    """A task from the user's arrays (see module doc for the layouts and checks)."""
    val_split = check_fraction("val_split", val_split)
    test_split = check_fraction("test_split", test_split)
    seed = check_int("seed", seed, 0)
    input_kind = check_choice("input_kind", input_kind, ("real", "token"))
    output_kind = check_choice("output_kind", output_kind, ("class", "regression"))
    pairs, where = _read_pairs(path, x_path, y_path)
    for split, (x, y) in pairs.items():
        _validate(x, y, f"{where} [{split}]", input_kind, output_kind)
    shapes = {x.shape[1:] for x, _ in pairs.values()}
    if len(shapes) != 1:
        raise DataFormatError(f"{where}: splits disagree on the item shape (L[, d]): {shapes}")
    if output_kind == "regression":
        dims = {1 if y.ndim == 1 else y.shape[1] for _, y in pairs.values()}
        if len(dims) != 1:
            raise DataFormatError(f"{where}: splits disagree on the target size: {dims}")

    # Carve the splits the files do not provide out of the training rows.
    base_split = "all" if "all" in pairs else "train"
    x_base, y_base = pairs[base_split]
    wanted = [(s, f) for s, f in (("val", val_split), ("test", test_split)) if s not in pairs]
    parts = split_indices(len(x_base), [f for _, f in wanted], seed)
    base_source = ArraySource(x_base, y_base, input_kind, output_kind)
    splits = {"train": IndexedDataset(base_source, parts[-1])}
    for (name, _), idx in zip(wanted, parts[:-1]):
        splits[name] = IndexedDataset(base_source, idx)
    for name in ("val", "test"):
        if name in pairs:
            src = ArraySource(*pairs[name], input_kind, output_kind)
            splits[name] = IndexedDataset(src, np.arange(len(src)))

    l_max = int(x_base.shape[1])
    if input_kind == "token":
        found_vocab = 1 + max(int(x.max()) if x.size else 0 for x, _ in pairs.values())
        if vocab is None:
            vocab = found_vocab
        elif check_int("vocab", vocab, 1) < found_vocab:
            raise DataFormatError(f"{where}: token ids reach {found_vocab - 1} >= vocab={vocab}")
        d_input = vocab
    else:
        if vocab is not None:
            raise ValueError("npz: vocab only applies to input_kind='token'")
        d_input = 1 if x_base.ndim == 2 else int(x_base.shape[2])
    if output_kind == "class":
        found = 1 + max(int(y.max()) if y.size else 0 for _, y in pairs.values())
        if n_classes is None:
            n_classes = found
        elif check_int("n_classes", n_classes, 1) < found:
            raise DataFormatError(f"{where}: labels reach {found - 1} >= n_classes={n_classes}")
        d_output, chance = n_classes, 1.0 / n_classes
    else:
        if n_classes is not None:
            raise ValueError("npz: n_classes only applies to output_kind='class'")
        d_output, chance = dims.pop(), None
    return SequenceDataset(
        **splits,
        d_input=d_input,
        d_output=d_output,
        l_max=l_max,
        input_kind=input_kind,
        output_kind=output_kind,
        l_output=None,
        name="npz",
        chance=chance,
        info={"source": where, "explicit_splits": sorted(s for s in pairs if s != "all")},
    )
