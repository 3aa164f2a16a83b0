"""A quiet console: every log line once, no adverts, third-party noise filtered narrowly.

Under the CLI, Hydra configures the root logger (console + ``<run>/s4-train.log``); Lightning's
own stream handlers would print each of its lines a second time, so they are removed and its
records propagate to Hydra's handlers. Outside Hydra (Python callers, tests) Lightning keeps its
handlers and only the filters apply.
"""

from __future__ import annotations

import logging
import warnings

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

log = logging.getLogger("s4_train")

# Exact messages dropped: an advertisement, and a note about an argument s4-train always sets.
_DROPPED_PREFIXES = ("💡 Tip:",)

# Deprecation warnings raised inside Lightning about torch internals it uses; nothing a user of
# s4-train can act on. Matched on message and module so nothing else is hidden.
_THIRD_PARTY_WARNINGS = [
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", r"lightning\..*"),
]


class _DropAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_DROPPED_PREFIXES)


_FILTER = _DropAdverts()
LIGHTNING_LOGGERS = (
    "lightning",
    "lightning.pytorch",
    "lightning.fabric",
    "lightning_fabric",
    "torchmetrics",
)


def quiet_console() -> None:
    """Idempotent; see the module docstring."""
    root_has_handlers = logging.getLogger().hasHandlers()
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        if root_has_handlers:  # Hydra's handlers print (and file) each record once
            for handler in list(logger.handlers):
                if isinstance(handler, logging.StreamHandler) and not isinstance(
                    handler, logging.FileHandler
                ):
                    logger.removeHandler(handler)
            logger.propagate = True
    for logger in (logging.getLogger(n) for n in ("lightning.pytorch.utilities.rank_zero",)):
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for message, module in _THIRD_PARTY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, module=module)


class ParameterCount(Callback):
    """One log line at fit start instead of Lightning's model-summary table (whose FLOPs column
    reads 0 for FFT convolutions): total, trainable, and SSM parameters (those with their own
    optimizer settings, ``_optim``)."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        params = list(pl_module.parameters())
        total = sum(p.numel() for p in params)
        trainable = sum(p.numel() for p in params if p.requires_grad)
        ssm = sum(p.numel() for p in params if hasattr(p, "_optim"))
        if trainer.is_global_zero:
            log.info(
                "model: %s parameters (%s trainable, %s SSM parameters)",
                f"{total:,}",
                f"{trainable:,}",
                f"{ssm:,}",
            )
