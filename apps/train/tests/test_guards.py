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


def _guarded(nan_weight: bool):
    from types import SimpleNamespace

    from s4_train.guards import NonFiniteGuard

    module = torch.nn.Linear(3, 2)
    if nan_weight:
        with torch.no_grad():
            module.weight[1, 2] = float("nan")
    trainer = SimpleNamespace(global_step=7, current_epoch=1)
    guard = NonFiniteGuard()
    guard.on_train_start(trainer, module)
    return guard, trainer, module


def test_the_guard_stops_at_a_non_finite_loss_and_names_non_finite_weights() -> None:
    from s4_train.guards import TrainingError

    guard, trainer, module = _guarded(nan_weight=True)
    guard.on_train_batch_end(trainer, module, torch.tensor(0.25), None, 3)  # a finite loss
    assert guard.last_finite == (7, 0.25)
    trainer.global_step = 8
    with pytest.raises(TrainingError, match=r"loss \(nan\) at step 8 .*batch 4") as info:
        guard.on_train_batch_end(trainer, module, {"loss": torch.tensor(float("nan"))}, None, 4)
    message = str(info.value)
    assert (
        "last finite loss 0.25 at step 7" in message
        and "weights now (1 tensors, e.g. weight" in message
    )


def test_the_guard_checks_the_weights_at_each_epoch_end() -> None:
    from s4_train.guards import TrainingError

    guard, trainer, module = _guarded(nan_weight=False)
    guard.on_train_epoch_end(trainer, module)  # finite: nothing to say
    with torch.no_grad():
        module.bias[0] = float("inf")
    with pytest.raises(
        TrainingError, match=r"weights at the end of epoch 1 \(step 7; 1 tensors, e.g. bias\)"
    ):
        guard.on_train_epoch_end(trainer, module)
