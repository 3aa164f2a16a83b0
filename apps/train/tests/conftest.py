"""Shared fixtures: tiny overrides that make any experiment a few-second run, and dataset
files written in the real on-disk formats (no download)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s4_train.config import find_config_dir

# Small enough for a shared 2-core CPU: one tiny layer, two training batches, no sanity check.
TINY = [
    "model.d_model=8",
    "model.n_layers=1",
    "model.layer.d_state=4",
    "loader.batch_size=4",
    "trainer.accelerator=cpu",
    "trainer.devices=1",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.log_every_n_steps=1",
    "callbacks.progress_bar=none",
    "logger=csv",
]

TINY_COPYING = ["dataset.seq_len=24", "dataset.n_tokens=4", "dataset.n_train=16"]
TINY_COPYING += ["dataset.n_val=8", "dataset.n_test=8"]


@pytest.fixture
def tiny() -> list[str]:
    return list(TINY)


@pytest.fixture
def tiny_copying() -> list[str]:
    return list(TINY) + list(TINY_COPYING)


@pytest.fixture(scope="session")
def config_dir() -> Path:
    return find_config_dir()


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny MNIST / CIFAR-10 / Speech Commands / npz files in their real formats."""
    from s4_tasks import fixtures

    root = tmp_path_factory.mktemp("data")
    fixtures.write_mnist(root / "mnist", n_train=20, n_test=8)
    fixtures.write_cifar10(root, n_per_batch=4)
    fixtures.write_speech_commands(root, n_classes=10, per_word=3, min_samples=4000)
    fixtures.write_npz(root / "mine.npz", n=24, seq_len=16, d=2, n_classes=3)
    return root


def read_metrics(csv_path: Path) -> list[dict[str, str]]:
    with open(csv_path, newline="") as handle:
        return list(csv.DictReader(handle))


def step_losses(csv_path: Path) -> dict[int, float]:
    """train/loss_step by global step (0-based) from a CSVLogger metrics.csv."""
    out = {}
    for row in read_metrics(csv_path):
        if row.get("train/loss_step"):
            out[int(row["step"])] = float(row["train/loss_step"])
    return out


@pytest.fixture
def losses_by_step():
    return step_losses


def run_cli(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """``s4-train args...`` in a fresh process (the console script of this venv)."""
    exe = Path(sys.executable).with_name("s4-train")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "s4_train.cli"]
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        cmd + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def cli():
    return run_cli
