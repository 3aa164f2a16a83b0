"""Where the config tree is found, composing it outside the CLI, and semantic checks.

The config tree is looked up in this order (the first that holds ``config.yaml`` wins):

1. ``$S4_CONFIG_DIR`` (an error if set but not a config tree);
2. the checkout's ``configs/`` when s4-train is installed editable from the repository
   (``<repo>/apps/train/src/s4_train`` -> ``<repo>/configs``);
3. the copy packaged in the wheel (``s4_train/configs``, hatch ``force-include``).

Types and key names are checked by Hydra against :mod:`s4_train.schema` while composing;
:func:`validate` adds the checks a type cannot express (a metric name that exists, a file that
exists, a required path), each raising :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from s4_train.schema import (
    DATASET_SCHEMAS,
    OPTIMIZER_SCHEMAS,
    SCHEDULER_SCHEMAS,
    Config,
    register_configs,
)

CONFIG_DIR_ENV = "S4_CONFIG_DIR"
CONFIG_NAME = "config"


class ConfigError(ValueError):
    """A config value that is well typed but unusable; the message names the key."""


def _is_config_tree(path: Path) -> bool:
    return (path / f"{CONFIG_NAME}.yaml").is_file()


def find_config_dir() -> Path:
    """The config tree to use: ``$S4_CONFIG_DIR``, else the checkout's, else the packaged one."""
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        path = Path(env).expanduser().resolve()
        if not _is_config_tree(path):
            raise ConfigError(
                f"{CONFIG_DIR_ENV}={env!r} is not a config tree: expected a directory holding "
                f"{CONFIG_NAME}.yaml (and model/, dataset/, ... groups)"
            )
        return path
    here = Path(__file__).resolve().parent
    checkout = here.parents[3] / "configs"  # <repo>/apps/train/src/s4_train -> <repo>/configs
    if here.parents[2].name == "apps" and _is_config_tree(checkout):
        return checkout
    packaged = here / "configs"
    if _is_config_tree(packaged):
        return packaged
    raise ConfigError(
        f"no config tree found: set {CONFIG_DIR_ENV} to a directory holding {CONFIG_NAME}.yaml, "
        f"or install s4-train from a checkout (looked in {checkout} and {packaged})"
    )


