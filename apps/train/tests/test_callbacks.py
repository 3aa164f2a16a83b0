"""Callbacks built from the callbacks config section."""

from __future__ import annotations

import pytest
from lightning.pytorch.callbacks import (
    EarlyStopping,
    LearningRateMonitor,
    RichProgressBar,
    TQDMProgressBar,
)

from s4_train.callbacks import build_callbacks
from s4_train.guards import FiniteModelCheckpoint as ModelCheckpoint

BASE = {
    "checkpoint": {
        "enabled": True,
        "monitor": "auto",
        "mode": "auto",
        "save_top_k": 1,
        "save_last": True,
        "dirpath": None,
    },
    "early_stopping": {
        "enabled": False,
        "monitor": "auto",
        "mode": "auto",
        "patience": 3,
        "min_delta": 0.0,
    },
    "progress_bar": "rich",
    "lr_monitor": True,
}


def _by_type(callbacks):
    return {type(c): c for c in callbacks}


def test_default_callbacks(tmp_path) -> None:
    got = _by_type(build_callbacks(BASE, tmp_path, "class", with_logger=True))
    ckpt = got[ModelCheckpoint]
    assert ckpt.monitor == "val/accuracy" and ckpt.mode == "max"
    assert not ckpt.save_last  # last.ckpt: s4_train.guards.LastCheckpoint (every epoch end)
    assert ckpt.dirpath == str(tmp_path / "checkpoints")
    assert RichProgressBar in got and LearningRateMonitor in got and EarlyStopping not in got


def test_regression_monitors_the_loss_and_options_switch(tmp_path) -> None:
    cfg = {
        **BASE,
        "progress_bar": "tqdm",
        "early_stopping": {**BASE["early_stopping"], "enabled": True},
    }
    got = _by_type(build_callbacks(cfg, tmp_path, "regression", with_logger=False))
    assert got[ModelCheckpoint].monitor == "val/loss" and got[ModelCheckpoint].mode == "min"
    assert got[EarlyStopping].monitor == "val/loss" and got[EarlyStopping].patience == 3
    assert TQDMProgressBar in got
    assert LearningRateMonitor not in got  # nothing to log to


def test_everything_off(tmp_path) -> None:
    cfg = {
        **BASE,
        "progress_bar": "none",
        "lr_monitor": False,
        "epoch_timer": False,
        "checkpoint": {**BASE["checkpoint"], "enabled": False},
    }
    assert build_callbacks(cfg, tmp_path, "class", with_logger=True) == []


def test_bad_progress_bar_names_the_key(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"callbacks\.progress_bar"):
        build_callbacks({**BASE, "progress_bar": "fancy"}, tmp_path, "class", True)


def test_bad_ema_decay_names_the_key(tmp_path) -> None:
    cfg = {**BASE, "ema": {"enabled": True, "decay": 1.5, "start_step": 0}}
    with pytest.raises(ValueError, match=r"callbacks\.ema\.decay"):
        build_callbacks(cfg, tmp_path, "class", True)
