"""Tiny datasets in the real on-disk formats, for tests here and in downstream apps.

Each writer produces a few random samples in exactly the layout ``s4-data download`` creates,
so a test can run a loader (or a few training steps) with no download. The writers use
different code paths from the readers (struct + gzip, pickle, scipy's wav writer) so that a
reader bug is not mirrored by its fixture.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

from s4_tasks.speech_commands import WORDS_10, WORDS_35


def write_idx(path: str | Path, array: np.ndarray, gz: bool | None = None) -> Path:
    """Write a uint8 array in the idx format (gzip when ``gz`` or the name ends in .gz)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.tobytes()
    gz = path.suffix == ".gz" if gz is None else gz
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)
    return path


def write_mnist(
    root: str | Path, n_train: int = 20, n_test: int = 10, gz: bool = True, seed: int = 0
) -> Path:
    """Random 28x28 digits in the four standard idx files under ``root``; returns ``root``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    suffix = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(root / f"{split}-images-idx3-ubyte{suffix}", images)
        write_idx(root / f"{split}-labels-idx1-ubyte{suffix}", labels)
    return root


def write_cifar10(root: str | Path, n_per_batch: int = 4, seed: int = 0) -> Path:
    """``root/cifar-10-batches-py`` with 5 train batches and a test batch; returns that folder.

    Each batch is a pickled dict with b"data" uint8 (n, 3072) and b"labels" (list of ints),
    like the official files.
    """
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {
            b"batch_label": name.encode(),
            b"data": rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, size=n_per_batch)],
            b"filenames": [f"img_{k}.png".encode() for k in range(n_per_batch)],
        }
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle, protocol=2)
    meta = {b"label_names": [b"airplane"], b"num_cases_per_batch": n_per_batch}
    with (folder / "batches.meta").open("wb") as handle:
        pickle.dump(meta, handle, protocol=2)
    return folder


def write_speech_commands(
    root: str | Path,
    n_classes: int = 10,
    per_word: int = 3,
    seed: int = 0,
    min_samples: int = 8000,
) -> Path:
    """``root/speech_commands_v0.02``: a folder per word of short 16 kHz int16 wav clips.

    Word k's clip j is ``word/{k:04x}{j:04x}_nohash_0.wav`` with ``min_samples..16000`` samples;
    clip 0 of each word is in testing_list.txt, clip 1 in validation_list.txt (when
    ``per_word`` allows), the rest train. A ``_background_noise_`` clip is added too. Returns
    the folder.
    """
    from scipy.io import wavfile

    folder = Path(root) / "speech_commands_v0.02"
    rng = np.random.default_rng(seed)
    words = WORDS_10 if n_classes == 10 else WORDS_35
    test, val = [], []
    for k, word in enumerate(words):
        (folder / word).mkdir(parents=True, exist_ok=True)
        for j in range(per_word):
            name = f"{k:04x}{j:04x}_nohash_0.wav"
            n = int(rng.integers(min_samples, 16001))
            samples = rng.integers(-20000, 20000, size=n).astype(np.int16)
            wavfile.write(folder / word / name, 16000, samples)
            if j == 0 and per_word >= 2:
                test.append(f"{word}/{name}")
            elif j == 1 and per_word >= 3:
                val.append(f"{word}/{name}")
    noise = folder / "_background_noise_"
    noise.mkdir(exist_ok=True)
    wavfile.write(noise / "white_noise.wav", 16000, rng.integers(-99, 99, 32000).astype(np.int16))
    (folder / "testing_list.txt").write_text("".join(f"{e}\n" for e in test))
    (folder / "validation_list.txt").write_text("".join(f"{e}\n" for e in val))
    return folder


def write_npz(
    path: str | Path,
    n: int = 20,
    seq_len: int = 16,
    d: int | None = None,
    n_classes: int = 3,
    seed: int = 0,
) -> Path:
    """A .npz with x float32 (n, seq_len) or (n, seq_len, d) and integer y (n,)."""
    rng = np.random.default_rng(seed)
    shape = (n, seq_len) if d is None else (n, seq_len, d)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, n_classes, size=n)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y)
    return path
