"""Loggers from the logger config section; wandb is only imported when enabled."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from s4_train.loggers import build_loggers

BASE = {
    "csv": True,
    "tensorboard": True,
    "wandb": False,
    "wandb_project": "s4",
    "wandb_entity": None,
    "wandb_offline": True,
    "save_dir": None,
}


def test_csv_and_tensorboard_by_default(tmp_path) -> None:
    loggers = build_loggers(BASE, tmp_path, run_name="t")
    assert [type(x) for x in loggers] == [CSVLogger, TensorBoardLogger]
    assert loggers[0].log_dir.rstrip("/") == str(tmp_path / "csv")
    assert "wandb" not in sys.modules or importlib.util.find_spec("wandb") is not None


def test_save_dir_and_switches(tmp_path) -> None:
    loggers = build_loggers(
        {**BASE, "tensorboard": False, "save_dir": str(tmp_path / "logs")}, tmp_path, run_name="t"
    )
    assert len(loggers) == 1 and loggers[0].log_dir.startswith(str(tmp_path / "logs"))
    assert build_loggers({**BASE, "csv": False, "tensorboard": False}, tmp_path, "t") == []


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed")
def test_wandb_without_the_package_says_how_to_install(tmp_path) -> None:
    with pytest.raises(ModuleNotFoundError, match=r"s4-train\[wandb\]"):
        build_loggers({**BASE, "wandb": True}, tmp_path, run_name="t")
