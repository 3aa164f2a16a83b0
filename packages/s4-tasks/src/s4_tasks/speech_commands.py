"""Speech Commands v0.02 (Warden 2018) as raw waveforms: SC10 and SC35.

Layout (as the official archive extracts): one folder per word holding 16 kHz mono 16-bit
wav files of at most one second, ``validation_list.txt`` and ``testing_list.txt`` listing
``word/file.wav`` paths, and ``_background_noise_`` (long noise clips, never used here).
Files in neither list form the training split.

- ``n_classes=10``: yes, no, up, down, left, right, on, off, stop, go (other words unused).
- ``n_classes=35``: all 35 words of v0.02 (a missing or unknown word folder is an error).

x = int16 sample / 32768, float32 (L, 1). Clips shorter than one second are zero-padded AT
THE END to exactly 16000 samples; a clip longer than one second, a rate other than 16 kHz or
a multi-channel file is an error (nothing is cut). ``resample`` changes the rate with
``scipy.signal.resample_poly`` after padding: an int factor <= 16 divides the rate
(2 -> 8 kHz, L = 8000), a value >= 1000 is a target rate in Hz. Files are read lazily.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import torch

from s4_tasks.base import (
    DataFormatError,
    IndexedDataset,
    SequenceDataset,
    check_choice,
    check_int,
    missing_data,
)

SAMPLE_RATE = 16000
SC_SUBDIR = "speech_commands_v0.02"
BACKGROUND_NOISE = "_background_noise_"
WORDS_10 = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
WORDS_35 = [
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
    "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on",
    "one", "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual",
    "wow", "yes", "zero",
]  # fmt: skip


def _read_samples(path: Path) -> tuple[np.ndarray, int]:
    """(samples (n, channels) int16, rate) via soundfile, or scipy when soundfile is absent."""
    try:
        import soundfile
    except ImportError:  # soundfile is a dependency, but keep scipy as a fallback
        soundfile = None
    if soundfile is not None:
        data, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
        return data, int(rate)
    from scipy.io import wavfile

    rate, data = wavfile.read(str(path))
    if data.dtype != np.int16:
        raise DataFormatError(f"{path}: expected 16-bit PCM samples, got {data.dtype}")
    return data.reshape(len(data), -1), int(rate)


def check_riff_wave(path: Path) -> None:
    """DataFormatError unless ``path`` is a RIFF/WAVE file whose data chunk is complete.

    Needed because libsndfile and scipy both read a file cut inside its sample data without
    an error (they return the samples that are there), which would silently shorten a clip.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise DataFormatError(f"{path}: expected a RIFF/WAVE header, got {head[:12]!r}")
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
            if chunk_id == b"data":
                if offset + 8 + chunk_size > size:
                    raise DataFormatError(
                        f"{path}: truncated wav file: the data chunk declares {chunk_size} "
                        f"bytes, only {size - offset - 8} are present"
                    )
                return
            offset += 8 + chunk_size + (chunk_size & 1)  # chunks are padded to even sizes
    raise DataFormatError(f"{path}: truncated wav file: no complete data chunk found")


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples as int16 (n,) and the sample rate; DataFormatError naming the file otherwise."""
    path = Path(path)
    check_riff_wave(path)
    try:
        data, rate = _read_samples(path)
    except DataFormatError:
        raise
    except (RuntimeError, ValueError, EOFError, OSError) as err:  # LibsndfileError: RuntimeError
        raise DataFormatError(
            f"{path}: expected a 16-bit PCM wav file, but it is corrupt or truncated ({err})"
        ) from err
    if data.shape[1] != 1:
        raise DataFormatError(f"{path}: expected a mono wav file, got {data.shape[1]} channels")
    return data[:, 0], rate


def resample_ratio(resample: int | None) -> tuple[int, int]:
    """(up, down) for ``resample`` (None, a factor <= 16, or a target rate >= 1000 Hz)."""
    if resample is None:
        return 1, 1
    resample = check_int("resample", resample, 1)
    if resample <= 16:
        return 1, resample
    if resample >= 1000:
        g = math.gcd(resample, SAMPLE_RATE)
        return resample // g, SAMPLE_RATE // g
    raise ValueError(
        "resample must be None, an int factor in 1..16 (rate 16000 / factor) or a target "
        f"rate in Hz >= 1000, got {resample}"
    )


class WavSource:
    """The wav files ``paths`` with labels; item = (x (L, 1) float32, y int64)."""

    def __init__(self, paths: list[Path], labels: list[int], up: int, down: int):
        self.paths, self.labels, self.up, self.down = paths, labels, up, down

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def length(self) -> int:
        return math.ceil(SAMPLE_RATE * self.up / self.down)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        path = self.paths[index]
        samples, rate = read_wav(path)
        if rate != SAMPLE_RATE:
            raise DataFormatError(f"{path}: expected a {SAMPLE_RATE} Hz wav file, got {rate} Hz")
        if len(samples) > SAMPLE_RATE:
            raise DataFormatError(
                f"{path}: expected at most {SAMPLE_RATE} samples (one second), got "
                f"{len(samples)}; clips are never cut"
            )
        wave = np.zeros(SAMPLE_RATE, dtype=np.float32)
        wave[: len(samples)] = samples.astype(np.float32) / 32768.0
        if (self.up, self.down) != (1, 1):
            from scipy.signal import resample_poly

            wave = resample_poly(wave, self.up, self.down).astype(np.float32)
        x = torch.from_numpy(np.ascontiguousarray(wave)).unsqueeze(-1)
        return x, torch.tensor(self.labels[index], dtype=torch.int64)


def resolve_sc_root(root: str | Path) -> Path:
    """``root`` itself when it holds the split lists, else ``root/speech_commands_v0.02``."""
    root = Path(root)
    for folder in (root, root / SC_SUBDIR):
        if (folder / "testing_list.txt").is_file():
            return folder
    raise missing_data("speech_commands", root, "testing_list.txt")


def _read_list(folder: Path, name: str) -> set[str]:
    path = folder / name
    if not path.is_file():
        raise missing_data("speech_commands", folder, name)
    entries = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if not line.endswith(".wav") or line.count("/") != 1:
            raise DataFormatError(
                f"{path}:{number}: expected entries of the form word/file.wav, got {line!r}"
            )
        entries.add(line)
    return entries


def index_speech_commands(
    folder: Path, words: list[str], strict_folders: bool
) -> dict[str, tuple[list[Path], list[int]]]:
    """Paths and labels per split (train/val/test) for ``words`` under ``folder``."""
    present = {p.name for p in folder.iterdir() if p.is_dir()} - {BACKGROUND_NOISE}
    missing = [w for w in words if w not in present]
    if missing:
        raise DataFormatError(
            f"{folder}: expected a folder per word; missing {missing} "
            f"(needed for {len(words)} classes)"
        )
    if strict_folders:
        unknown = sorted(w for w in present - set(words) if not w.startswith("."))
        if unknown:
            raise DataFormatError(
                f"{folder}: unexpected word folders {unknown}; the {len(words)}-class task "
                f"expects exactly {words} (plus {BACKGROUND_NOISE})"
            )
    val_list = _read_list(folder, "validation_list.txt")
    test_list = _read_list(folder, "testing_list.txt")
    splits: dict[str, tuple[list[Path], list[int]]] = {
        s: ([], []) for s in ("train", "val", "test")
    }
    listed: set[str] = set()
    for label, word in enumerate(words):
        for wav in sorted((folder / word).glob("*.wav")):
            rel = f"{word}/{wav.name}"
            split = "test" if rel in test_list else "val" if rel in val_list else "train"
            listed.add(rel)
            splits[split][0].append(wav)
            splits[split][1].append(label)
    word_set = set(words)
    for list_name, entries in (("validation_list.txt", val_list), ("testing_list.txt", test_list)):
        absent = sorted(e for e in entries if e.split("/")[0] in word_set and e not in listed)
        if absent:
            raise DataFormatError(
                f"{folder / list_name}: lists {len(absent)} files that do not exist, e.g. "
                f"{absent[:3]}"
            )
    return splits


def speech_commands(
    *,
    root: str | Path = "data/speech_commands_v0.02",
    n_classes: int = 10,
    resample: int | None = None,
) -> SequenceDataset:
    """Speech Commands raw-waveform classification (SC10 / SC35), x (L, 1), y int64.

    L = 16000 at 16 kHz (clips zero-padded at the end to one second), or the resampled length
    (see module doc). Splits follow the official validation/testing lists.
    """
    n_classes = check_choice("n_classes", n_classes, (10, 35))
    up, down = resample_ratio(resample)
    folder = resolve_sc_root(root)
    words = WORDS_10 if n_classes == 10 else WORDS_35
    splits = index_speech_commands(folder, words, strict_folders=n_classes == 35)
    if not splits["train"][0]:
        raise DataFormatError(f"{folder}: no training wav files found for words {words}")
    sources = {name: WavSource(paths, labels, up, down) for name, (paths, labels) in splits.items()}
    return SequenceDataset(
        **{name: IndexedDataset(src, np.arange(len(src))) for name, src in sources.items()},
        d_input=1,
        d_output=n_classes,
        l_max=sources["train"].length,
        input_kind="real",
        output_kind="class",
        l_output=None,
        name="speech_commands",
        chance=1.0 / n_classes,
        classes=list(words),
        info={
            "sample_rate": SAMPLE_RATE * up // down,
            "padding": "zeros at the end to one second (16000 samples at 16 kHz)",
        },
    )