def compose_config(
    overrides: Sequence[str] = (), config_dir: str | os.PathLike | None = None
) -> DictConfig:
    """Compose the config as ``s4-train overrides...`` would, without running anything.

    Raises hydra's ``ConfigCompositionException`` (message naming the key) on a misspelt key or
    a wrong type, exactly like the CLI.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_configs()
    directory = Path(config_dir).resolve() if config_dir is not None else find_config_dir()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(directory), version_base="1.3"):
        return compose(config_name=CONFIG_NAME, overrides=list(overrides))


def metric_names(cfg: DictConfig, output_kind: str) -> list[str]:
    """``task.metrics`` or, when empty, the defaults for the output kind."""
    names = list(cfg.task.metrics)
    if names:
        return names
    from s4_tasks import metrics

    defaults = getattr(metrics, "METRICS_FOR", {}).get(output_kind)
    if defaults:
        return list(defaults)
    return ["mse"] if output_kind == "regression" else ["accuracy", "cross_entropy"]


def resolve_monitor(monitor: str, mode: str, output_kind: str) -> tuple[str, str]:
    """``auto`` monitor = val/accuracy (max) for classification, val/loss (min) otherwise."""
    if monitor == "auto":
        monitor = "val/loss" if output_kind == "regression" else "val/accuracy"
    if mode == "auto":
        mode = "max" if monitor.endswith(("accuracy", "acc")) else "min"
    if mode not in ("min", "max"):
        raise ConfigError(f"monitor mode: expected 'min', 'max' or 'auto', got {mode!r}")
    return monitor, mode


def _unknown_keys(node: typing.Any, schema: type, prefix: str) -> list[str]:
    """Keys of ``node`` that ``schema`` (a dataclass) does not declare, recursively."""
    hints = typing.get_type_hints(schema)
    declared = {f.name for f in dataclasses.fields(schema)}
    unknown = []
    for key in node:
        full = f"{prefix}{key}"
        if key not in declared:
            unknown.append(full)
        elif dataclasses.is_dataclass(hints[key]) and isinstance(node[key], DictConfig):
            unknown += _unknown_keys(node[key], hints[key], f"{full}.")
    return unknown


def check_keys(cfg: DictConfig) -> None:
    """Reject keys the schemas do not declare, including ones appended with ``+key=value``
    (Hydra lets ``+`` add keys to a typed config; here they would be silently ignored)."""
    unknown = [k for k in cfg if k not in {f.name for f in dataclasses.fields(Config)}]
    hints = typing.get_type_hints(Config)
    for section in (
        "model",
        "task",
        "trainer",
        "callbacks",
        "logger",
        "loader",
        "train",
    ):
        if section in cfg:
            unknown += _unknown_keys(cfg[section], hints[section], f"{section}.")
    dataset_schema = DATASET_SCHEMAS.get(cfg.dataset.get("name"))
    if dataset_schema is not None:
        unknown += _unknown_keys(cfg.dataset, dataset_schema, "dataset.")
    scheduler_schema = SCHEDULER_SCHEMAS.get(cfg.scheduler.get("name"))
    if scheduler_schema is None:
        raise ConfigError(
            f"scheduler.name: expected one of {sorted(SCHEDULER_SCHEMAS)}, "
            f"got {cfg.scheduler.get('name')!r}"
        )
    unknown += _unknown_keys(cfg.scheduler, scheduler_schema, "scheduler.")
    optimizer_schema = OPTIMIZER_SCHEMAS.get(cfg.optimizer.get("name"))
    if optimizer_schema is None:
        raise ConfigError(
            f"optimizer.name: expected one of {sorted(OPTIMIZER_SCHEMAS)}, "
            f"got {cfg.optimizer.get('name')!r}"
        )
    unknown += _unknown_keys(cfg.optimizer, optimizer_schema, "optimizer.")
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown}: not in the schema (misspelt?)")


def check_metric_names(names: list[str]) -> None:
    """Every name in ``task.metrics`` is one of ``s4_tasks.metrics.METRICS``."""
    from s4_tasks.metrics import METRICS

    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ConfigError(f"task.metrics: unknown {unknown}; expected names from {sorted(METRICS)}")


def validate(cfg: DictConfig) -> None:
    """Checks beyond types, run before any data is read. Raises :class:`ConfigError`."""
    from s4_tasks import DATASETS

    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(f"missing mandatory config values: {', '.join(missing)}")
    check_keys(cfg)
    name = cfg.dataset.name
    if name not in DATASETS:
        raise ConfigError(f"dataset.name: expected one of {sorted(DATASETS)}, got {name!r}")
    if name == "npz" and cfg.dataset.path is None and cfg.dataset.x_path is None:
        raise ConfigError(
            "dataset.path: the npz dataset needs a file: add dataset.path=/path/to/data.npz "
            "(or dataset.x_path=... dataset.y_path=... for a .npy pair)"
        )
    check_metric_names(list(cfg.task.metrics))
    ckpt = cfg.train.ckpt
    if ckpt is not None and ckpt != "last" and not Path(ckpt).is_file():
        raise ConfigError(
            f"train.ckpt: expected an existing checkpoint file or 'last', got {ckpt!r}"
        )
    pretrained = cfg.train.pretrained
    if pretrained is not None and not Path(pretrained).is_file():
        raise ConfigError(
            f"train.pretrained: expected an existing weights file, got {pretrained!r}"
        )
    if pretrained is not None and ckpt is not None:
        raise ConfigError(
            "train.pretrained: expected either train.ckpt (resume) or train.pretrained "
            "(fine-tune), got both"
        )
    positive = {
        "model.d_model": cfg.model.d_model,
        "model.n_layers": cfg.model.n_layers,
        "model.layer.d_state": cfg.model.layer.d_state,
        "loader.batch_size": cfg.loader.batch_size,
    }
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"{key}: expected a positive integer, got {value}")
    if not 0.0 <= cfg.model.dropout < 1.0:
        raise ConfigError(f"model.dropout: expected a value in [0, 1), got {cfg.model.dropout}")
    rates = {"optimizer.lr": cfg.optimizer.lr, "model.layer.lr": cfg.model.layer.lr}
    for key, value in rates.items():
        # `not value > 0` is also true for NaN
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ConfigError(f"{key}: expected a positive finite learning rate, got {value}")
    non_negative = {"loader.num_workers": cfg.loader.num_workers, "train.seed": cfg.train.seed}
    for key, value in non_negative.items():
        if value < 0:
            raise ConfigError(f"{key}: expected an integer >= 0, got {value}")
    for key in ("seq_len", "n_train", "n_val", "n_test", "n_tokens", "vocab"):
        value = cfg.dataset.get(key)
        if isinstance(value, int) and value < 1:
            raise ConfigError(f"dataset.{key}: expected a positive integer, got {value}")
    state_mode = str(getattr(cfg.train.state.mode, "name", cfg.train.state.mode))
    if state_mode != "reset":
        if cfg.train.state.seq_len < 1:
            raise ConfigError(
                f"train.state.seq_len: expected a positive integer, got {cfg.train.state.seq_len}"
            )
        if state_mode == "bptt" and cfg.train.state.bptt_batches < 1:
            raise ConfigError(
                "train.state.bptt_batches: expected a positive integer, got "
                f"{cfg.train.state.bptt_batches}"
            )
        positional = str(getattr(cfg.task.positional, "name", cfg.task.positional))
        if positional != "none":
            raise ConfigError(
                f"task.positional: expected none with train.state.mode={state_mode} (a position "
                f"restarts at every chunk), got {positional}"
            )
    check_accelerator(str(cfg.trainer.accelerator))


def check_accelerator(accelerator: str) -> None:
    """``trainer.accelerator`` gpu/cuda/mps must exist on this machine."""
    import torch

    wanted = accelerator.lower()
    if wanted in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"trainer.accelerator: expected an available device, got {accelerator!r} but no "
            "CUDA GPU is visible (use trainer.accelerator=cpu or auto)"
        )
    if wanted == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            f"trainer.accelerator: expected an available device, got {accelerator!r} but MPS "
            "is not available (use trainer.accelerator=cpu or auto)"
        )
