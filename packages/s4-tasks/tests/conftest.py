"""Shared fixtures: tiny datasets in the real on-disk formats, written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from s4_tasks import fixtures


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    return fixtures.write_mnist(tmp_path / "mnist", n_train=20, n_test=10, gz=True, seed=1)


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    return fixtures.write_cifar10(tmp_path, n_per_batch=4, seed=2)


@pytest.fixture
def sc_root(tmp_path: Path) -> Path:
    return fixtures.write_speech_commands(tmp_path, n_classes=10, per_word=3, seed=3)


@pytest.fixture
def npz_path(tmp_path: Path) -> Path:
    return fixtures.write_npz(tmp_path / "arrays.npz", n=20, seq_len=16, n_classes=3, seed=4)
