import numpy as np
import pytest
import torch
from scipy.io import wavfile
from scipy.signal import resample_poly

from s4_tasks import DataFormatError, MissingDataError, fixtures, get_dataset
from s4_tasks.speech_commands import WORDS_10, WORDS_35, resample_ratio


def _reference_wave(path, length=16000):
    rate, samples = wavfile.read(path)
    assert rate == 16000
    wave = np.zeros(length, dtype=np.float64)
    wave[: len(samples)] = samples.astype(np.float64) / 32768.0
    return wave


def test_sc10_splits_follow_the_lists_and_items_are_padded_waves(sc_root):
    task = get_dataset("speech_commands", root=sc_root, n_classes=10)
    assert (task.d_input, task.d_output, task.l_max, task.chance) == (1, 10, 16000, 0.1)
    assert task.classes == WORDS_10
    assert (len(task.train), len(task.val), len(task.test)) == (10, 10, 10)
    test_list = (sc_root / "testing_list.txt").read_text().split()
    val_list = (sc_root / "validation_list.txt").read_text().split()
    test_paths = [str(p.relative_to(sc_root)) for p in task.test.source.paths]
    val_paths = [str(p.relative_to(sc_root)) for p in task.val.source.paths]
    assert sorted(test_paths) == sorted(test_list) and sorted(val_paths) == sorted(val_list)
    train_paths = {str(p.relative_to(sc_root)) for p in task.train.source.paths}
    assert not train_paths & (set(test_list) | set(val_list))
    assert all("_background_noise_" not in p for p in train_paths)
    for i in range(len(task.test)):
        x, y = task.test[i]
        path = task.test.source.paths[i]
        assert x.dtype == torch.float32 and x.shape == (16000, 1)
        ref = _reference_wave(path)
        assert np.abs(x[:, 0].double().numpy() - ref).max() <= 1e-7
        n = len(wavfile.read(path)[1])
        assert n < 16000 and bool((x[n:] == 0).all())  # zero padding at the end
        assert WORDS_10[int(y)] == path.parent.name


@pytest.mark.parametrize("resample, rate", [(2, 8000), (8000, 8000), (4, 4000), (12000, 12000)])
def test_resampling_matches_resample_poly(sc_root, resample, rate):
    task = get_dataset("speech_commands", root=sc_root, resample=resample)
    assert task.l_max == rate and task.info["sample_rate"] == rate
    x, _ = task.train[0]
    assert x.shape == (rate, 1)
    up, down = {8000: (1, 2), 4000: (1, 4), 12000: (3, 4)}[rate]
    ref = resample_poly(_reference_wave(task.train.source.paths[0]), up, down)
    assert (x[:, 0].double() - torch.from_numpy(ref)).norm() / np.linalg.norm(ref) <= 1e-5


def test_resample_argument_rules():
    assert resample_ratio(None) == (1, 1)
    assert resample_ratio(2) == (1, 2)
    assert resample_ratio(22050) == (441, 320)
    with pytest.raises(ValueError, match=r"factor in 1\.\.16"):
        resample_ratio(100)
    with pytest.raises(ValueError, match="resample must be an int"):
        resample_ratio(2.5)


def test_sc35_uses_every_word_and_rejects_missing_or_unknown_folders(tmp_path):
    root = fixtures.write_speech_commands(tmp_path, n_classes=35, per_word=2, seed=5)
    task = get_dataset("speech_commands", root=tmp_path, n_classes=35)  # parent root works
    assert task.d_output == 35 and task.classes == WORDS_35
    assert (len(task.train), len(task.val), len(task.test)) == (35, 0, 35)
    labels = sorted(int(task.train[i][1]) for i in range(35))
    assert labels == list(range(35))
    (root / "unexpected_word").mkdir()
    with pytest.raises(DataFormatError, match=r"unexpected word folders.*unexpected_word"):
        get_dataset("speech_commands", root=root, n_classes=35)
    # SC10 only reads its ten words: other folders are not an error there.
    assert get_dataset("speech_commands", root=root, n_classes=10).d_output == 10
    for wav in (root / "zero").iterdir():
        wav.unlink()
    (root / "zero").rmdir()
    (root / "unexpected_word").rmdir()
    with pytest.raises(DataFormatError, match=r"missing \['zero'\]"):
        get_dataset("speech_commands", root=root, n_classes=35)


def test_bad_wav_files_name_the_file(sc_root):
    task = get_dataset("speech_commands", root=sc_root)
    path = task.train.source.paths[0]
    original = path.read_bytes()
    path.write_bytes(original[:30])  # cut inside the header
    with pytest.raises(DataFormatError, match="truncated") as info:
        task.train[0]
    assert str(path) in str(info.value)
    path.write_bytes(original[:-100])  # cut inside the samples: readers would not notice
    with pytest.raises(DataFormatError, match="data chunk declares") as info:
        task.train[0]
    assert str(path) in str(info.value)
    path.write_bytes(b"RIFF" + original[4:8] + b"WAVE" + b"\x00" * 40)  # garbage after header
    with pytest.raises(DataFormatError, match=r"truncated|corrupt"):
        task.train[0]
    path.write_bytes(b"OggS" + original[4:])
    with pytest.raises(DataFormatError, match="RIFF/WAVE header"):
        task.train[0]
    wavfile.write(path, 16000, np.zeros(16001, np.int16))
    with pytest.raises(DataFormatError, match="at most 16000 samples"):
        task.train[0]
    wavfile.write(path, 8000, np.zeros(100, np.int16))
    with pytest.raises(DataFormatError, match="16000 Hz"):
        task.train[0]
    wavfile.write(path, 16000, np.zeros((100, 2), np.int16))
    with pytest.raises(DataFormatError, match="mono"):
        task.train[0]


def test_list_problems_and_missing_dataset(sc_root, tmp_path):
    with pytest.raises(MissingDataError, match="s4-data download speech_commands"):
        get_dataset("speech_commands", root=tmp_path / "none")
    with pytest.raises(ValueError, match="n_classes must be one of"):
        get_dataset("speech_commands", root=sc_root, n_classes=12)
    lists = sc_root / "testing_list.txt"
    lists.write_text(lists.read_text() + "yes/does_not_exist.wav\n")
    with pytest.raises(DataFormatError, match=r"do not exist.*does_not_exist"):
        get_dataset("speech_commands", root=sc_root)
    lists.write_text("not a path\n")
    with pytest.raises(DataFormatError, match=r"word/file\.wav"):
        get_dataset("speech_commands", root=sc_root)
    lists.write_text("")
    (sc_root / "validation_list.txt").unlink()
    with pytest.raises(MissingDataError, match=r"validation_list\.txt"):
        get_dataset("speech_commands", root=sc_root)


def test_scipy_fallback_reads_the_same_samples(sc_root, monkeypatch):
    import sys

    task = get_dataset("speech_commands", root=sc_root)
    with_soundfile = task.test[3][0]
    monkeypatch.setitem(sys.modules, "soundfile", None)  # import soundfile -> ImportError
    assert torch.equal(task.test[3][0], with_soundfile)
    path = task.test.source.paths[3]
    path.write_bytes(path.read_bytes()[:44] + b"\x01")  # odd data, header says more
    with pytest.raises(DataFormatError, match="truncated"):
        task.test[3]
    wavfile.write(path, 16000, np.zeros(10, np.float32))
    with pytest.raises(DataFormatError, match="16-bit PCM"):
        task.test[3]
