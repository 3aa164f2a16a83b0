"""s4-train: train S4 / S4D sequence models with Lightning, configured by one Hydra tree.

``s4-train experiment=NAME key=value ...`` on the command line; from Python::

    from s4_train import run_experiment
    results = run_experiment(["trainer.max_epochs=1"], output_dir="outputs/try")

Names are imported lazily, so ``s4-train --help`` and config errors do not pay for importing
Lightning.
"""

from __future__ import annotations

import importlib
from typing import Any

from s4_train.__about__ import __version__

_EXPORTS = {
    "CONFIG_DIR_ENV": "s4_train.config",
    "ConfigError": "s4_train.config",
    "compose_config": "s4_train.config",
    "find_config_dir": "s4_train.config",
    "validate": "s4_train.config",
    "Config": "s4_train.schema",
    "register_configs": "s4_train.schema",
    "DataSpec": "s4_train.network",
    "MinimalS4DStack": "s4_train.network",
    "SequenceNetwork": "s4_train.network",
    "build_network": "s4_train.network",
    "LinearWarmup": "s4_train.schedulers",
    "build_schedulers": "s4_train.schedulers",
    "cosine_factor": "s4_train.schedulers",
    "warmup_factor": "s4_train.schedulers",
    "SequenceDataModule": "s4_train.data",
    "SequenceLightningModule": "s4_train.module",
    "run_experiment": "s4_train.run",
    "train": "s4_train.run",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 's4_train' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
