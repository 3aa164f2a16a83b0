import os
import pickle

import numpy as np
import pytest
import torch

from s4_tasks import DataFormatError, MissingDataError, get_dataset, read_cifar_batch


def _batch(folder, name):
    with (folder / name).open("rb") as handle:
        return pickle.load(handle)


def test_rgb_sequence_layout_matches_the_batch_bytes(cifar_root):
    task = get_dataset("cifar10", root=cifar_root, normalize=False, val_split=0.2, seed=1)
    assert (task.d_input, task.d_output, task.l_max, task.chance) == (3, 10, 1024, 0.1)
    assert (len(task.train), len(task.val), len(task.test)) == (16, 4, 4)
    test = _batch(cifar_root, "test_batch")
    for i in range(4):
        x, y = task.test[i]
        assert x.dtype == torch.float32 and x.shape == (1024, 3)
        row = test[b"data"][i].astype(np.float64)
        # Brute force: pixel p of channel c is byte c * 1024 + p of the row.
        ref = np.array([[row[c * 1024 + p] / 255.0 for c in range(3)] for p in range(1024)])
        assert np.abs(x.double().numpy() - ref).max() <= 1e-7
        assert int(y) == test[b"labels"][i] and y.dtype == torch.int64


def test_grayscale_is_the_luma_of_the_rgb_pixels(cifar_root):
    rgb = get_dataset("cifar10", root=cifar_root, normalize=False)
    gray = get_dataset("cifar10", root=cifar_root, normalize=False, grayscale=True)
    assert gray.d_input == 1
    x_rgb, _ = rgb.test[2]
    x_gray, _ = gray.test[2]
    assert x_gray.shape == (1024, 1)
    ref = 0.299 * x_rgb[:, 0].double() + 0.587 * x_rgb[:, 1].double() + 0.114 * x_rgb[:, 2].double()
    rel = (x_gray[:, 0].double() - ref).norm() / ref.norm()
    assert rel <= 1e-6


@pytest.mark.parametrize("grayscale", [False, True])
def test_normalisation_uses_train_statistics(cifar_root, grayscale):
    task = get_dataset("cifar10", root=cifar_root, grayscale=grayscale, val_split=0.25)
    xs = torch.stack([task.train[i][0] for i in range(len(task.train))]).double()
    mean = xs.mean(dim=(0, 1))
    std = xs.std(dim=(0, 1), unbiased=False)
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-5)
    assert torch.allclose(std, torch.ones_like(std), atol=1e-5)
    plain = get_dataset("cifar10", root=cifar_root, grayscale=grayscale, normalize=False)
    x_norm, x_plain = task.test[0][0].double(), plain.test[0][0].double()
    ref = (x_plain - torch.from_numpy(task.info["mean"]).double()) / torch.from_numpy(
        task.info["std"]
    ).double()
    assert (x_norm - ref).norm() / ref.norm() <= 1e-5


def test_parent_root_and_missing_files(cifar_root, tmp_path):
    via_parent = get_dataset("cifar10", root=cifar_root.parent, normalize=False)
    direct = get_dataset("cifar10", root=cifar_root, normalize=False)
    assert torch.equal(via_parent.test[0][0], direct.test[0][0])
    with pytest.raises(MissingDataError, match="s4-data download cifar10"):
        get_dataset("cifar10", root=tmp_path / "nowhere")
    (cifar_root / "data_batch_3").unlink()
    with pytest.raises(MissingDataError, match="data_batch_3"):
        get_dataset("cifar10", root=cifar_root)


def test_truncated_and_corrupt_batches_name_the_file(cifar_root):
    path = cifar_root / "data_batch_2"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataFormatError, match="corrupt or truncated") as info:
        get_dataset("cifar10", root=cifar_root)
    assert str(path) in str(info.value)
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(DataFormatError, match="data_batch_2"):
        read_cifar_batch(path)


@pytest.mark.parametrize(
    "content, message",
    [
        ({b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]}, r"\(n, 3072\)"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "uint8"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 integer labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "labels in 0..9"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "b'labels'"),
        ([1, 2, 3], "expected a dict"),
    ],
)
def test_wrongly_shaped_batches_are_rejected(tmp_path, content, message):
    path = tmp_path / "data_batch_1"
    with path.open("wb") as handle:
        pickle.dump(content, handle, protocol=2)
    with pytest.raises(DataFormatError, match=message) as info:
        read_cifar_batch(path)
    assert str(path) in str(info.value)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickles_that_run_code_are_refused(tmp_path):
    path = tmp_path / "test_batch"
    with path.open("wb") as handle:
        pickle.dump({b"data": _Exploit(), b"labels": []}, handle)
    with pytest.raises(DataFormatError, match="refusing to load global"):
        read_cifar_batch(path)


def test_batches_with_str_keys_load_too(tmp_path):
    path = tmp_path / "data_batch_1"
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    with path.open("wb") as handle:
        pickle.dump({"data": data, "labels": [3, 4]}, handle)
    got, labels = read_cifar_batch(path)
    assert np.array_equal(got, data) and labels.tolist() == [3, 4]


def test_python2_era_pickles_load_without_warnings(tmp_path, recwarn):
    # The official batches were pickled by Python 2 / numpy 1.x: the array globals live in
    # numpy.core.multiarray and the keys are byte strings.
    data = np.random.default_rng(0).integers(0, 256, (3, 3072), dtype=np.uint8)
    blob = pickle.dumps({b"data": data, b"labels": [1, 2, 3]}, protocol=2)
    blob = blob.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    assert b"numpy.core.multiarray\n_reconstruct" in blob
    path = tmp_path / "data_batch_1"
    path.write_bytes(blob)
    got, labels = read_cifar_batch(path)
    assert np.array_equal(got, data) and labels.tolist() == [1, 2, 3]
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
