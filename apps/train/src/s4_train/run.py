"""One training run from a composed config: :func:`train` (used by the CLI, the benchmark and
the tests) and :func:`run_experiment` (compose + train, for Python callers).

Writes into ``output_dir``: ``checkpoints/`` (best + last), ``csv/metrics.csv``,
``tensorboard/``, ``config.yaml`` (the resolved config) and ``results.json`` (final metrics,
wall time, epochs, chance level).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks.progress import ProgressBar
from omegaconf import DictConfig, OmegaConf

from s4_layers import retain_freed_memory
from s4_train.callbacks import build_callbacks
from s4_train.checkpoints import (
    check_resume_compatible,
    claim_run_dir,
    find_last_checkpoint,
    load_checkpoint,
    load_pretrained,
)
from s4_train.config import ConfigError, compose_config, metric_names, resolve_monitor, validate
from s4_train.console import ParameterCount, quiet_console
from s4_train.data import SequenceDataModule
from s4_train.guards import LastCheckpoint, NonFiniteGuard
from s4_train.loggers import build_loggers
from s4_train.module import SequenceLightningModule
from s4_train.monitors import EpochTimer

log = logging.getLogger("s4_train")


def trainer_kwargs(trainer: dict[str, Any]) -> dict[str, Any]:
    """Lightning Trainer flags from the ``trainer`` section; ``None`` = Lightning's default."""
    return {key: value for key, value in trainer.items() if value is not None}


def _plain(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.to_container(cfg[key], resolve=True, enum_to_str=True)


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if torch.as_tensor(v).numel() == 1}


def _is_rank_zero_process() -> bool:
    """False in the worker processes Lightning's DDP launcher starts (they share rank 0's dir)."""
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def _run_of(ckpt_path: str | None) -> Path | None:
    """The run folder of a checkpoint s4-train wrote (``<run>/checkpoints/x.ckpt``), else None."""
    if ckpt_path is None:
        return None
    path = Path(ckpt_path).resolve()
    run = path.parent.parent
    if path.parent.name == "checkpoints" and (run / "config.yaml").is_file():
        return run
    return None


