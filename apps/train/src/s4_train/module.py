"""The LightningModule: loss, per-split metrics, AdamW with SSM param groups, schedulers.

Logged per split s in {train, val, test}: ``s/loss`` (the training loss from
``s4_tasks.metrics.loss_for(output_kind)``) and ``s/<metric>`` for each name of ``task.metrics``
(``s4_tasks.metrics.METRICS``), averaged over the epoch weighted by batch size and synchronised
across DDP processes.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch

from s4_train.network import DataSpec, build_network
from s4_train.schedulers import build_schedulers


class SequenceLightningModule(pl.LightningModule):
    """All arguments are plain dicts (config sections), saved as hyperparameters so that
    ``SequenceLightningModule.load_from_checkpoint(path)`` rebuilds the same network.

    ``spec``: the DataSpec fields; ``metrics``: metric names to log; ``monitor``/``monitor_mode``:
    the resolved checkpoint target, also used by the plateau scheduler.
    """

    def __init__(
        self,
        model: dict[str, Any],
        task: dict[str, Any],
        optimizer: dict[str, Any],
        scheduler: dict[str, Any],
        spec: dict[str, Any],
        metrics: list[str],
        monitor: str = "val/loss",
        monitor_mode: str = "min",
    ) -> None:
        super().__init__()
        from s4_tasks.metrics import METRICS, loss_for

        self.save_hyperparameters()
        self.spec = DataSpec(**spec)
        self.network = build_network(model, task, self.spec)
        self.loss_fn = loss_for(self.spec.output_kind)
        unknown = [name for name in metrics if name not in METRICS]
        if unknown:
            raise ValueError(
                f"task.metrics: unknown {unknown}; expected names from {sorted(METRICS)}"
            )
        self.metric_fns = {name: METRICS[name] for name in metrics}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, d_input) or (B, L) -> (B, d_output) or (B, l_output, d_output)."""
        return self.network(x)

    def _step(self, batch: Any, split: str) -> torch.Tensor:
        x, y, *rest = batch  # (x, y) or (x, y, lengths) for padded token tasks
        out = self.network(x, *rest)
        loss = self.loss_fn(out, y)
        batch_size = int(x.shape[0])
        self.log(
            f"{split}/loss",
            loss,
            on_step=split == "train",
            on_epoch=True,
            prog_bar=True,
            batch_size=batch_size,
            sync_dist=True,  # epoch means over all DDP processes (a no-op on one process)
        )
        with torch.no_grad():
            for name, fn in self.metric_fns.items():
                self.log(
                    f"{split}/{name}",
                    fn(out.detach(), y).float(),
                    on_step=False,
                    on_epoch=True,
                    prog_bar=name == "accuracy",
                    batch_size=batch_size,
                    sync_dist=True,
                )
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "test")

    def configure_optimizers(self) -> tuple[list[torch.optim.Optimizer], list[dict[str, Any]]]:
        from s4_layers import param_groups

        opt = self.hparams.optimizer
        if opt["name"] != "adamw":
            raise ValueError(f"optimizer.name: expected 'adamw', got {opt['name']!r}")
        groups = param_groups(self.network, lr=opt["lr"], weight_decay=opt["weight_decay"])
        optimizer = torch.optim.AdamW(
            groups,
            lr=opt["lr"],
            betas=tuple(opt["betas"]),
            eps=opt["eps"],
            weight_decay=opt["weight_decay"],
        )
        total_steps = int(self.trainer.estimated_stepping_batches)
        schedulers = build_schedulers(
            optimizer,
            self.hparams.scheduler,
            total_steps=total_steps,
            monitor=self.hparams.monitor,
            mode=self.hparams.monitor_mode,
        )
        return [optimizer], schedulers
