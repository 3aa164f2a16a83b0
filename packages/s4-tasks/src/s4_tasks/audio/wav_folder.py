"""Next-sample audio over a folder of 16-bit PCM mono WAV files, and SC09.

``audio_folder``: every ``*.wav`` under ``root`` (recursively, sorted), any sample rate; each
file is resampled to ``sample_rate`` with ``scipy.signal.resample_poly`` (up/down from the
gcd of the two rates), scaled to [-1, 1] (int16 / 32768) and quantised; files are split
into train/val/test by seeded fractions. A corrupt or truncated file raises DataFormatError
naming it (the RIFF chunk sizes are checked, so a cut file is never silently shortened).

``sc09``: the digits zero..nine of Speech Commands v0.02 (the SaShiMi SC09 subset), split by
the official validation/testing lists, at 16 kHz, one-second clips padded with silence.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from s4_tasks.audio.clips import audio_task
from s4_tasks.audio.quantize import QUANTIZATIONS
from s4_tasks.base import (
    DataFormatError,
    SequenceDataset,
    check_choice,
    check_fraction,
    check_int,
    missing_data,
    split_indices,
)
from s4_tasks.speech_commands import index_speech_commands, read_wav, resolve_sc_root

SC09_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def load_clip(path: Path, sample_rate: int) -> np.ndarray:
    """The file's samples as float64 ``(T,)`` in [-1, 1) at ``sample_rate`` Hz."""
    samples, rate = read_wav(path)
    wave = samples.astype(np.float64) / 32768.0
    if rate != sample_rate:
        g = math.gcd(sample_rate, rate)
        wave = resample_poly(wave, sample_rate // g, rate // g)
    if len(wave) < 2:
        raise DataFormatError(f"{path}: expected at least 2 samples, got {len(wave)}")
    return wave


def _check_common(seq_len: int, sample_rate: int, quantization: str, bits: int) -> None:
    check_int("seq_len", seq_len, 1)
    check_int("sample_rate", sample_rate, 1000)
    check_choice("quantization", quantization, QUANTIZATIONS)
    check_int("bits", bits, 1)
    if bits > 16:
        raise ValueError(f"bits: expected an int in [1, 16], got {bits}")


def audio_folder(
    *,
    root: str = "data/audio",
    seq_len: int = 16000,
    sample_rate: int = 16000,
    quantization: str = "mu-law",
    bits: int = 8,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> SequenceDataset:
    """Next-sample task over ``root/**/*.wav``; items x, y int64 ``(seq_len,)``."""
    _check_common(seq_len, sample_rate, quantization, bits)
    fractions = [
        check_fraction("val_fraction", val_fraction),
        check_fraction("test_fraction", test_fraction),
    ]
    folder = Path(root)
    paths = sorted(folder.rglob("*.wav")) if folder.is_dir() else []
    if not paths:
        raise missing_data("audio_folder", folder, "*.wav files")
    val_idx, test_idx, train_idx = split_indices(len(paths), fractions, seed)
    splits = {
        name: [load_clip(paths[i], sample_rate) for i in idx]
        for name, idx in (("train", train_idx), ("val", val_idx), ("test", test_idx))
    }
    return audio_task(
        "audio_folder",
        splits,
        seq_len,
        sample_rate,
        quantization,
        bits,
        {"root": str(folder), "n_files": len(paths)},
    )


def sc09(
    *,
    root: str = "data/speech_commands_v0.02",
    seq_len: int = 16000,
    sample_rate: int = 16000,
    quantization: str = "mu-law",
    bits: int = 8,
) -> SequenceDataset:
    """SC09 next-sample task (digits of Speech Commands); clips padded to one second."""
    _check_common(seq_len, sample_rate, quantization, bits)
    folder = resolve_sc_root(root)
    index = index_speech_commands(folder, SC09_WORDS, strict_folders=False)
    if not index["train"][0]:
        raise DataFormatError(f"{folder}: no training wav files found for words {SC09_WORDS}")
    splits = {}
    for name, (paths, _labels) in index.items():
        clips = []
        for path in paths:
            wave = load_clip(path, sample_rate)
            clip = np.zeros(max(sample_rate, len(wave)))
            clip[: len(wave)] = wave
            clips.append(clip)
        splits[name] = clips
    return audio_task(
        "sc09", splits, seq_len, sample_rate, quantization, bits, {"classes": SC09_WORDS}
    )
