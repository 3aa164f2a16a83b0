"""Experiment loggers from the ``logger`` config section: CSV and TensorBoard (on by default)
and Weights & Biases (off by default; imported only when enabled)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger


def build_loggers(logger: dict[str, Any], output_dir: str | Path, run_name: str) -> list[Logger]:
    """CSV -> <save_dir>/csv/metrics.csv, TensorBoard -> <save_dir>/tensorboard/."""
    save_dir = Path(logger.get("save_dir") or output_dir)
    out: list[Logger] = []
    if logger["csv"]:
        out.append(CSVLogger(save_dir=str(save_dir), name="csv", version=""))
    if logger["tensorboard"]:
        out.append(TensorBoardLogger(save_dir=str(save_dir), name="tensorboard", version=""))
    if logger["wandb"]:
        if importlib.util.find_spec("wandb") is None:
            raise ModuleNotFoundError(
                "logger.wandb=true needs the wandb package: pip install 's4-train[wandb]' "
                "(or set logger.wandb=false)"
            )
        from lightning.pytorch.loggers import WandbLogger

        out.append(
            WandbLogger(
                project=logger["wandb_project"],
                entity=logger.get("wandb_entity"),
                name=run_name,
                save_dir=str(save_dir),
                offline=bool(logger.get("wandb_offline", False)),
            )
        )
    return out
