import pytest

import s4_tasks
from s4_tasks import DATASETS, dataset_kwargs, get_dataset


def test_registry_has_the_contract_names():
    assert set(DATASETS) >= {"copying", "adding", "mnist", "cifar10", "speech_commands", "npz"}
    assert s4_tasks.get_dataset is get_dataset


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown dataset 'mnsit'.*'mnist'"):
        get_dataset("mnsit")


def test_unknown_kwargs_are_named():
    with pytest.raises(ValueError, match=r"\['seq_lenn'\].*'copying'.*accepted.*'seq_len'"):
        get_dataset("copying", seq_lenn=10)


def test_dataset_kwargs_lists_defaults():
    kwargs = dataset_kwargs("mnist")
    assert {"root", "permute", "permute_seed", "val_split"} <= set(kwargs)
    assert kwargs["permute"] is False
    assert {"seq_len", "n_tokens", "vocab", "n_train", "n_val", "n_test", "seed"} <= set(
        dataset_kwargs("copying")
    )
    assert {"path", "x_path", "y_path", "val_split", "test_split"} <= set(dataset_kwargs("npz"))
    assert {"root", "n_classes", "resample"} <= set(dataset_kwargs("speech_commands"))
    assert {"root", "grayscale", "val_split"} <= set(dataset_kwargs("cifar10"))


def test_get_dataset_passes_kwargs():
    task = get_dataset("adding", seq_len=8, n_train=3, n_val=2, n_test=1, seed=1)
    assert (len(task.train), len(task.val), len(task.test)) == (3, 2, 1)
    assert task.l_max == 8
