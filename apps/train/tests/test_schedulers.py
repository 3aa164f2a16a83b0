"""Warmup + cosine / constant / plateau schedules against formulas written here."""

from __future__ import annotations

import math

import pytest
import torch

from s4_train.schedulers import LinearWarmup, build_schedulers, cosine_factor, warmup_factor


def _optimizer() -> torch.optim.Optimizer:
    # two groups like s4_layers.param_groups gives: ordinary and SSM (own lr, no decay)
    a, b = torch.nn.Parameter(torch.randn(3)), torch.nn.Parameter(torch.randn(2))
    groups = [{"params": [a], "lr": 0.01}, {"params": [b], "lr": 0.001, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=0.01)


def _lrs(optimizer) -> list[float]:
    return [g["lr"] for g in optimizer.param_groups]


def _reference_cosine(step: int, warmup: int, total: int, floor: float) -> float:
    if step < warmup:
        return (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * (1 + math.cos(math.pi * p)) / 2


@pytest.mark.parametrize(("warmup", "total", "floor"), [(0, 10, 0.0), (3, 12, 0.1), (5, 5, 0.0)])
def test_cosine_factor_matches_formula(warmup, total, floor) -> None:
    for step in range(total + 3):
        expected = _reference_cosine(step, warmup, total, floor)
        assert cosine_factor(step, warmup, total, floor) == pytest.approx(expected, abs=1e-12)
    if total > warmup:  # reaches the floor at the last step
        assert cosine_factor(total, warmup, total, floor) == pytest.approx(floor)


def test_warmup_factor() -> None:
    assert [warmup_factor(s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0


def test_cosine_scheduler_scales_every_group_alike() -> None:
    opt = _optimizer()
    sched = build_schedulers(
        opt,
        {"name": "cosine", "warmup_steps": 2, "min_lr_ratio": 0.0},
        total_steps=6,
        monitor="val/loss",
        mode="min",
    )
    assert len(sched) == 1 and sched[0]["interval"] == "step"
    for step in range(6):
        f = _reference_cosine(step, 2, 6, 0.0)
        assert _lrs(opt) == pytest.approx([0.01 * f, 0.001 * f])
        opt.step()
        sched[0]["scheduler"].step()


def test_constant_scheduler() -> None:
    opt = _optimizer()
    sched = build_schedulers(opt, {"name": "constant", "warmup_steps": 2}, 10, "val/loss", "min")
    seen = []
    for _ in range(4):
        seen.append(_lrs(opt)[0])
        opt.step()
        sched[0]["scheduler"].step()
    assert seen == pytest.approx([0.005, 0.01, 0.01, 0.01])


def test_plateau_with_warmup_reduces_after_patience_and_warmup_does_not_undo_it() -> None:
    opt = _optimizer()
    configs = build_schedulers(
        opt,
        {
            "name": "plateau",
            "warmup_steps": 2,
            "factor": 0.5,
            "patience": 0,
            "min_lr": 0.0,
            "monitor": "auto",
            "mode": "auto",
        },
        total_steps=100,
        monitor="val/accuracy",
        mode="max",
    )
    warm, plateau = configs
    assert isinstance(warm["scheduler"], LinearWarmup) and warm["interval"] == "step"
    assert plateau["monitor"] == "val/accuracy" and plateau["interval"] == "epoch"
    assert _lrs(opt) == pytest.approx([0.005, 0.0005])
    for _ in range(3):
        opt.step()
        warm["scheduler"].step()
    assert _lrs(opt) == pytest.approx([0.01, 0.001])
    plateau["scheduler"].step(0.5)  # first value: the best so far
    plateau["scheduler"].step(0.4)  # worse (mode max), patience 0 -> halve
    assert _lrs(opt) == pytest.approx([0.005, 0.0005])
    opt.step()
    warm["scheduler"].step()  # past warmup: leaves the reduced lr alone
    assert _lrs(opt) == pytest.approx([0.005, 0.0005])


def test_plateau_explicit_monitor_wins() -> None:
    configs = build_schedulers(
        _optimizer(),
        {"name": "plateau", "warmup_steps": 0, "monitor": "val/loss", "mode": "min"},
        10,
        "val/accuracy",
        "max",
    )
    assert len(configs) == 1 and configs[0]["monitor"] == "val/loss"
    assert configs[0]["scheduler"].mode == "min"


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"name": "linear", "warmup_steps": 0}, "scheduler.name"),
        ({"name": "cosine", "warmup_steps": -1}, "scheduler.warmup_steps"),
        ({"name": "cosine", "warmup_steps": 0, "min_lr_ratio": 2.0}, "scheduler.min_lr_ratio"),
    ],
)
def test_bad_scheduler_config_names_the_key(cfg, key) -> None:
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        build_schedulers(_optimizer(), cfg, 10, "val/loss", "min")


def _lr_trace(name: str, steps: int, **options) -> list[float]:
    from s4_train.schedulers import build_schedulers

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    sched = build_schedulers(opt, {"name": name, **options}, 100, "val/loss", "min")[0]
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched["scheduler"].step()
    return out


def test_step_multistep_and_restarts_follow_their_formulas_after_warmup() -> None:
    warm = [(s + 1) / 4 for s in range(4)]
    got = _lr_trace("step", 12, warmup_steps=4, step_size=3, gamma=0.5)
    assert got == pytest.approx(warm + [0.5 ** (s // 3) for s in range(8)])
    got = _lr_trace("multistep", 10, warmup_steps=0, milestones=[2, 5], gamma=0.1)
    assert got == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.01])
    got = _lr_trace("cosine_restarts", 12, warmup_steps=4, cycle_steps=4, cycle_mult=1, min_lr=0.0)
    cycle = [0.5 * (1 + math.cos(math.pi * s / 4)) for s in range(4)]
    assert got == pytest.approx(warm + cycle + cycle)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"name": "step", "step_size": 0}, "scheduler.step_size"),
        ({"name": "multistep", "milestones": [5, 2]}, "scheduler.milestones"),
        ({"name": "cosine_restarts", "cycle_steps": 0}, "scheduler.cycle_steps"),
    ],
)
def test_bad_torch_schedule_options_name_the_key(options, key) -> None:
    from s4_train.schedulers import build_schedulers

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        build_schedulers(opt, {"warmup_steps": 0, **options}, 100, "val/loss", "min")
