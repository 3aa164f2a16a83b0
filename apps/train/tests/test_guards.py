"""The fused finiteness check agrees with the per-tensor one, including on overflowing norms."""

from __future__ import annotations

import pytest
import torch

from s4_train.guards import all_parameters_finite, non_finite_parameters


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.LayerNorm(7), torch.nn.Linear(7, 3))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_single_bad_entry_is_found(value) -> None:
    net = _net()
    assert all_parameters_finite(net) and non_finite_parameters(net) == []
    with torch.no_grad():
        net[2].weight[1, 4] = value
    assert not all_parameters_finite(net)
    assert non_finite_parameters(net) == ["2.weight"]


def test_huge_finite_weights_are_finite() -> None:
    net = _net()
    with torch.no_grad():
        net[0].weight.fill_(1e30)  # the total 2-norm overflows float32; every entry is finite
    assert not torch.isfinite(torch.nn.utils.get_total_norm(list(net.parameters())))
    assert all_parameters_finite(net) and non_finite_parameters(net) == []


def test_no_parameters() -> None:
    assert all_parameters_finite(torch.nn.ReLU())


def test_a_kept_parameter_list_gives_the_same_answer() -> None:
    net = _net()
    params = list(net.parameters())
    assert all_parameters_finite(net, params)
    with torch.no_grad():
        net[0].bias[2] = float("nan")
    assert not all_parameters_finite(net, params)
