"""Lightning callbacks from the ``callbacks`` config section: checkpoints (best and last),
early stopping, progress bar (rich, tqdm or none), a learning-rate monitor, epoch timing, SSM
parameter norms and an EMA of the weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    EMAWeightAveraging,
    LearningRateMonitor,
    RichProgressBar,
    TQDMProgressBar,
)

from s4_train.config import resolve_monitor
from s4_train.guards import FiniteModelCheckpoint
from s4_train.monitors import EpochTimer, SSMParameterNorms


def _name(value: Any) -> Any:
    return getattr(value, "name", value)


class _LatestTrainLoss:
    """Show the latest step's training loss (``pl_module.last_train_loss``) as
    ``train/loss_step``: the module hands it to ``self.log`` only on the steps the loggers
    write (:mod:`s4_train.module`), so the logged value would be up to
    ``trainer.log_every_n_steps`` steps old."""

    def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
        items = super().get_metrics(trainer, pl_module)  # type: ignore[misc]
        loss = getattr(pl_module, "last_train_loss", None)
        if loss is not None:
            items["train/loss_step"] = float(loss)
        return items


class LiveRichProgressBar(_LatestTrainLoss, RichProgressBar):
    """Lightning's rich bar, redrawn at most ``refresh_rate`` (10) times a second: drawing
    runs in a thread that competes with training for the interpreter (Lightning's 100 per
    second cost ~2 % of an epoch on 2 cores), and 10 is what the eye follows (and rich's own
    default)."""

    def __init__(self, refresh_rate: int = 10, **kwargs: Any) -> None:
        super().__init__(refresh_rate=refresh_rate, **kwargs)


class LiveTQDMProgressBar(_LatestTrainLoss, TQDMProgressBar):
    """Lightning's tqdm bar, with the latest step's training loss."""


def build_callbacks(
    callbacks: dict[str, Any], output_dir: str | Path, output_kind: str, with_logger: bool
) -> list[Callback]:
    """``with_logger``: a learning-rate monitor needs a logger to write to."""
    out: list[Callback] = []
    ckpt = callbacks["checkpoint"]
    if ckpt["enabled"]:
        monitor, mode = resolve_monitor(ckpt["monitor"], ckpt["mode"], output_kind)
        out.append(
            FiniteModelCheckpoint(
                dirpath=ckpt["dirpath"] or str(Path(output_dir) / "checkpoints"),
                filename="best-epoch{epoch:03d}-step{step}",
                auto_insert_metric_name=False,
                monitor=monitor,
                mode=mode,
                save_top_k=ckpt["save_top_k"],
                save_last=False,  # last.ckpt: s4_train.guards.LastCheckpoint, every epoch end
            )
        )
    stop = callbacks["early_stopping"]
    if stop["enabled"]:
        monitor, mode = resolve_monitor(stop["monitor"], stop["mode"], output_kind)
        out.append(
            EarlyStopping(
                monitor=monitor, mode=mode, patience=stop["patience"], min_delta=stop["min_delta"]
            )
        )
    bar = _name(callbacks["progress_bar"])
    if bar == "rich":
        out.append(LiveRichProgressBar())
    elif bar == "tqdm":
        out.append(LiveTQDMProgressBar())
    elif bar != "none":
        raise ValueError(f"callbacks.progress_bar: expected 'rich', 'tqdm' or 'none', got {bar!r}")
    if callbacks["lr_monitor"] and with_logger:
        out.append(LearningRateMonitor(logging_interval="step"))
    if callbacks.get("epoch_timer", True):
        out.append(EpochTimer())
    if callbacks.get("ssm_norms", False):
        out.append(SSMParameterNorms())
    ema = callbacks.get("ema") or {}
    if ema.get("enabled"):
        decay = float(ema["decay"])
        if not 0.0 < decay < 1.0:
            raise ValueError(f"callbacks.ema.decay: expected a value in (0, 1), got {decay}")
        out.append(EMAWeightAveraging(decay=decay, update_starting_at_step=int(ema["start_step"])))
    return out
