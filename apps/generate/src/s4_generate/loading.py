"""Rebuild a trained network: the config (composed from training flags, or a run folder's),
the dataset it was trained on, the network, and its weights from a checkpoint.

Checkpoints: a Lightning ``.ckpt`` (``state_dict`` with ``network.`` keys, plus the
``hyper_parameters`` the module saved) or a plain state dict ``.pt`` (of the network, or of the
LightningModule). A checkpoint that does not fit the configured network fails with the
missing / unexpected / wrongly shaped parameter names and, for a Lightning checkpoint, the
``model.*`` / ``task.*`` config keys whose values differ.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from s4_generate.options import GenerateError, GenerateOptions

RUN_CONFIGS = (".hydra/config.yaml", "config.yaml")
_SHOWN = 8  # names listed per kind of mismatch


def plain(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.to_container(cfg[key], resolve=True, enum_to_str=True)


def run_config_file(run_dir: Path) -> Path:
    for name in RUN_CONFIGS:
        if (run_dir / name).is_file():
            return run_dir / name
    raise GenerateError(
        f"experiment_path: expected a run folder holding {' or '.join(RUN_CONFIGS)}, got "
        f"{str(run_dir)!r}"
    )


def load_config(options: GenerateOptions, overrides: Sequence[str]) -> DictConfig:
    """The training config: composed from ``overrides`` (way 1) or read from the run folder
    and updated with ``key=value`` overrides (way 2)."""
    from s4_train.config import ConfigError, compose_config, validate
    from s4_train.schema import Config, register_configs

    if options.experiment_path is None:
        try:
            cfg = compose_config(overrides)
            validate(cfg)
        except ConfigError as err:
            raise GenerateError(f"config: {err}") from None
        return cfg
    run_dir = Path(options.experiment_path)
    if not run_dir.is_dir():
        raise GenerateError(f"experiment_path: expected a run folder, got {str(run_dir)!r}")
    register_configs()
    bad = [o for o in overrides if "=" not in o or o.split("=", 1)[0].startswith(("+", "~"))]
    bad += [o for o in overrides if o.split("=", 1)[0] == "experiment"]
    if bad:
        raise GenerateError(
            f"experiment_path: the run's own config is used; expected only key=value updates "
            f"of it, got {bad}"
        )
    try:
        cfg = OmegaConf.merge(
            OmegaConf.structured(Config), OmegaConf.load(run_config_file(run_dir))
        )
        if overrides:
            cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
    except OmegaConfBaseException as err:
        raise GenerateError(f"config: {err.full_key}: {err.msg}") from None
    return cfg  # type: ignore[return-value]


def load_data(cfg: DictConfig):
    """The s4_tasks dataset of ``cfg`` and its DataSpec."""
    from s4_train.data import SequenceDataModule

    module = SequenceDataModule(plain(cfg, "dataset"), plain(cfg, "loader"), cfg.train.seed)
    spec = module.load()
    return module.data, spec


def build_network(cfg: DictConfig, spec) -> nn.Module:
    from s4_train.network import build_network as build

    return build(plain(cfg, "model"), plain(cfg, "task"), spec)


def find_checkpoint(options: GenerateOptions) -> Path:
    """checkpoint_path (relative to experiment_path first), else the run's best checkpoint
    (results.json), else ``checkpoints/last.ckpt``."""
    run_dir = Path(options.experiment_path) if options.experiment_path else None
    if options.checkpoint_path is not None:
        path = Path(options.checkpoint_path)
        if run_dir is not None and not path.is_absolute() and (run_dir / path).is_file():
            path = run_dir / path
        if not path.is_file():
            raise GenerateError(f"checkpoint_path: no such file {str(path)!r}")
        return path
    assert run_dir is not None
    candidates = []
    results = run_dir / "results.json"
    if results.is_file():
        import json

        best = json.loads(results.read_text()).get("best_ckpt")
        if best:
            candidates.append(Path(best))
    candidates += [run_dir / "checkpoints" / "last.ckpt"]
    candidates += sorted((run_dir / "checkpoints").glob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    for path in candidates:
        if path.is_file():
            return path
    raise GenerateError(
        f"checkpoint_path: no checkpoint found in {str(run_dir)!r} (looked for results.json's "
        "best_ckpt and checkpoints/*.ckpt); pass checkpoint_path=FILE"
    )


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: tree}


def _config_differences(hparams: dict, cfg: DictConfig) -> list[str]:
    diffs = []
    for section in ("model", "task"):
        if section not in hparams:
            continue
        saved, current = _flatten(hparams[section], f"{section}."), _flatten(plain(cfg, section))
        current = {f"{section}.{k}": v for k, v in current.items()}
        for key in sorted(set(saved) | set(current)):
            if saved.get(key) != current.get(key):
                diffs.append(f"{key} (checkpoint {saved.get(key)!r}, config {current.get(key)!r})")
    return diffs


def _listed(names: list[str]) -> str:
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return f"{names[:_SHOWN]}{more}"


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict | None]:
    """(network state dict, saved hyper-parameters or None)."""
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise GenerateError(
            f"checkpoint_path: {str(path)!r} is not a readable torch checkpoint (corrupt, "
            f"truncated or not saved by torch): {first}"
        ) from None
    hparams = None
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        hparams = raw.get("hyper_parameters")
        raw = raw["state_dict"]
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise GenerateError(
            f"checkpoint_path: expected a Lightning checkpoint or a state dict of tensors, got "
            f"{type(raw).__name__} in {str(path)!r}"
        )
    if any(k.startswith("network.") for k in raw):  # a LightningModule's state dict
        raw = {k.removeprefix("network."): v for k, v in raw.items() if k.startswith("network.")}
    return raw, hparams


def load_weights(network: nn.Module, path: Path, cfg: DictConfig) -> None:
    """Load the checkpoint into ``network``; names every mismatch when it does not fit."""
    state, hparams = read_checkpoint(path)
    own = network.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)}, network {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if hparams:
            diffs = _config_differences(hparams, cfg)
            if diffs:
                parts.append(f"config keys that differ: {_listed(diffs)}")
        if missing:
            parts.append(f"missing keys {_listed(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_listed(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches {_listed(shapes)}")
        raise GenerateError(
            f"checkpoint_path: {str(path)!r} was trained with another config than the one "
            f"given: {'; '.join(parts)}"
        )
    network.load_state_dict(state)
