import numpy as np
import pytest
import torch

from s4_tasks import DataFormatError, get_dataset


def _rows(split):
    return {tuple(split[i][0].flatten().tolist()) for i in range(len(split))}


def test_npz_seeded_split_covers_every_row_once(npz_path):
    task = get_dataset("npz", path=npz_path, val_split=0.2, test_split=0.1, seed=3)
    assert (len(task.train), len(task.val), len(task.test)) == (14, 4, 2)
    assert (task.d_input, task.d_output, task.l_max, task.input_kind) == (1, 3, 16, "real")
    data = np.load(npz_path)
    x_ref, y_ref = data["x"], data["y"]
    everything = _rows(task.train) | _rows(task.val) | _rows(task.test)
    assert everything == {tuple(r.tolist()) for r in x_ref}
    x, y = task.train[0]
    assert x.dtype == torch.float32 and x.shape == (16, 1) and y.dtype == torch.int64
    row = int(task.train.indices[0])
    assert np.array_equal(x[:, 0].numpy(), x_ref[row]) and int(y) == y_ref[row]
    again = get_dataset("npz", path=npz_path, val_split=0.2, test_split=0.1, seed=3)
    assert np.array_equal(again.val.indices, task.val.indices)


def test_npz_with_features_and_explicit_splits(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "splits.npz"
    np.savez(
        path,
        x_train=rng.standard_normal((10, 8, 3)), y_train=rng.integers(0, 4, 10),
        x_test=rng.standard_normal((3, 8, 3)), y_test=np.array([0, 1, 5]),
    )  # fmt: skip
    task = get_dataset("npz", path=path, val_split=0.2)
    assert (len(task.train), len(task.val), len(task.test)) == (8, 2, 3)
    assert (task.d_input, task.d_output) == (3, 6)  # labels reach 5 in the test split
    assert task.test[2][0].shape == (8, 3) and int(task.test[2][1]) == 5
    assert task.info["explicit_splits"] == ["test", "train"]
    assert get_dataset("npz", path=path, n_classes=10).d_output == 10
    with pytest.raises(DataFormatError, match="labels reach 5 >= n_classes=4"):
        get_dataset("npz", path=path, n_classes=4)


def test_npy_pair_is_memory_mapped(tmp_path):
    x = np.arange(6 * 5, dtype=np.float64).reshape(6, 5)
    y = np.array([0, 1, 0, 1, 0, 1])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    task = get_dataset("npz", x_path=tmp_path / "x.npy", y_path=tmp_path / "y.npy", test_split=0.0)
    assert isinstance(task.train.source.x, np.memmap)
    assert len(task.test) == 0 and len(task.train) + len(task.val) == 6
    row = int(task.train.indices[1])
    assert np.array_equal(task.train[1][0][:, 0].numpy(), x[row].astype(np.float32))


def test_token_inputs_and_regression_targets(tmp_path):
    path = tmp_path / "tokens.npz"
    np.savez(path, x=np.array([[1, 2, 3], [0, 4, 4], [2, 2, 1], [3, 0, 1]]), y=np.arange(4))
    task = get_dataset("npz", path=path, input_kind="token", val_split=0.25, test_split=0.25)
    assert (task.input_kind, task.d_input) == ("token", 5)
    x, _ = task.train[0]
    assert x.dtype == torch.int64 and x.shape == (3,)
    with pytest.raises(DataFormatError, match="token ids reach 4 >= vocab=3"):
        get_dataset("npz", path=path, input_kind="token", vocab=3)
    reg = tmp_path / "reg.npz"
    np.savez(reg, x=np.ones((5, 4)), y=np.linspace(0, 1, 10).reshape(5, 2))
    task = get_dataset("npz", path=reg, output_kind="regression", val_split=0.2, test_split=0.2)
    assert (task.output_kind, task.d_output, task.chance) == ("regression", 2, None)
    _, y = task.test[0]
    assert y.dtype == torch.float32 and y.shape == (2,)


@pytest.mark.parametrize(
    "arrays, kwargs, message",
    [
        ({"x": np.ones(5), "y": np.zeros(5, int)}, {}, r"\(n, L\) or \(n, L, d\)"),
        ({"x": np.ones((5, 3)), "y": np.zeros(4, int)}, {}, "5 rows but y has 4"),
        ({"x": np.ones((5, 3)), "y": np.zeros(5)}, {}, "integer class labels"),
        ({"x": np.ones((5, 3)), "y": -np.ones(5, int)}, {}, "labels must be >= 0"),
        ({"x": np.full((5, 3), np.nan), "y": np.zeros(5, int)}, {}, "NaN"),
        ({"x": np.ones((5, 3)), "y": np.zeros(5, int)}, {"input_kind": "token"}, "integer x"),
        ({"x": np.ones((5, 3)), "y": np.zeros(5, int)}, {"output_kind": "regression"}, "float y"),
        ({"inputs": np.ones((5, 3))}, {}, r"found \['inputs'\]"),
        ({"x": np.ones((5, 3)), "y": np.zeros(5, int), "x_train": np.ones((5, 3))}, {}, "both"),
        (
            {"x_train": np.ones((5, 3)), "y_train": np.zeros(5, int), "x_val": np.ones((2, 3))},
            {},
            "x_val without its partner",
        ),
        (
            {
                "x_train": np.ones((5, 3)),
                "y_train": np.zeros(5, int),
                "x_test": np.ones((2, 4)),
                "y_test": np.zeros(2, int),
            },
            {},
            "disagree on the item shape",
        ),
    ],
)
def test_wrong_arrays_are_reported_with_the_file(tmp_path, arrays, kwargs, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataFormatError, match=message) as info:
        get_dataset("npz", path=path, **kwargs)
    assert str(path) in str(info.value)


def test_corrupt_files_and_argument_errors(tmp_path, npz_path):
    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(npz_path.read_bytes()[:200])
    with pytest.raises(DataFormatError, match="corrupt") as info:
        get_dataset("npz", path=truncated)
    assert str(truncated) in str(info.value)
    objects = tmp_path / "objects.npz"
    np.savez(objects, x=np.array([[1, 2], [3]], dtype=object), y=np.zeros(2, int))
    with pytest.raises(DataFormatError, match="objects"):
        get_dataset("npz", path=objects)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        get_dataset("npz", path=tmp_path / "absent.npz")
    with pytest.raises(ValueError, match="either path"):
        get_dataset("npz", path=npz_path, x_path=npz_path)
    with pytest.raises(ValueError, match="both x_path and y_path"):
        get_dataset("npz", x_path=npz_path)
    with pytest.raises(ValueError, match="input_kind must be one of"):
        get_dataset("npz", path=npz_path, input_kind="image")


def test_truncated_npy_is_reported(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((10, 5)))
    np.save(tmp_path / "y.npy", np.zeros(10, dtype=int))
    x_path = tmp_path / "x.npy"
    x_path.write_bytes(x_path.read_bytes()[:-16])
    with pytest.raises(DataFormatError, match="truncated") as info:
        get_dataset("npz", x_path=x_path, y_path=tmp_path / "y.npy")
    assert str(x_path) in str(info.value)
    np.savez(tmp_path / "pair.npz", x=np.ones((2, 3)), y=np.zeros(2, int))
    with pytest.raises(DataFormatError, match=r"single-array \.npy"):
        get_dataset("npz", x_path=tmp_path / "pair.npz", y_path=tmp_path / "y.npy")


def _same_items(got, want):
    assert len(got) == len(want)
    for (x, y), (x_ref, y_ref) in zip(got, want):
        assert x.dtype == x_ref.dtype and x.shape == x_ref.shape and torch.equal(x, x_ref)
        assert y.dtype == y_ref.dtype and y.shape == y_ref.shape and torch.equal(y, y_ref)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "item_shapes"),
    [
        (np.arange(60.0).reshape(6, 10), np.arange(6) % 3, {}, ((10, 1), ())),
        (np.arange(72.0).reshape(6, 4, 3), np.arange(6) % 2, {}, ((4, 3), ())),
        (np.arange(24).reshape(6, 4) % 5, np.arange(6), {"input_kind": "token"}, ((4,), ())),
        (np.ones((6, 4)), np.linspace(0, 1, 6), {"output_kind": "regression"}, ((4, 1), (1,))),
        (np.ones((6, 4)), np.ones((6, 2)), {"output_kind": "regression"}, ((4, 1), (2,))),
    ],
)
def test_batched_reads_are_the_items_one_by_one(tmp_path, x, y, kwargs, item_shapes):
    """IndexedDataset.__getitems__ (what a DataLoader asks for a batch) through ArraySource's
    get_many gives the items of __getitem__: values, dtypes and shapes; and a loader's batch
    stacks them."""
    path = tmp_path / "arrays.npz"
    np.savez(path, x=x, y=y)
    split = get_dataset("npz", path=path, val_split=0.0, test_split=0.0, **kwargs).train
    picks = [4, 0, 4, -1, 2]
    items = split.__getitems__(picks)
    _same_items(items, [split[i] for i in picks])
    assert (tuple(items[0][0].shape), tuple(items[0][1].shape)) == item_shapes
    assert split.__getitems__([]) == []
    with pytest.raises(IndexError, match="index 6 out of range for a split of 6 items"):
        split.__getitems__([0, 6])
    with pytest.raises(IndexError, match="index -7 out of range"):
        split.__getitems__([-7])
    xb, yb = next(iter(torch.utils.data.DataLoader(split, batch_size=6)))
    assert torch.equal(xb, torch.stack([split[i][0] for i in range(6)]))
    assert torch.equal(yb, torch.stack([split[i][1] for i in range(6)]))
