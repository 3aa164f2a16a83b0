"""One training run from a composed config: :func:`train` (used by the CLI, the benchmark and
the tests) and :func:`run_experiment` (compose + train, for Python callers).

Writes into ``output_dir``: ``checkpoints/`` (best + last), ``csv/metrics.csv``,
``tensorboard/``, ``config.yaml`` (the resolved config) and ``results.json`` (final metrics,
wall time, epochs, chance level).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from omegaconf import DictConfig, OmegaConf

from s4_train.callbacks import build_callbacks
from s4_train.config import compose_config, metric_names, resolve_monitor, validate
from s4_train.data import SequenceDataModule
from s4_train.loggers import build_loggers
from s4_train.module import SequenceLightningModule


def trainer_kwargs(trainer: dict[str, Any]) -> dict[str, Any]:
    """Lightning Trainer flags from the ``trainer`` section; ``None`` = Lightning's default."""
    return {key: value for key, value in trainer.items() if value is not None}


def _plain(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.to_container(cfg[key], resolve=True, enum_to_str=True)


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if torch.as_tensor(v).numel() == 1}


def train(cfg: DictConfig, output_dir: str | os.PathLike) -> dict[str, Any]:
    """Fit, then (``train.test``) evaluate the best checkpoint on val and test.

    Returns the results dict also written to ``output_dir/results.json``: ``val`` and ``test``
    metric dicts, ``chance``, ``epochs``, ``global_step``, ``fit_seconds``, ``wall_seconds``,
    ``best_ckpt``, ``last_ckpt``.
    """
    start = time.perf_counter()
    validate(cfg)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    if cfg.train.num_threads is not None:
        torch.set_num_threads(int(cfg.train.num_threads))
    pl.seed_everything(cfg.train.seed, workers=True, verbose=False)

    datamodule = SequenceDataModule(_plain(cfg, "dataset"), _plain(cfg, "loader"), cfg.train.seed)
    spec = datamodule.load()
    ckpt_cfg = cfg.callbacks.checkpoint
    monitor, mode = resolve_monitor(ckpt_cfg.monitor, ckpt_cfg.mode, spec.output_kind)
    module = SequenceLightningModule(
        model=_plain(cfg, "model"),
        task=_plain(cfg, "task"),
        optimizer=_plain(cfg, "optimizer"),
        scheduler=_plain(cfg, "scheduler"),
        spec=dict(spec.__dict__),
        metrics=metric_names(cfg, spec.output_kind),
        monitor=monitor,
        monitor_mode=mode,
    )
    loggers = build_loggers(_plain(cfg, "logger"), output, run_name=cfg.name)
    callbacks = build_callbacks(
        _plain(cfg, "callbacks"), output, spec.output_kind, with_logger=bool(loggers)
    )
    flags = trainer_kwargs(_plain(cfg, "trainer"))
    trainer = pl.Trainer(
        **flags,
        logger=loggers or False,
        callbacks=callbacks,
        default_root_dir=str(output),
        enable_progress_bar=any(
            type(c).__name__ in ("RichProgressBar", "TQDMProgressBar") for c in callbacks
        ),
        enable_checkpointing=bool(ckpt_cfg.enabled),
        use_distributed_sampler=False,  # SequenceDataModule shards with seeded samplers itself
    )
    if trainer.is_global_zero:
        OmegaConf.save(cfg, output / "config.yaml", resolve=True)

    fit_start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.train.ckpt)
    fit_seconds = time.perf_counter() - fit_start
    results: dict[str, Any] = {
        "name": cfg.name,
        "dataset": spec.name,
        "chance": spec.chance,
        "epochs": int(trainer.current_epoch),
        "global_rank": int(trainer.global_rank),
        "world_size": int(trainer.world_size),
        "global_step": int(trainer.global_step),
        "fit_seconds": fit_seconds,
        "monitor": monitor,
        "fit_metrics": _scalars(trainer.callback_metrics),
    }
    checkpoint = trainer.checkpoint_callback
    best = getattr(checkpoint, "best_model_path", "") or None
    results["best_ckpt"] = best
    results["last_ckpt"] = getattr(checkpoint, "last_model_path", "") or None
    if cfg.train.test and not flags.get("fast_dev_run"):
        which = best if best else None
        val = trainer.validate(module, datamodule=datamodule, ckpt_path=which, verbose=False)
        test = trainer.test(module, datamodule=datamodule, ckpt_path=which, verbose=False)
        results["val"] = _scalars(val[0]) if val else {}
        results["test"] = _scalars(test[0]) if test else {}
    results["wall_seconds"] = time.perf_counter() - start
    if trainer.is_global_zero:
        (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def run_experiment(
    overrides: Sequence[str] = (),
    output_dir: str | os.PathLike = "outputs/run",
    config_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """``s4-train overrides...`` from Python: compose the config tree, then :func:`train`."""
    cfg = compose_config(overrides, config_dir=config_dir)
    return train(cfg, output_dir)
