import gzip
import struct

import numpy as np
import pytest
import torch

from s4_tasks import DataFormatError, MissingDataError, fixtures, get_dataset
from s4_tasks.mnist import find_idx_file, read_idx


def test_read_idx_parses_a_hand_written_file(tmp_path):
    # magic 0x00000803 (uint8, 3 dims), dims 2x2x3 big-endian, then 12 bytes row-major.
    payload = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(12))
    path = tmp_path / "tiny-idx3-ubyte"
    path.write_bytes(payload)
    array = read_idx(path, ndim=3)
    assert array.shape == (2, 2, 3) and array.dtype == np.uint8
    assert array.ravel().tolist() == list(range(12))
    # A big-endian int16 array (code 0x0B).
    path16 = tmp_path / "short-idx1"
    path16.write_bytes(bytes([0, 0, 0x0B, 1, 0, 0, 0, 2]) + struct.pack(">hh", -2, 300))
    assert read_idx(path16).tolist() == [-2, 300]


def test_mnist_items_match_the_raw_pixels(mnist_root):
    task = get_dataset("mnist", root=str(mnist_root), val_split=0.25, seed=0)
    assert (task.d_input, task.d_output, task.l_max, task.chance) == (1, 10, 784, 0.1)
    assert (len(task.train), len(task.val), len(task.test)) == (15, 5, 10)
    raw = gzip.decompress((mnist_root / "t10k-images-idx3-ubyte.gz").read_bytes())
    images = np.frombuffer(raw[16:], dtype=np.uint8).reshape(10, 784)
    labels = np.frombuffer(
        gzip.decompress((mnist_root / "t10k-labels-idx1-ubyte.gz").read_bytes())[8:], np.uint8
    )
    for i in range(10):
        x, y = task.test[i]
        assert x.dtype == torch.float32 and x.shape == (784, 1)
        ref = images[i].astype(np.float64) / 255.0
        assert np.abs(x[:, 0].double().numpy() - ref).max() <= 1e-7
        assert y.dtype == torch.int64 and y.shape == () and int(y) == labels[i]
    # Train and val partition the 20 training images.
    train_raw = gzip.decompress((mnist_root / "train-images-idx3-ubyte.gz").read_bytes())
    train_images = np.frombuffer(train_raw[16:], dtype=np.uint8).reshape(20, 784)
    seen = {tuple((task.train[i][0][:, 0] * 255).round().int().tolist()) for i in range(15)}
    seen |= {tuple((task.val[i][0][:, 0] * 255).round().int().tolist()) for i in range(5)}
    assert seen == {tuple(row.tolist()) for row in train_images}


def test_permuted_mnist_applies_one_fixed_permutation(mnist_root):
    plain = get_dataset("mnist", root=mnist_root)
    perm = get_dataset("mnist", root=mnist_root, permute=True, permute_seed=3)
    order = perm.info["permutation"]
    assert sorted(order.tolist()) == list(range(784))
    for i in range(3):
        assert torch.equal(perm.test[i][0], plain.test[i][0][torch.from_numpy(order)])
    again = get_dataset("mnist", root=mnist_root, permute=True, permute_seed=3)
    assert np.array_equal(again.info["permutation"], order)
    other = get_dataset("mnist", root=mnist_root, permute=True, permute_seed=4)
    assert not np.array_equal(other.info["permutation"], order)


def test_mnist_reads_uncompressed_files_and_parent_root(tmp_path):
    fixtures.write_mnist(tmp_path / "mnist", n_train=6, n_test=4, gz=False)
    direct = get_dataset("mnist", root=tmp_path / "mnist", val_split=0.0)
    parent = get_dataset("mnist", root=tmp_path, val_split=0.0)  # the --root folder above
    assert len(direct.train) == 6 and len(direct.val) == 0
    assert torch.equal(direct.test[1][0], parent.test[1][0])
    assert find_idx_file(tmp_path, "t10k-images-idx3-ubyte").name == "t10k-images-idx3-ubyte"


def test_missing_mnist_tells_how_to_download(tmp_path):
    with pytest.raises(MissingDataError, match="s4-data download mnist --root"):
        get_dataset("mnist", root=tmp_path)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[: len(b) - 7], "truncated"),
        (lambda b: b + b"\x00", "trailing bytes"),
        (lambda b: b"\x00\x00\x09\x03" + b[4:], "dtype code 0x08"),
        (lambda b: b"\x12\x34" + b[2:], "bad idx magic"),
        (lambda b: b[:10], "truncated idx header"),
        (lambda b: b[:2], "only 2 bytes"),
    ],
)
def test_corrupt_idx_files_name_the_file(mnist_root, damage, message):
    path = mnist_root / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(damage(raw)))
    with pytest.raises(DataFormatError, match=message) as info:
        get_dataset("mnist", root=mnist_root)
    assert str(path) in str(info.value)


def test_truncated_gzip_and_wrong_shapes_are_reported(mnist_root, tmp_path):
    path = mnist_root / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataFormatError, match="gzip") as info:
        get_dataset("mnist", root=mnist_root)
    assert str(path) in str(info.value)

    other = fixtures.write_mnist(tmp_path / "other", n_train=4, n_test=3)
    fixtures.write_idx(other / "train-images-idx3-ubyte.gz", np.zeros((4, 28, 27), np.uint8))
    with pytest.raises(DataFormatError, match=r"\(n, 28, 28\)"):
        get_dataset("mnist", root=other)
    fixtures.write_idx(other / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(DataFormatError, match="5 images but 4 labels"):
        get_dataset("mnist", root=other)
    fixtures.write_idx(other / "train-images-idx3-ubyte.gz", np.zeros((4, 28, 28), np.uint8))
    fixtures.write_idx(other / "train-labels-idx1-ubyte.gz", np.full(4, 11, np.uint8))
    with pytest.raises(DataFormatError, match=r"labels 0\.\.9"):
        get_dataset("mnist", root=other)


def test_mnist_argument_checks(mnist_root):
    with pytest.raises(ValueError, match="permute must be a bool"):
        get_dataset("mnist", root=mnist_root, permute="yes")
    with pytest.raises(ValueError, match="val_split"):
        get_dataset("mnist", root=mnist_root, val_split=1.5)
