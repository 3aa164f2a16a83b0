import pickle

import numpy as np
import pytest

from s4_tasks.base import (
    DataFormatError,
    IndexedDataset,
    MissingDataError,
    SequenceDataset,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    missing_data,
    split_indices,
)


class Squares:
    def __len__(self):
        return 10

    def get(self, i):
        return i, i * i


def _task(**overrides):
    view = IndexedDataset(Squares(), [0, 1])
    kwargs = dict(
        train=view, val=view, test=view, d_input=1, d_output=2, l_max=5, input_kind="real",
        output_kind="class", l_output=None, name="t", chance=0.5,
    )  # fmt: skip
    kwargs.update(overrides)
    return SequenceDataset(**kwargs)


def test_errors_are_value_and_file_errors():
    assert issubclass(DataFormatError, ValueError)
    assert issubclass(MissingDataError, FileNotFoundError)
    err = missing_data("mnist", "/x/y", "train-images-idx3-ubyte")
    assert "s4-data download mnist --root" in str(err) and "/x/y" in str(err)


def test_sequence_dataset_validates_kinds_and_sizes():
    task = _task()
    assert "train/val/test=2/2/2" in task.summary()
    with pytest.raises(ValueError, match="input_kind"):
        _task(input_kind="image")
    with pytest.raises(ValueError, match="output_kind"):
        _task(output_kind="labels")
    with pytest.raises(ValueError, match="d_input"):
        _task(d_input=0)
    with pytest.raises(ValueError, match="l_output"):
        _task(output_kind="seq_class", l_output=None)
    with pytest.raises(ValueError, match="l_output"):
        _task(output_kind="seq_class", l_output=6)
    with pytest.raises(ValueError, match="only meaningful"):
        _task(l_output=3)
    assert _task(output_kind="seq_class", l_output=5).l_output == 5


def test_indexed_dataset_views_and_bounds():
    view = IndexedDataset(Squares(), np.array([3, 7, 9]))
    assert len(view) == 3
    assert [view[i] for i in range(3)] == [(3, 9), (7, 49), (9, 81)]
    assert view[-1] == (9, 81)
    with pytest.raises(IndexError, match="out of range"):
        view[3]
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        IndexedDataset(Squares(), [0, 10])
    with pytest.raises(ValueError, match="1-D"):
        IndexedDataset(Squares(), [[0, 1]])
    clone = pickle.loads(pickle.dumps(view))  # DataLoader workers / DDP spawn pickle datasets
    assert clone[1] == (7, 49)


def test_indexed_dataset_batched_reads_fall_back_to_get():
    """__getitems__ on a source without get_many: the items one by one, same bounds."""
    view = IndexedDataset(Squares(), np.array([3, 7, 9]))
    assert view.__getitems__([2, 0, -1]) == [(9, 81), (3, 9), (9, 81)]
    with pytest.raises(IndexError, match="index 3 out of range for a split of 3 items"):
        view.__getitems__([0, 3])


def test_split_indices_is_a_seeded_partition():
    val, test, train = split_indices(100, [0.1, 0.2], seed=5)
    assert (len(val), len(test), len(train)) == (10, 20, 70)
    joined = np.concatenate([val, test, train])
    assert sorted(joined.tolist()) == list(range(100))
    again = split_indices(100, [0.1, 0.2], seed=5)
    assert all(np.array_equal(a, b) for a, b in zip((val, test, train), again))
    other = split_indices(100, [0.1, 0.2], seed=6)
    assert not np.array_equal(val, other[0])
    with pytest.raises(ValueError, match="sum to < 1"):
        split_indices(10, [0.5, 0.5], seed=0)
    with pytest.raises(ValueError, match="no items for training"):
        split_indices(2, [0.5, 0.4], seed=0)


def test_argument_checks_name_the_argument():
    assert check_int("n", np.int64(3), 1) == 3
    with pytest.raises(ValueError, match="n must be an int"):
        check_int("n", True)
    with pytest.raises(ValueError, match="n must be an int"):
        check_int("n", 2.0)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        check_int("n", 0, 1)
    assert check_fraction("f", 0.25) == 0.25
    with pytest.raises(ValueError, match=r"f must be in \[0, 1\)"):
        check_fraction("f", 1.0)
    with pytest.raises(ValueError, match="f must be a float"):
        check_fraction("f", "0.1")
    assert check_bool("b", True) is True
    with pytest.raises(ValueError, match="b must be a bool"):
        check_bool("b", 1)
    with pytest.raises(ValueError, match=r"c must be one of \[10, 35\]"):
        check_choice("c", 12, (10, 35))
