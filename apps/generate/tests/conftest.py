"""A tiny 8-bit mu-law audio dataset (the contract of s4_tasks' audio datasets: x int64 (L,),
y = x shifted by one, info sample_rate / quantization / bits) registered under the name
``tiny_audio``, and a copy of the config tree that knows it. No download, no real audio."""

from __future__ import annotations

import math
import shutil
import sys
import types
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from s4_tasks import DATASETS, SequenceDataset
from s4_train.config import find_config_dir

MU = 255


def mu_law_encode(x: torch.Tensor) -> torch.Tensor:
    """x in [-1, 1] -> tokens 0..255: q = round((sign(x) ln(1 + mu|x|) / ln(1 + mu) + 1) 127.5)."""
    y = torch.sign(x) * torch.log1p(MU * x.abs()) / math.log1p(MU)
    return torch.round((y + 1) * 127.5).long()


def mu_law_decode(tokens, quantization="mu-law", bits=8) -> torch.Tensor:
    """The closed-form inverse: y = 2 q / 255 - 1, x = sign(y) ((1 + mu)^|y| - 1) / mu."""
    y = torch.as_tensor(tokens).double() / 127.5 - 1
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(MU)) / MU


def tiny_audio(
    *, seq_len: int = 64, n_train: int = 16, n_val: int = 4, n_test: int = 4, seed: int = 0
) -> SequenceDataset:
    g = torch.Generator().manual_seed(seed)

    def split(n: int) -> TensorDataset:
        t = torch.arange(seq_len + 1, dtype=torch.float64)
        freq = 0.02 + 0.2 * torch.rand(n, 1, generator=g, dtype=torch.float64)
        tokens = mu_law_encode(0.8 * torch.sin(2 * math.pi * freq * t))
        return TensorDataset(tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous())

    return SequenceDataset(
        train=split(n_train),
        val=split(n_val),
        test=split(n_test),
        d_input=256,
        d_output=256,
        l_max=seq_len,
        input_kind="token",
        output_kind="seq_class",
        l_output=seq_len,
        name="tiny_audio",
        chance=1 / 256,
        info={"sample_rate": 8000, "quantization": "mu-law", "bits": 8},
    )


@pytest.fixture(scope="session")
def audio_config_tree(tmp_path_factory) -> Path:
    """A copy of configs/ with dataset/tiny_audio.yaml and experiment/tiny-audio.yaml (the
    shipped tree is never touched)."""
    root = tmp_path_factory.mktemp("configs") / "configs"
    shutil.copytree(find_config_dir(), root)
    (root / "dataset" / "tiny_audio.yaml").write_text("name: tiny_audio\nseq_len: 64\n")
    (root / "experiment" / "tiny-audio.yaml").write_text(
        "# @package _global_\n"
        "defaults:\n  - override /model: sashimi\n  - override /dataset: tiny_audio\n"
        "name: tiny-audio\n"
    )
    return root


@pytest.fixture(scope="module")
def audio_env(audio_config_tree):
    """S4_CONFIG_DIR -> the tree above, the builder registered, s4_tasks.audio.decode
    available (the real one when it exists), for one test module only: undone at its end
    so no later module (e.g. the config-coverage tests) sees the extra experiment."""
    mp = pytest.MonkeyPatch()
    mp.setitem(DATASETS, "tiny_audio", tiny_audio)
    mp.setenv("S4_CONFIG_DIR", str(audio_config_tree))
    try:
        import s4_tasks.audio  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("s4_tasks.audio")
        stand_in.decode = mu_law_decode
        mp.setitem(sys.modules, "s4_tasks.audio", stand_in)
    yield audio_config_tree
    mp.undo()


TINY_SASHIMI = [
    "experiment=tiny-audio",
    "model.d_model=8",
    "model.n_layers=1",
    "model.layer.mode=diag",
    "model.layer.d_state=4",
    "model.sashimi.pool=[2,2]",
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
    "callbacks.checkpoint.monitor=val/loss",
    "logger=csv",
    "train.test=false",
]


@pytest.fixture(scope="session")
def tiny_sashimi() -> list[str]:
    """Training overrides of a SaShiMi small enough for a few-second run."""
    return list(TINY_SASHIMI)
