"""Training monitors logged to the experiment loggers: epoch wall time and SSM parameter norms.

- :class:`EpochTimer`: ``time/epoch_seconds`` (training epoch, validation included) and
  ``time/steps_per_second`` at each training epoch end; :attr:`EpochTimer.wall_seconds` keeps
  every epoch's whole wall time (start to the next start: checkpoints and logging included),
  which ``s4_train.train`` returns as ``results["epoch_seconds"]``.
- :class:`SSMParameterNorms`: ``ssm_norm/<name>`` = the 2-norm over all layers of each kind of
  SSM parameter (those s4_layers tags with ``_optim``: dt, A, P, B, ...), at each epoch end; a
  norm that explodes or collapses shows a bad lr for ``model.layer.lr`` early.
"""

from __future__ import annotations

import time
from collections import defaultdict

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback


class EpochTimer(Callback):
    def __init__(self) -> None:
        self._start = 0.0
        self._start_step = 0
        self._wall_start: float | None = None
        self.wall_seconds: list[float] = []

    def _close_wall(self) -> None:
        now = time.perf_counter()
        if self._wall_start is not None:
            self.wall_seconds.append(now - self._wall_start)
        self._wall_start = now

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close_wall()
        self._start = time.perf_counter()
        self._start_step = trainer.global_step

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close_wall()
        self._wall_start = None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        seconds = time.perf_counter() - self._start
        steps = trainer.global_step - self._start_step
        pl_module.log("time/epoch_seconds", seconds, on_epoch=True, on_step=False)
        pl_module.log(
            "time/steps_per_second", steps / max(seconds, 1e-9), on_epoch=True, on_step=False
        )


def ssm_parameter_norms(module: torch.nn.Module) -> dict[str, float]:
    """{leaf name: sqrt(sum over layers of ||p||^2)} for the SSM parameters of ``module``."""
    squares: dict[str, float] = defaultdict(float)
    for name, param in module.named_parameters():
        if hasattr(param, "_optim"):
            squares[name.rsplit(".", 1)[-1]] += float(param.detach().double().pow(2).sum())
    return {leaf: total**0.5 for leaf, total in sorted(squares.items())}


class SSMParameterNorms(Callback):
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for leaf, norm in ssm_parameter_norms(pl_module).items():
            pl_module.log(f"ssm_norm/{leaf}", norm, on_epoch=True, on_step=False)
