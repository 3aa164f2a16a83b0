"""Callbacks built from the callbacks config section."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor

from s4_train.callbacks import LiveRichProgressBar, LiveTQDMProgressBar, build_callbacks
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
    assert LiveRichProgressBar in got and LearningRateMonitor in got and EarlyStopping not in got


def test_regression_monitors_the_loss_and_options_switch(tmp_path) -> None:
    cfg = {
        **BASE,
        "progress_bar": "tqdm",
        "early_stopping": {**BASE["early_stopping"], "enabled": True},
    }
    got = _by_type(build_callbacks(cfg, tmp_path, "regression", with_logger=False))
    assert got[ModelCheckpoint].monitor == "val/loss" and got[ModelCheckpoint].mode == "min"
    assert got[EarlyStopping].monitor == "val/loss" and got[EarlyStopping].patience == 3
    assert LiveTQDMProgressBar in got
    assert LearningRateMonitor not in got  # nothing to log to


@pytest.mark.parametrize("bar", [LiveRichProgressBar, LiveTQDMProgressBar])
def test_progress_bars_show_the_latest_step_loss(bar) -> None:
    """The module logs train/loss_step only on the loggers' steps; the bar reads the latest
    step's loss from the module, next to what was logged (here a stale train/loss_step)."""

    from types import SimpleNamespace

    trainer = SimpleNamespace(
        progress_bar_metrics={"train/loss_step": 9.0, "val/accuracy": 0.5}, loggers=[]
    )
    module = SimpleNamespace(last_train_loss=torch.tensor(0.25))
    items = bar().get_metrics(trainer, module)
    assert items["train/loss_step"] == 0.25 and items["val/accuracy"] == 0.5
    module.last_train_loss = None  # no training step yet: what was logged, unchanged
    assert bar().get_metrics(trainer, module)["train/loss_step"] == 9.0
    assert LiveRichProgressBar().refresh_rate == 10


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
