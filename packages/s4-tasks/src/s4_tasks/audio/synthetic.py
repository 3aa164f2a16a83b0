"""A generated audio dataset that ships: seeded tones, chirps and AR(2) resonances.

Each clip ``k`` of a split is drawn from its own generator ``(seed, split, k)``, at
``sample_rate`` Hz, ``clip_seconds`` long, peak-normalised to 0.9:

- tone:  ``a sin(2 pi f t + phi)``, f ~ U[100, 0.2 sr]
- chirp: ``a sin(2 pi (f0 t + (f1 - f0) t^2 / (2 T)))`` (linear sweep f0 -> f1)
- AR(2): ``x_t = 2 r cos(w) x_{t-1} - r^2 x_{t-2} + e_t``, r ~ U[0.95, 0.999], e ~ N(0, 1)
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from s4_tasks.audio.clips import audio_task
from s4_tasks.audio.quantize import QUANTIZATIONS
from s4_tasks.base import SequenceDataset, check_choice, check_int

SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
KINDS = ("tone", "chirp", "ar2")


def synthetic_clip(rng: np.random.Generator, sample_rate: int, n_samples: int) -> np.ndarray:
    """One clip ``(n_samples,)`` float64 of a random kind (see module doc)."""
    t = np.arange(n_samples) / sample_rate
    kind = KINDS[rng.integers(len(KINDS))]
    nyq = 0.5 * sample_rate
    if kind == "tone":
        f = rng.uniform(100.0, 0.4 * nyq)
        x = np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    elif kind == "chirp":
        f0, f1 = rng.uniform(100.0, 0.4 * nyq, size=2)
        duration = n_samples / sample_rate
        # phase(t) = 2 pi (f0 t + (f1 - f0) t^2 / (2 T))
        x = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * duration)))
    else:
        r = rng.uniform(0.95, 0.999)
        w = 2 * np.pi * rng.uniform(100.0, 0.4 * nyq) / sample_rate
        # x_t = 2 r cos(w) x_{t-1} - r^2 x_{t-2} + e_t
        x = lfilter([1.0], [1.0, -2 * r * np.cos(w), r * r], rng.standard_normal(n_samples))
    peak = np.abs(x).max()
    return 0.9 * x / peak if peak > 0 else x


def audio_synthetic(
    *,
    seq_len: int = 1024,
    sample_rate: int = 8000,
    clip_seconds: float = 0.5,
    n_train: int = 256,
    n_val: int = 32,
    n_test: int = 32,
    quantization: str = "mu-law",
    bits: int = 8,
    seed: int = 0,
) -> SequenceDataset:
    """Generated next-sample audio task; items x, y int64 ``(seq_len,)``, y = x shifted by one."""
    check_int("seq_len", seq_len, 1)
    check_int("sample_rate", sample_rate, 1000)
    check_int("bits", bits, 1)
    check_choice("quantization", quantization, QUANTIZATIONS)
    if (
        isinstance(clip_seconds, bool)
        or not isinstance(clip_seconds, int | float)
        or clip_seconds <= 0
    ):
        raise ValueError(f"clip_seconds: expected a positive float, got {clip_seconds!r}")
    n_samples = max(2, round(clip_seconds * sample_rate))
    counts = {
        "train": check_int("n_train", n_train, 1),
        "val": check_int("n_val", n_val, 1),
        "test": check_int("n_test", n_test, 1),
    }
    splits = {
        split: [
            synthetic_clip(
                np.random.default_rng((seed, SPLIT_IDS[split], k)), sample_rate, n_samples
            )
            for k in range(n)
        ]
        for split, n in counts.items()
    }
    return audio_task("audio_synthetic", splits, seq_len, sample_rate, quantization, bits)
