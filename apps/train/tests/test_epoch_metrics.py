"""BatchWeightedMean: the sample-weighted epoch mean, NaN kept, reset between epochs."""

from __future__ import annotations

import math

import pytest
import torch

from s4_train.epoch_metrics import BatchWeightedMean


def test_mean_is_weighted_by_batch_size() -> None:
    g = torch.Generator().manual_seed(0)
    sizes = [32, 32, 5]
    values = torch.rand(3, generator=g, dtype=torch.float64)
    mean = BatchWeightedMean()
    for v, n in zip(values, sizes):
        mean.update(v.float(), n)
    expected = sum(float(v) * n for v, n in zip(values, sizes)) / sum(sizes)
    assert float(mean.compute()) == pytest.approx(expected, rel=1e-6)
    mean.reset()
    mean.update(torch.tensor(2.0), 3)
    assert float(mean.compute()) == 2.0


def test_nan_is_kept() -> None:
    mean = BatchWeightedMean()
    mean.update(torch.tensor(1.0), 4)
    mean.update(torch.tensor(float("nan")), 4)
    assert math.isnan(float(mean.compute()))