def train(
    cfg: DictConfig,
    output_dir: str | os.PathLike,
    validated: bool = False,
    callbacks: Sequence[pl.Callback] = (),
) -> dict[str, Any]:
    """Fit, then (``train.test``) evaluate the best checkpoint on val and test.

    Returns the results dict also written to ``output_dir/results.json``: ``val`` and ``test``
    metric dicts, ``chance``, ``epochs``, ``global_step``, ``fit_seconds``, ``wall_seconds``,
    ``epoch_seconds`` (each epoch's wall time, see :class:`~s4_train.monitors.EpochTimer`),
    ``best_ckpt``, ``last_ckpt``, ``output_dir`` (``output_dir`` or, when another live run holds
    it, ``output_dir-N``) and ``interrupted`` (the signal number when stopped by SIGINT/SIGTERM:
    ``last_ckpt`` then holds the state at the last finished batch and no evaluation is run).

    ``validated``: ``cfg`` already passed :func:`~s4_train.config.validate`. ``callbacks``:
    Lightning callbacks of the caller's (e.g. a benchmark's timer), run before the config's.

    Raises :class:`~s4_train.config.ConfigError` for an unusable config or checkpoint and
    :class:`~s4_train.guards.TrainingError` for a non-finite loss or weights.
    """
    start = time.perf_counter()
    if not validated:  # the CLI validates before importing Lightning
        validate(cfg)
    ckpt_path = cfg.train.ckpt
    if ckpt_path == "last":
        ckpt_path = str(find_last_checkpoint(Path(output_dir).parent, exclude=output_dir))
    saved = load_checkpoint(ckpt_path) if ckpt_path is not None else None
    previous_run = _run_of(ckpt_path)
    if cfg.train.continue_run and previous_run is not None:
        output_dir = previous_run  # one run: metrics history and best tracking continue
    lock = None
    if _is_rank_zero_process():
        output, lock = claim_run_dir(output_dir)
    else:
        output = Path(output_dir)
        output.mkdir(parents=True, exist_ok=True)
    if cfg.train.num_threads is not None:
        torch.set_num_threads(int(cfg.train.num_threads))
    if cfg.train.retain_freed_memory:  # glibc: no page faults on each step's activations
        retain_freed_memory()
    pl.seed_everything(cfg.train.seed, workers=True, verbose=False)

    state = OmegaConf.to_container(cfg.train.state, resolve=True, enum_to_str=True)
    datamodule = SequenceDataModule(
        _plain(cfg, "dataset"), _plain(cfg, "loader"), cfg.train.seed, state=state
    )
    spec = datamodule.load()
    ckpt_cfg = cfg.callbacks.checkpoint
    monitor, mode = resolve_monitor(ckpt_cfg.monitor, ckpt_cfg.mode, spec.output_kind)
    hparams = dict(
        model=_plain(cfg, "model"),
        task=_plain(cfg, "task"),
        optimizer=_plain(cfg, "optimizer"),
        scheduler=_plain(cfg, "scheduler"),
        spec=dict(spec.__dict__),
        metrics=metric_names(cfg, spec.output_kind),
        monitor=monitor,
        monitor_mode=mode,
        state=state,
    )
    if saved is not None:
        check_resume_compatible(saved, hparams)
    try:
        module = SequenceLightningModule(**hparams)
    except (ValueError, TypeError) as err:  # the layer's own check, e.g. an unknown init
        raise ConfigError(f"model: {err}") from None
    pretrained = None
    if cfg.train.pretrained is not None:
        pretrained = load_pretrained(module, cfg.train.pretrained)
        log.info(
            "pretrained %s: %d tensors loaded; missing %s; unexpected %s; shape mismatch %s",
            cfg.train.pretrained,
            len(pretrained["loaded"]),
            pretrained["missing"] or "none",
            pretrained["unexpected"] or "none",
            pretrained["mismatched"] or "none",
        )
    continuing = saved is not None and output == previous_run
    if continuing:  # our own doing: the run's checkpoints folder is meant to be reused
        warnings.filterwarnings(
            "ignore",
            message=rf"Checkpoint directory {re.escape(str(output / 'checkpoints'))} exists",
        )
    loggers = build_loggers(
        _plain(cfg, "logger"),
        output,
        run_name=cfg.name,
        resume_step=int(saved["global_step"]) if continuing else None,
    )
    extra = list(callbacks)
    callbacks = build_callbacks(
        _plain(cfg, "callbacks"), output, spec.output_kind, with_logger=bool(loggers)
    )
    quiet_console()
    guards: list[pl.Callback] = [ParameterCount()]
    if cfg.train.nan_guard:
        guards.append(NonFiniteGuard())
    last = None
    if ckpt_cfg.enabled and ckpt_cfg.save_last:  # after the best-model checkpoint: see its doc
        last = LastCheckpoint(ckpt_cfg.dirpath or output / "checkpoints")
        callbacks.append(last)
    flags = trainer_kwargs(_plain(cfg, "trainer"))
    trainer = pl.Trainer(
        **flags,
        logger=loggers or False,
        callbacks=extra + guards + callbacks,  # the guard runs before any checkpoint of a step
        default_root_dir=str(output),
        enable_progress_bar=any(isinstance(c, ProgressBar) for c in callbacks),
        enable_checkpointing=bool(ckpt_cfg.enabled),
        enable_model_summary=False,  # s4_train.console.ParameterCount: one line
        use_distributed_sampler=False,  # SequenceDataModule shards with seeded samplers itself
    )
    if trainer.is_global_zero:
        OmegaConf.save(cfg, output / "config.yaml", resolve=True)

    fit_start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    fit_seconds = time.perf_counter() - fit_start
    interrupted = last.interrupted if last is not None else None
    results: dict[str, Any] = {
        "name": cfg.name,
        "dataset": spec.name,
        "output_dir": str(output),
        "resumed_from": ckpt_path,
        "chance": spec.chance,
        "epochs": int(trainer.current_epoch),
        "global_rank": int(trainer.global_rank),
        "world_size": int(trainer.world_size),
        "global_step": int(trainer.global_step),
        "fit_seconds": fit_seconds,
        "monitor": monitor,
        "interrupted": interrupted,
        "pretrained": pretrained,
        "fit_metrics": _scalars(trainer.callback_metrics),
        # each epoch's wall time (EpochTimer; empty when callbacks.epoch_timer is off)
        "epoch_seconds": next(
            (list(c.wall_seconds) for c in callbacks if isinstance(c, EpochTimer)), []
        ),
    }
    checkpoint = trainer.checkpoint_callback
    best = getattr(checkpoint, "best_model_path", "") or None
    results["best_ckpt"] = best
    results["last_ckpt"] = str(last.path) if last is not None and last.path.is_file() else None
    if cfg.train.test and not flags.get("fast_dev_run") and interrupted is None:
        which = best if best else None
        val = trainer.validate(
            module, datamodule=datamodule, ckpt_path=which, verbose=False, weights_only=True
        )
        test = trainer.test(
            module, datamodule=datamodule, ckpt_path=which, verbose=False, weights_only=True
        )
        results["val"] = _scalars(val[0]) if val else {}
        results["test"] = _scalars(test[0]) if test else {}
    results["wall_seconds"] = time.perf_counter() - start
    if trainer.is_global_zero:
        (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if lock is not None:
        lock.close()
    return results


def run_experiment(
    overrides: Sequence[str] = (),
    output_dir: str | os.PathLike = "outputs/run",
    config_dir: str | os.PathLike | None = None,
    callbacks: Sequence[pl.Callback] = (),
) -> dict[str, Any]:
    """``s4-train overrides...`` from Python: compose the config tree, then :func:`train`
    (with the extra Lightning ``callbacks``, if any)."""
    cfg = compose_config(overrides, config_dir=config_dir)
    return train(cfg, output_dir, callbacks=callbacks)
