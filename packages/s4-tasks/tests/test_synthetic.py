import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from s4_tasks.synthetic import adding, copying


def _copy_task(**kw):
    args = dict(seq_len=40, n_tokens=6, vocab=5, n_train=32, n_val=8, n_test=8, seed=3)
    args.update(kw)
    return copying(**args)


def test_copying_metadata():
    task = _copy_task()
    assert (task.input_kind, task.output_kind) == ("token", "seq_class")
    assert (task.d_input, task.d_output, task.l_max, task.l_output) == (7, 5, 40, 6)
    assert task.chance == pytest.approx(1 / 5)
    assert (len(task.train), len(task.val), len(task.test)) == (32, 8, 8)


def test_copying_target_is_the_first_tokens_after_a_long_gap():
    task = _copy_task()
    marker = task.info["marker_token"]
    for i in range(len(task.train)):
        x, y = task.train[i]
        assert x.dtype == torch.int64 and x.shape == (40,)
        assert y.dtype == torch.int64 and y.shape == (6,)
        # The answer is only in the first n_tokens steps: the task needs memory of length L.
        assert torch.equal(y, x[:6] - 1)
        assert bool(((x[:6] >= 1) & (x[:6] <= 5)).all())
        assert x[40 - 6 - 1] == marker
        rest = torch.cat([x[6 : 40 - 7], x[40 - 6 :]])
        assert bool((rest == 0).all())
        assert int(y.min()) >= 0 and int(y.max()) < task.d_output


def test_copying_is_deterministic_given_seed_and_varies_otherwise():
    a, b, c = _copy_task(), _copy_task(), _copy_task(seed=4)
    items_a = [a.train[i][0] for i in range(8)]
    assert all(torch.equal(p, b.train[i][0]) for i, p in enumerate(items_a))
    assert any(not torch.equal(p, c.train[i][0]) for i, p in enumerate(items_a))
    # Different splits draw different sequences, and the items are not all the same.
    assert any(not torch.equal(a.train[i][0], a.val[i][0]) for i in range(8))
    assert len({tuple(t.tolist()) for t in items_a}) > 1
    # Reading order does not matter.
    assert torch.equal(a.train[5][0], _copy_task().train[5][0])


def test_copying_symbol_distribution_is_roughly_uniform():
    task = _copy_task(n_train=200)
    symbols = torch.cat([task.train[i][1] for i in range(200)])
    counts = torch.bincount(symbols, minlength=5).double() / symbols.numel()
    assert torch.allclose(counts, torch.full((5,), 0.2, dtype=torch.float64), atol=0.05)


def test_copying_validates_arguments():
    with pytest.raises(ValueError, match=r"seq_len >= 2 \* n_tokens \+ 1 = 13"):
        _copy_task(seq_len=12)
    with pytest.raises(ValueError, match="vocab must be >= 2"):
        _copy_task(vocab=1)
    with pytest.raises(ValueError, match="n_train must be >= 1"):
        _copy_task(n_train=0)
    with pytest.raises(ValueError, match="seed must be an int"):
        _copy_task(seed="1")


def test_adding_target_is_the_sum_of_the_two_marked_values():
    task = adding(seq_len=30, n_train=40, n_val=4, n_test=4, seed=7)
    assert (task.d_input, task.d_output, task.output_kind, task.chance) == (
        2,
        1,
        "regression",
        None,
    )
    for i in range(len(task.train)):
        x, y = task.train[i]
        assert x.dtype == torch.float32 and x.shape == (30, 2)
        assert y.dtype == torch.float32 and y.shape == (1,)
        marks = torch.nonzero(x[:, 1]).flatten().tolist()
        assert len(marks) == 2 and marks[0] < 15 <= marks[1]
        assert set(x[:, 1].unique().tolist()) <= {0.0, 1.0}
        values = x[:, 0].double()
        assert bool(((values >= 0) & (values < 1)).all())
        reference = values[marks[0]] + values[marks[1]]  # float64 brute force
        assert abs(float(y[0]) - float(reference)) <= 1e-6 * max(1.0, abs(float(reference)))


def test_adding_is_deterministic_and_mean_predictor_is_the_baseline():
    a = adding(seq_len=20, n_train=400, n_val=2, n_test=2, seed=1)
    b = adding(seq_len=20, n_train=400, n_val=2, n_test=2, seed=1)
    assert torch.equal(a.train[9][0], b.train[9][0]) and torch.equal(a.train[9][1], b.train[9][1])
    targets = np.array([float(a.train[i][1][0]) for i in range(400)])
    assert np.mean((targets - 1.0) ** 2) == pytest.approx(a.info["baseline_mse"], abs=0.04)
    with pytest.raises(ValueError, match="seq_len must be >= 2"):
        adding(seq_len=1)


def test_synthetic_tasks_batch_and_pickle():
    task = _copy_task()
    x, y = next(iter(DataLoader(task.train, batch_size=8, shuffle=True)))
    assert x.shape == (8, 40) and y.shape == (8, 6)
    assert torch.equal(y, x[:, :6] - 1)
    clone = pickle.loads(pickle.dumps(task.train))
    assert torch.equal(clone[3][0], task.train[3][0])
    reg = adding(seq_len=16, n_train=4, n_val=1, n_test=1)
    xb, yb = next(iter(DataLoader(reg.train, batch_size=4)))
    assert xb.shape == (4, 16, 2) and yb.shape == (4, 1)
