"""Audio datasets: synthetic (shipped), WAV folder and SC09 on tiny fixture files."""

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from s4_tasks import DataFormatError, MissingDataError, get_dataset
from s4_tasks.audio import decode, encode, load_clip


def _check_next_sample(data, seq_len, bits=8):
    for split in (data.train, data.val, data.test):
        x, y = split[0]
        assert x.shape == y.shape == (seq_len,) and x.dtype == y.dtype == torch.int64
        assert torch.equal(x[1:], y[:-1])
        assert 0 <= int(x.min()) and int(x.max()) < 2**bits
    assert data.d_input == data.d_output == 2**bits
    assert data.output_kind == "seq_class" and data.l_output == seq_len


def test_synthetic_is_seeded_and_shifted():
    kw = dict(seq_len=128, n_train=3, n_val=1, n_test=1, clip_seconds=0.1)
    a = get_dataset("audio_synthetic", **kw)
    b = get_dataset("audio_synthetic", **kw)
    _check_next_sample(a, 128)
    assert torch.equal(a.train[2][0], b.train[2][0])
    assert not torch.equal(a.train[0][0], a.val[0][0])
    assert a.info == {"sample_rate": 8000, "quantization": "mu-law", "bits": 8}
    # 800-sample clips cut into ceil(799 / 128) = 7 windows each.
    assert len(a.train) == 3 * 7


def test_synthetic_tokens_decode_to_the_clip():
    from s4_tasks.audio.synthetic import synthetic_clip

    clip = synthetic_clip(np.random.default_rng((0, 0, 0)), 8000, 800)
    data = get_dataset(
        "audio_synthetic",
        seq_len=799,
        n_train=1,
        n_val=1,
        n_test=1,
        clip_seconds=0.1,
        quantization="linear",
    )
    x, y = data.train[0]
    tokens = torch.cat([x, y[-1:]])
    assert np.abs(decode(tokens, "linear", 8).numpy() - clip).max() <= 1 / 255 + 1e-6


def _write(path, rate, wave):
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, rate, (wave * 32767).astype(np.int16))


def test_audio_folder_resamples_any_rate(tmp_path):
    t = np.arange(4410) / 44100
    for k in range(10):
        _write(tmp_path / f"sub{k % 2}" / f"c{k}.wav", 44100, 0.5 * np.sin(2 * np.pi * 440 * t))
    data = get_dataset(
        "audio_folder", root=str(tmp_path), seq_len=100, sample_rate=8000, quantization="linear"
    )
    _check_next_sample(data, 100)
    assert len(data.train) + len(data.val) + len(data.test) == 10 * 8  # 800 samples -> 8 windows
    clip = load_clip(tmp_path / "sub0" / "c0.wav", 8000)
    assert clip.shape == (800,)
    expected = 0.5 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)
    np.testing.assert_allclose(clip[50:-50], expected[50:-50], atol=2e-3)


def test_audio_folder_truncated_file_named(tmp_path):
    for k in range(3):
        _write(tmp_path / f"c{k}.wav", 8000, np.zeros(400))
    bad = tmp_path / "c1.wav"
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(DataFormatError, match=r"c1\.wav"):
        get_dataset("audio_folder", root=str(tmp_path), seq_len=64, sample_rate=8000)


def test_audio_folder_missing(tmp_path):
    with pytest.raises(MissingDataError, match="audio_folder"):
        get_dataset("audio_folder", root=str(tmp_path / "nothing"))


def test_sc09_uses_digit_words_and_lists(tmp_path):
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    for word in [*words, "yes"]:
        for k in range(2):
            _write(tmp_path / word / f"f{k}.wav", 16000, np.full(1600, 0.1 * (k + 1)))
    (tmp_path / "validation_list.txt").write_text("one/f0.wav\n")
    (tmp_path / "testing_list.txt").write_text("two/f0.wav\nyes/f0.wav\n")
    data = get_dataset("sc09", root=str(tmp_path), seq_len=4000)
    _check_next_sample(data, 4000)
    # one second padded with silence -> 4 windows per clip; 'yes' is not a digit.
    assert (len(data.train), len(data.val), len(data.test)) == (18 * 4, 4, 4)
    silence = int(encode(np.zeros(1))[0])
    assert int(data.val[3][1][-1]) == silence
