import gzip
import pickle

import numpy as np

from s4_tasks import fixtures


def test_idx_writer_emits_the_documented_header(tmp_path):
    path = fixtures.write_idx(tmp_path / "a-idx2-ubyte", np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert path.read_bytes() == bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5])
    gz = fixtures.write_idx(tmp_path / "b-idx1-ubyte.gz", np.array([7, 9], np.uint8))
    assert gzip.decompress(gz.read_bytes()) == bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])


def test_writers_produce_the_standard_layouts(tmp_path):
    mnist = fixtures.write_mnist(tmp_path / "m", n_train=3, n_test=2)
    assert sorted(p.name for p in mnist.iterdir()) == sorted(
        f"{s}-{k}-idx{d}-ubyte.gz"
        for s in ("train", "t10k")
        for k, d in (("images", 3), ("labels", 1))
    )
    cifar = fixtures.write_cifar10(tmp_path, n_per_batch=2)
    assert cifar.name == "cifar-10-batches-py"
    with (cifar / "data_batch_5").open("rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    assert batch[b"data"].shape == (2, 3072) and batch[b"data"].dtype == np.uint8
    sc = fixtures.write_speech_commands(tmp_path, per_word=3)
    assert (sc / "_background_noise_").is_dir() and len(list((sc / "yes").glob("*.wav"))) == 3
    assert len((sc / "testing_list.txt").read_text().split()) == 10
    npz = np.load(fixtures.write_npz(tmp_path / "a.npz", n=4, seq_len=5, d=2))
    assert npz["x"].shape == (4, 5, 2) and npz["y"].shape == (4,)
