"""Learning-rate schedules with linear warmup, as multipliers of each param group's base lr.

Every group (the ordinary one and the SSM groups of s4_layers.param_groups, which carry their
own lr) is scaled by the same factor, so the ratio between them is kept.

- cosine:   f(s) = (s+1)/W for s < W, then m + (1-m) * (1 + cos(pi * p)) / 2 with
            p = (s-W) / max(1, T-W) clipped to [0, 1], m = min_lr_ratio, T = total steps.
- constant: f(s) = (s+1)/W for s < W, then 1.
- plateau:  linear warmup (:class:`LinearWarmup`, per step) and ReduceLROnPlateau (per
            validation) on the monitored metric.
- step, multistep, cosine_restarts: torch's ``StepLR`` / ``MultiStepLR`` /
            ``CosineAnnealingWarmRestarts`` after a ``LinearLR`` warmup, chained with
            ``SequentialLR`` (f(s) = (s+1)/W for s < W, then the torch schedule from 0).

Kept hand-written, and why: cosine uses ``LambdaLR`` because ``CosineAnnealingLR``'s floor
(``eta_min``) is one absolute lr for every group, while ``min_lr_ratio`` must scale the SSM
groups' own lr alike; the plateau warmup (:class:`LinearWarmup`) must leave the lr alone after
warmup so that ReduceLROnPlateau's reductions are not undone, which ``LinearLR`` does not.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim.lr_scheduler import (
    CosineAnnealingWarmRestarts,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)


def warmup_factor(step: int, warmup_steps: int) -> float:
    """(step+1)/W during warmup, 1 after (and with W = 0)."""
    if warmup_steps <= 0 or step >= warmup_steps:
        return 1.0
    return (step + 1) / warmup_steps


def cosine_factor(step: int, warmup_steps: int, total_steps: int, min_lr_ratio: float) -> float:
    """Warmup then half a cosine from 1 down to ``min_lr_ratio`` at ``total_steps``."""
    if step < warmup_steps:
        return warmup_factor(step, warmup_steps)
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class LinearWarmup(LRScheduler):
    """Scales each group's lr to base_lr * (step+1)/W for the first W steps, then leaves the lr
    alone, so a ReduceLROnPlateau stepping after warmup is not undone."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_steps: int) -> None:
        self.warmup_steps = int(warmup_steps)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step < self.warmup_steps:
            return [base * warmup_factor(step, self.warmup_steps) for base in self.base_lrs]
        if step == self.warmup_steps:
            return list(self.base_lrs)
        return [group["lr"] for group in self.optimizer.param_groups]


def build_schedulers(
    optimizer: torch.optim.Optimizer,
    scheduler: dict[str, Any],
    total_steps: int,
    monitor: str,
    mode: str,
) -> list[dict[str, Any]]:
    """Lightning ``lr_scheduler`` configs for the ``scheduler`` config section.

    ``monitor``/``mode`` are the resolved plateau target (used when the section says ``auto``).
    """
    name = scheduler["name"]
    warmup = int(scheduler.get("warmup_steps", 0))
    if warmup < 0:
        raise ValueError(f"scheduler.warmup_steps: expected >= 0, got {warmup}")
    if name == "cosine":
        ratio = float(scheduler.get("min_lr_ratio", 0.0))
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"scheduler.min_lr_ratio: expected a value in [0, 1], got {ratio}")
        fn = lambda step: cosine_factor(step, warmup, total_steps, ratio)
        return [{"scheduler": LambdaLR(optimizer, fn), "interval": "step", "name": "lr"}]
    if name == "constant":
        fn = lambda step: warmup_factor(step, warmup)
        return [{"scheduler": LambdaLR(optimizer, fn), "interval": "step", "name": "lr"}]
    if name == "plateau":
        if scheduler.get("monitor", "auto") != "auto":
            monitor = scheduler["monitor"]
        if scheduler.get("mode", "auto") != "auto":
            mode = scheduler["mode"]
        plateau = ReduceLROnPlateau(
            optimizer,
            mode=mode,
            factor=float(scheduler.get("factor", 0.2)),
            patience=int(scheduler.get("patience", 10)),
            min_lr=float(scheduler.get("min_lr", 0.0)),
        )
        configs = [{"scheduler": plateau, "interval": "epoch", "monitor": monitor, "name": "lr"}]
        if warmup > 0:
            configs.insert(0, {"scheduler": LinearWarmup(optimizer, warmup), "interval": "step"})
        return configs
    main = _torch_schedule(optimizer, name, scheduler)
    if warmup > 1:  # W = 1 is a factor of 1 at step 0: no warmup
        ramp = LinearLR(
            optimizer, start_factor=1.0 / warmup, end_factor=1.0, total_iters=warmup - 1
        )
        main = SequentialLR(optimizer, [ramp, main], milestones=[warmup])
    return [{"scheduler": main, "interval": "step", "name": "lr"}]


def _torch_schedule(
    optimizer: torch.optim.Optimizer, name: str, scheduler: dict[str, Any]
) -> LRScheduler:
    if name == "step":
        size = int(scheduler.get("step_size", 1000))
        if size < 1:
            raise ValueError(f"scheduler.step_size: expected a positive integer, got {size}")
        return StepLR(optimizer, step_size=size, gamma=float(scheduler.get("gamma", 0.1)))
    if name == "multistep":
        milestones = [int(m) for m in scheduler.get("milestones", [])]
        if milestones != sorted(milestones) or any(m < 1 for m in milestones):
            raise ValueError(
                f"scheduler.milestones: expected increasing positive steps, got {milestones}"
            )
        return MultiStepLR(optimizer, milestones, gamma=float(scheduler.get("gamma", 0.1)))
    if name == "cosine_restarts":
        cycle, mult = int(scheduler.get("cycle_steps", 1000)), int(scheduler.get("cycle_mult", 1))
        if cycle < 1 or mult < 1:
            raise ValueError(
                f"scheduler.cycle_steps / cycle_mult: expected positive integers, got {cycle}, "
                f"{mult}"
            )
        return CosineAnnealingWarmRestarts(
            optimizer, T_0=cycle, T_mult=mult, eta_min=float(scheduler.get("min_lr", 0.0))
        )
    raise ValueError(
        "scheduler.name: expected 'cosine', 'plateau', 'constant', 'step', 'multistep' or "
        f"'cosine_restarts', got {name!r}"
    )
