"""Turning generated tokens into files: WAV (16-bit PCM at the dataset's rate), text, or none.

Audio datasets carry ``info = {"sample_rate", "quantization", "bits"}`` and tokens are decoded
by ``s4_tasks.audio.decode(tokens, quantization, bits)`` (a float waveform in [-1, 1]); text
datasets carry ``info["vocab"]`` with ``decode(list_of_ids) -> str``. Every run also writes
the raw tokens (``tokens.npy``).
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import torch

from s4_generate.options import GenerateError

AUDIO_KEYS = ("sample_rate", "quantization", "bits")


def resolve_decode(decode: str, info: dict[str, Any]) -> str:
    """``auto`` -> audio when the dataset has audio info, text when it has a vocab, else none;
    an explicit choice the dataset cannot serve fails naming what is missing."""
    has_audio = all(k in info for k in AUDIO_KEYS)
    if decode == "auto":
        return "audio" if has_audio else "text" if "vocab" in info else "none"
    if decode == "audio" and not has_audio:
        missing = [k for k in AUDIO_KEYS if k not in info]
        raise GenerateError(
            f"decode: expected an audio dataset (info with {list(AUDIO_KEYS)}) for "
            f"decode=audio, got one without {missing}"
        )
    if decode == "text" and "vocab" not in info:
        raise GenerateError("decode: expected a text dataset (info['vocab']) for decode=text")
    return decode


def _audio_decode(tokens: torch.Tensor, info: dict[str, Any]) -> np.ndarray:
    from s4_tasks.audio import decode

    wave_ = decode(tokens, info["quantization"], int(info["bits"]))
    return np.asarray(torch.as_tensor(wave_, dtype=torch.float64))


def start_token(info: dict[str, Any], decode: str) -> int:
    """The first token when there is no prompt: ``info["start_token"]`` if given; for audio the
    token that decodes closest to silence (0.0); else 0."""
    if "start_token" in info:
        return int(info["start_token"])
    if decode == "audio":
        levels = torch.arange(2 ** int(info["bits"]))
        return int(np.abs(_audio_decode(levels, info)).argmin())
    return 0


def write_wav(path: Path, waveform: np.ndarray, sample_rate: int) -> None:
    """Mono 16-bit PCM; the waveform is clipped to [-1, 1]."""
    pcm = np.round(np.clip(waveform, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(pcm.tobytes())


def write_outputs(tokens: torch.Tensor, decode: str, info: dict[str, Any], out: Path) -> list[Path]:
    """tokens (n, L) -> ``tokens.npy`` plus one file per sequence; returns those files."""
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "tokens.npy", tokens.cpu().numpy())
    files: list[Path] = []
    for i, row in enumerate(tokens.cpu()):
        if decode == "audio":
            path = out / f"sample_{i:03d}.wav"
            write_wav(path, _audio_decode(row, info), int(info["sample_rate"]))
        elif decode == "text":
            path = out / f"sample_{i:03d}.txt"
            path.write_text(info["vocab"].decode(row.tolist()), encoding="utf-8")
        else:
            continue
        files.append(path)
    return files
