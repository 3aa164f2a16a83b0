"""Experiment loggers from the ``logger`` config section: CSV and TensorBoard (on by default)
and Weights & Biases (off by default; imported only when enabled).

A resumed run continues its metrics history: :class:`ContinuingCSVLogger` keeps the rows of
``csv/metrics.csv`` logged before the checkpoint's step and appends after them (Lightning's
own CSV logger deletes the file), TensorBoard adds an event file to the same folder.
"""

from __future__ import annotations

import csv
import importlib.util
import os
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class _ContinuingWriter(ExperimentWriter):
    """Keeps the existing rows with ``step < keep_before_step`` (those the checkpoint
    includes; later ones are logged again by the resumed run) and the file's header."""

    def __init__(self, log_dir: str, keep_before_step: int) -> None:
        self.keep_before_step = keep_before_step
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:
        if not os.path.isfile(self.metrics_file_path):
            return
        with open(self.metrics_file_path, newline="") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = [r for r in reader if r.get("step") and int(r["step"]) < self.keep_before_step]
        with open(self.metrics_file_path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
        self.metrics_keys = sorted(header)


class ContinuingCSVLogger(CSVLogger):
    """``CSVLogger`` that continues an existing ``metrics.csv`` (see the module docstring)."""

    def __init__(self, *args: Any, keep_before_step: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keep_before_step = keep_before_step

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(self.log_dir, self.keep_before_step)
        return self._experiment


def build_loggers(
    logger: dict[str, Any],
    output_dir: str | Path,
    run_name: str,
    resume_step: int | None = None,
) -> list[Logger]:
    """CSV -> <save_dir>/csv/metrics.csv, TensorBoard -> <save_dir>/tensorboard/.

    ``resume_step``: the global step of the checkpoint this run resumes in place; the CSV
    history before it is kept.
    """
    save_dir = Path(logger.get("save_dir") or output_dir)
    out: list[Logger] = []
    if logger["csv"] and resume_step is not None:
        out.append(
            ContinuingCSVLogger(
                save_dir=str(save_dir), name="csv", version="", keep_before_step=resume_step
            )
        )
    elif logger["csv"]:
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
