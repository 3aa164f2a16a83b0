"""Audio next-sample datasets: quantisation, WAV folders, SC09 and a shipped synthetic set.

Items are ``(x, y)``, int64 ``(L,)`` quantised samples with y = x shifted by one;
``info = {"sample_rate", "quantization", "bits"}``; :func:`decode` turns model tokens back
into a float waveform (for writing WAVs).
"""

from s4_tasks.audio.quantize import QUANTIZATIONS, decode, encode
from s4_tasks.audio.synthetic import audio_synthetic, synthetic_clip
from s4_tasks.audio.wav_folder import SC09_WORDS, audio_folder, load_clip, sc09

__all__ = [
    "QUANTIZATIONS",
    "SC09_WORDS",
    "audio_folder",
    "audio_synthetic",
    "decode",
    "encode",
    "load_clip",
    "sc09",
    "synthetic_clip",
]
