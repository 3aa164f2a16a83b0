"""The LightningModule: loss, per-split metrics, AdamW with SSM param groups, schedulers.

Logged per split s in {train, val, test}: ``s/loss`` (the training loss from
``s4_tasks.metrics.loss_for(output_kind)``) and ``s/<metric>`` for each name of ``task.metrics``
(``s4_tasks.metrics.METRICS``), averaged over the epoch weighted by batch size and synchronised
across DDP processes; the training loss's epoch mean is ``train/loss_epoch``. The training loss
of a step, ``train/loss_step``, goes to the loggers on the steps they write
(``trainer.log_every_n_steps``) and to the progress bar on every step (``last_train_loss``, read
by :mod:`s4_train.callbacks`' progress bars).

Epoch means are kept in :class:`~s4_train.epoch_metrics.BatchWeightedMean` accumulators (one
tensor add per batch) and logged once at each epoch end, and the step loss is only handed to
``self.log`` on the steps a logger writes: a ``self.log`` call costs ~0.4 ms of Lightning
bookkeeping (and a collective under DDP with ``sync_dist``), a measurable share of an epoch on
short sequences (a few ms per step).
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch

from s4_train.config import check_metric_names
from s4_train.epoch_metrics import BatchWeightedMean
from s4_train.lm_metrics import EPOCH_TRANSFORMS, MeanCrossEntropyTransform
from s4_train.network import build_network
from s4_train.schedulers import build_schedulers
from s4_train.spec import DataSpec


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
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        from s4_tasks.metrics import METRICS, loss_for

        self.save_hyperparameters()
        self.spec = DataSpec(**spec)
        self.network = build_network(model, task, self.spec)
        self.loss_fn = loss_for(self.spec.output_kind)
        check_metric_names(metrics)
        mode = (state or {}).get("mode", "reset")
        self.state_mode = str(getattr(mode, "name", mode))
        if self.state_mode != "reset" and not hasattr(self.network.backbone, "default_state"):
            raise ValueError(
                f"train.state.mode: expected model.backbone=sequence_model for "
                f"{self.state_mode!r} (a forward-with-state path), got another backbone"
            )
        self._carried: dict[str, Any] = {}  # split -> state after the previous batch
        self.lm_metrics = torch.nn.ModuleDict(
            {
                f"{split}_{name}": MeanCrossEntropyTransform(name)
                for split in ("train", "val", "test")
                for name in metrics
                if name in EPOCH_TRANSFORMS
            }
        )
        self.metric_fns = {name: METRICS[name] for name in metrics}
        # "<split>_<name>" -> its epoch mean
        self.epoch_means = torch.nn.ModuleDict(
            {
                f"{split}_{name}": BatchWeightedMean()
                for split in ("train", "val", "test")
                for name in ("loss", *metrics)
                if name not in EPOCH_TRANSFORMS
            }
        )
        self.last_train_loss: torch.Tensor | None = None  # the latest step's, detached

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, d_input) or (B, L) -> (B, d_output) or (B, l_output, d_output)."""
        return self.network(x)

    def _forward_carrying_state(self, x: torch.Tensor, split: str) -> torch.Tensor:
        """Start from the state the previous batch of ``split`` ended in (zero at the epoch
        start) and keep this batch's final state, detached, for the next batch.

        x (B, L): one chunk (tbptt, and evaluation in every stateful mode) -> out (B, ...).
        x (K, B, L): bptt, K consecutive chunks run in order with the state carried attached
        (gradients flow from chunk k into chunks < k) -> outs concatenated (K * B, ...).
        """
        from s4_train.stateful import detach_state

        chunks = x if x.dim() == 3 and self.state_mode == "bptt" else x[None]
        state = self._carried.get(split)
        if state is None:
            state = self.network.backbone.default_state(chunks.shape[1], device=x.device)
        outs = []
        for chunk in chunks:
            out, state = self.network.forward_with_state(chunk, state)
            outs.append(out)
        self._carried[split] = detach_state(state)
        return outs[0] if len(outs) == 1 else torch.cat(outs)

    def _reset_state(self, split: str) -> None:
        self._carried.pop(split, None)

    def on_train_epoch_start(self) -> None:
        self._reset_state("train")

    def on_validation_epoch_start(self) -> None:
        self._reset_state("val")

    def on_test_epoch_start(self) -> None:
        self._reset_state("test")

    def _log_epoch_means(self, split: str) -> None:
        """Log and reset the epoch means of ``split`` (``compute`` sums value and weight over
        DDP processes, so the mean is over every sample of the epoch)."""
        for key, mean in self.epoch_means.items():
            if not key.startswith(f"{split}_"):
                continue
            if mean.update_called:
                name = key[len(split) + 1 :]
                # train/loss_epoch: the name Lightning gave it (next to train/loss_step)
                suffix = "_epoch" if key == "train_loss" else ""
                self.log(
                    f"{split}/{name}{suffix}",
                    mean.compute(),
                    prog_bar=name in ("loss", "accuracy"),
                    sync_dist=True,  # already global (a mean of equal values): no DDP warning
                )
            mean.reset()
        for key, metric in self.lm_metrics.items():
            if key.startswith(f"{split}_"):
                if metric.update_called:  # compute() sums over DDP processes first
                    self.log(f"{split}/{key[len(split) + 1 :]}", metric.compute(), sync_dist=True)
                metric.reset()

    def on_train_epoch_end(self) -> None:
        self._log_epoch_means("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_means("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_means("test")

    def _step(self, batch: Any, split: str) -> torch.Tensor:
        x, y, *rest = batch  # (x, y) or (x, y, lengths) for padded token tasks
        if self.state_mode != "reset":
            out = self._forward_carrying_state(x, split)
            y = y.flatten(0, 1) if y.dim() == 3 else y  # bptt: (K, B, L) -> (K * B, L)
        else:
            out = self.network(x, *rest)
        loss = self.loss_fn(out, y)
        batch_size = int(y.shape[0])  # rows (K * B for bptt)
        self.epoch_means[f"{split}_loss"].update(loss.detach(), batch_size)
        if split == "train":
            self.last_train_loss = loss.detach()
            if self._loggers_write_this_step():
                self.log(
                    "train/loss_step",
                    loss,
                    on_step=True,
                    on_epoch=False,
                    batch_size=batch_size,
                    sync_dist=True,  # the mean over DDP processes (a no-op on one process)
                )
        with torch.no_grad():
            for name, fn in self.metric_fns.items():
                if name in EPOCH_TRANSFORMS:  # of the token-weighted epoch-mean cross-entropy
                    self.lm_metrics[f"{split}_{name}"].update(out.detach(), y)
                    continue
                # the loss itself when the metric is the loss function (cross_entropy for
                # classification): the same value, without a second pass over the logits
                value = loss.detach() if fn is self.loss_fn else fn(out.detach(), y)
                self.epoch_means[f"{split}_{name}"].update(value.float(), batch_size)
        return loss

    def _loggers_write_this_step(self) -> bool:
        """Whether Lightning hands this training step's logged values to the loggers (every
        ``trainer.log_every_n_steps`` steps); True outside a trainer. Every DDP process gets
        the same answer, so the ``sync_dist`` collective stays matched."""
        trainer = self._trainer
        connector = getattr(trainer, "_logger_connector", None)
        if connector is None:
            return True
        return bool(connector.should_update_logs or trainer.fast_dev_run)  # as Lightning's

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "test")

    def configure_optimizers(self) -> tuple[list[torch.optim.Optimizer], list[dict[str, Any]]]:
        from s4_train.optimizers import build_optimizer

        optimizer = build_optimizer(self.network, self.hparams.optimizer)
        total_steps = int(self.trainer.estimated_stepping_batches)
        schedulers = build_schedulers(
            optimizer,
            self.hparams.scheduler,
            total_steps=total_steps,
            monitor=self.hparams.monitor,
            mode=self.hparams.monitor_mode,
        )
        return [optimizer], schedulers
