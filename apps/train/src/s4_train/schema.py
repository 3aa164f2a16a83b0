"""Typed schemas of the config tree, registered in Hydra's ConfigStore.

Every YAML file under ``configs/<group>/`` starts with ``defaults: [schema_<...>, _self_]``, so
Hydra merges it onto one of these dataclasses in struct mode: a misspelt key
(``model.d_modle=64``) or a value of the wrong type (``trainer.max_epochs=many``) is rejected at
composition time, before any data is read, with the full key named in the message.

Groups and their schemas (``<group>/<name>`` in the ConfigStore):

==========  ==========================================================================
model       ``schema_model`` -> :class:`ModelConfig` (+ :class:`LayerConfig` under ``layer``)
dataset     one schema per ``s4_tasks.registry.DATASETS`` builder, ``schema_<name>``, derived
            from the builder's keyword-only signature (:mod:`s4_train.dataset_schemas`)
task        ``schema_task`` -> :class:`TaskConfig` (encoder, decoder pooling, metrics)
optimizer   ``schema_adamw``, ``schema_adam``, ``schema_sgd``, ``schema_rmsprop``
scheduler   ``schema_cosine``, ``schema_plateau``, ``schema_constant``
trainer     ``schema_trainer`` -> :class:`TrainerConfig` (Lightning ``Trainer`` flags)
callbacks   ``schema_callbacks`` -> :class:`CallbacksConfig`
logger      ``schema_logger`` -> :class:`LoggerConfig`
==========  ==========================================================================

The root config (``base_config``) is :class:`Config`; ``loader`` and ``train`` are plain typed
sections of it, not groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, make_dataclass
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from s4_train.dataset_schemas import config_type, dataset_schemas

# ----------------------------------------------------------------------------------------------
# Choice sets. OmegaConf checks Enum fields by name and lists the valid names on a mismatch.


class Backbone(Enum):
    """``sequence_model``: s4_layers.SequenceModel of S4Blocks; ``s4d_minimal``: a plain
    residual stack of the pedagogical ``s4_layers.S4D`` layer."""

    sequence_model = "sequence_model"
    s4d_minimal = "s4d_minimal"
    sashimi = "sashimi"  # s4_layers.SaShiMi: multi-scale U-Net of S4 blocks (model.sashimi)


class LayerMode(Enum):
    dplr = "dplr"  # S4: diagonal plus low rank state matrix
    diag = "diag"  # S4D: diagonal state matrix
    lssl = "lssl"  # LSSL: dense HiPPO transition (init = measure), layer.learn 0 | 1 | 2


class EncoderKind(Enum):
    auto = "auto"  # embedding for token inputs, linear for real inputs
    linear = "linear"
    embedding = "embedding"


class Positional(Enum):
    none = "none"
    sinusoidal = "sinusoidal"
    learned = "learned"


class Pool(Enum):
    last = "last"
    mean = "mean"
    sum = "sum"


class ProgressBar(Enum):
    rich = "rich"
    tqdm = "tqdm"
    none = "none"


# ----------------------------------------------------------------------------------------------
# model


@dataclass
class _LayerBase:
    """The ``model.layer`` options whose type or default s4-train sets itself."""

    mode: LayerMode = LayerMode.diag
    d_state: int = 64
    lr: float | None = 0.001


# Constructor arguments the backbone sets (not options) or that are not config values.
_NOT_LAYER_OPTIONS = {"self", "d_model", "transposed", "kernel_kw", "init_kw"}


def _layer_options() -> list[tuple[str, Any, Any]]:
    """Every other keyword of ``s4_layers.S4Block`` and of the SSM kernels it builds
    (``SSMKernelBase``, ``SSMKernelDPLR``, ``SSMKernelDiag``), typed from the signatures and
    defaulting to None (= the layer's own default). New layer options appear here without an
    edit to s4-train."""
    import inspect
    import typing

    import s4_layers

    owners = [s4_layers.S4Block, s4_layers.SSMKernelBase]
    owners += [
        getattr(s4_layers, n)
        for n in ("SSMKernelDPLR", "SSMKernelDiag", "SSMKernelLSSL")
        if hasattr(s4_layers, n)
    ]
    taken = {f.name for f in fields(_LayerBase)} | _NOT_LAYER_OPTIONS
    out: list[tuple[str, Any, Any]] = []
    for owner in owners:
        hints = typing.get_type_hints(owner.__init__)
        for param in inspect.signature(owner.__init__).parameters.values():
            if param.name in taken or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            taken.add(param.name)
            kind = config_type(hints.get(param.name, Any))
            out.append((param.name, kind if kind is Any else Optional[kind], field(default=None)))  # noqa: UP045
    return out


LayerConfig = make_dataclass("LayerConfig", _layer_options(), bases=(_LayerBase,))
LayerConfig.__module__ = __name__
LayerConfig.__doc__ = """Keyword arguments of ``s4_layers.S4Block`` and its SSM kernel (``None`` =
the layer's own default): ``mode``, ``d_state``, ``lr`` typed here, every other keyword derived
from the constructors' signatures (``rank``, ``l_max``, ``backend``, ``dropout``, ``init``, ...).

With ``model.backbone=s4d_minimal`` only ``d_state`` and ``lr`` are used.
"""


@dataclass
class SashimiConfig:
    """``model.backbone=sashimi``: pooling factors (outer first), width factor per level,
    feed-forward expansion (0 = none), U-Net skips. n_layers/dropout are the model's."""

    pool: list[int] = field(default_factory=lambda: [4, 4])
    expand: int = 2
    ff: int = 2
    unet: bool = False


@dataclass
class ModelConfig:
    """encoder -> backbone (B, L, d_model) -> decoder; see ``s4_train.network``."""

    backbone: Backbone = Backbone.sequence_model
    d_model: int = 128
    n_layers: int = 4
    dropout: float = 0.0
    prenorm: bool = True
    norm: str = "layer"
    residual: bool = True
    # s4_layers.SequenceModel options with the original's meaning (see docs/porting.md)
    tie_dropout: bool = False
    n_repeat: int = 1
    track_norms: bool = True
    dropinp: float = 0.0
    drop_path: float = 0.0
    layer: LayerConfig = field(default_factory=LayerConfig)
    sashimi: SashimiConfig = field(default_factory=SashimiConfig)
    # s4_layers.SequenceModel ``pool``: e.g. {stride: 4, expand: 2}; None = no pooling
    pool: dict[str, int] | None = None


# ----------------------------------------------------------------------------------------------
# dataset: one schema per s4_tasks registry builder, derived from its keyword-only signature
# (s4_train.dataset_schemas), e.g. DATASET_SCHEMAS["copying"] is a ``CopyingConfig`` dataclass.

DATASET_SCHEMAS: dict[str, type] = dataset_schemas()

# ----------------------------------------------------------------------------------------------
# task, optimizer, scheduler


@dataclass
class AdaptiveConfig:
    """Adaptive input embeddings and adaptive softmax for word-level LMs (``enabled``): token
    ids sorted by decreasing frequency are cut at ``cutoffs`` into clusters of width
    ``d_model // div_val**i`` (``s4_tasks.AdaptiveInput`` / ``s4_tasks.AdaptiveSoftmax``);
    ``tie_weights`` shares each cluster's output matrix with its input embedding."""

    enabled: bool = False
    cutoffs: list[int] = field(default_factory=list)
    div_val: float = 4.0
    tie_weights: bool = False


@dataclass
class TaskConfig:
    """How data meets the backbone: encoder, decoder pooling, loss and logged metrics.

    ``metrics`` empty = by output kind (``s4_tasks.metrics.METRICS_FOR``: accuracy and
    cross-entropy for classification, mse for regression). Names come from
    ``s4_tasks.metrics.METRICS``.
    """

    encoder: EncoderKind = EncoderKind.auto
    positional: Positional = Positional.none
    pool: Pool = Pool.mean  # why: configs/task/default.yaml
    metrics: list[str] = field(default_factory=list)
    adaptive: AdaptiveConfig = field(default_factory=AdaptiveConfig)


@dataclass
class AdamWConfig:
    """AdamW; SSM parameters get their own lr and weight decay 0 (s4_layers.param_groups)."""

    name: str = "adamw"
    lr: float = 0.001
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    # torch's fused kernel (one op for every parameter instead of ~25 per parameter: several ms
    # a step at small d_model on CPU); None = fused where torch offers it for every parameter
    # (floating tensors on CPU / CUDA), see s4_train.optimizers.build_optimizer
    fused: Optional[bool] = None  # noqa: UP045


@dataclass
class AdamConfig:
    """Adam (L2 weight decay added to the gradient, unlike AdamW's decoupled decay)."""

    name: str = "adam"
    lr: float = 0.001
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    # torch's fused kernel (one op for every parameter instead of ~25 per parameter: several ms
    # a step at small d_model on CPU); None = fused where torch offers it for every parameter
    # (floating tensors on CPU / CUDA), see s4_train.optimizers.build_optimizer
    fused: Optional[bool] = None  # noqa: UP045


@dataclass
class SGDConfig:
    name: str = "sgd"
    lr: float = 0.01
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False


@dataclass
class RMSpropConfig:
    name: str = "rmsprop"
    lr: float = 0.001
    weight_decay: float = 0.0
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0


# torch.optim class for each; every field but ``name`` is passed to it by keyword
OPTIMIZER_SCHEMAS: dict[str, type] = {
    "adamw": AdamWConfig,
    "adam": AdamConfig,
    "sgd": SGDConfig,
    "rmsprop": RMSpropConfig,
}


@dataclass
class CosineConfig:
    """Linear warmup over ``warmup_steps`` then cosine decay to ``min_lr_ratio`` * lr at the
    last step (stepped every optimizer step)."""

    name: str = "cosine"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0


@dataclass
class PlateauConfig:
    """Linear warmup, then multiply lr by ``factor`` after ``patience`` validations without
    improvement of ``monitor`` (``auto`` = the checkpoint's monitor)."""

    name: str = "plateau"
    warmup_steps: int = 0
    factor: float = 0.2
    patience: int = 10
    min_lr: float = 0.0
    monitor: str = "auto"
    mode: str = "auto"


@dataclass
class ConstantConfig:
    """Linear warmup, then a constant lr."""

    name: str = "constant"
    warmup_steps: int = 0


@dataclass
class StepConfig:
    """Linear warmup, then lr * gamma ** (s // step_size) (torch ``StepLR``; s counts optimizer
    steps after warmup)."""

    name: str = "step"
    warmup_steps: int = 0
    step_size: int = 1000
    gamma: float = 0.1


@dataclass
class MultiStepConfig:
    """Linear warmup, then lr * gamma ** (number of milestones <= s) (torch ``MultiStepLR``)."""

    name: str = "multistep"
    warmup_steps: int = 0
    milestones: list[int] = field(default_factory=lambda: [1000, 2000])
    gamma: float = 0.1


@dataclass
class CosineRestartsConfig:
    """Linear warmup, then cosine cycles of ``cycle_steps`` * ``cycle_mult`` ** k steps from lr
    down to ``min_lr`` (absolute) and back (torch ``CosineAnnealingWarmRestarts``)."""

    name: str = "cosine_restarts"
    warmup_steps: int = 0
    cycle_steps: int = 1000
    cycle_mult: int = 1
    min_lr: float = 0.0


SCHEDULER_SCHEMAS: dict[str, type] = {
    "cosine": CosineConfig,
    "plateau": PlateauConfig,
    "constant": ConstantConfig,
    "step": StepConfig,
    "multistep": MultiStepConfig,
    "cosine_restarts": CosineRestartsConfig,
}

# ----------------------------------------------------------------------------------------------
# trainer, callbacks, logger


@dataclass
class TrainerConfig:
    """Passed through to ``lightning.pytorch.Trainer`` (``None`` = Lightning's default).

    Fields typed ``Any`` accept what Lightning accepts (int or float or str) and are checked by
    Lightning itself.
    """

    accelerator: str = "auto"
    devices: Any = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: Any = "32-true"
    max_epochs: int | None = 10
    max_steps: int = -1
    max_time: str | None = None
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    limit_test_batches: Any = None
    val_check_interval: Any = None
    check_val_every_n_epoch: int | None = 1
    num_sanity_val_steps: int | None = None
    log_every_n_steps: int | None = 50
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str | None = None
    accumulate_grad_batches: int = 1
    deterministic: Any = None
    benchmark: bool | None = None
    detect_anomaly: bool = False
    fast_dev_run: Any = False
    overfit_batches: Any = 0.0
    sync_batchnorm: bool = False
    profiler: str | None = None


@dataclass
class CheckpointConfig:
    """``ModelCheckpoint``: best (by ``monitor``) and last. ``auto`` monitor = val/accuracy (max)
    for classification, val/loss (min) otherwise. ``dirpath`` None = <output dir>/checkpoints."""

    enabled: bool = True
    monitor: str = "auto"
    mode: str = "auto"
    save_top_k: int = 1
    save_last: bool = True
    dirpath: str | None = None


@dataclass
class EarlyStoppingConfig:
    enabled: bool = False
    monitor: str = "auto"
    mode: str = "auto"
    patience: int = 10
    min_delta: float = 0.0


@dataclass
class EMAConfig:
    """Exponential moving average of the weights (Lightning's ``EMAWeightAveraging``):
    validation, test and the saved checkpoints use the averaged weights."""

    enabled: bool = False
    decay: float = 0.999
    start_step: int = 0


@dataclass
class CallbacksConfig:
    """``epoch_timer``: log ``time/epoch_seconds``; ``ssm_norms``: log ``ssm_norm/<param>``
    (s4_train.monitors)."""

    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    progress_bar: ProgressBar = ProgressBar.rich
    lr_monitor: bool = True
    epoch_timer: bool = True
    ssm_norms: bool = False
    ema: EMAConfig = field(default_factory=EMAConfig)


@dataclass
class LoggerConfig:
    """Experiment loggers; files go under ``save_dir`` (None = the run's output dir).

    wandb is off by default and imported only when enabled (``pip install s4-train[wandb]``).
    """

    csv: bool = True
    tensorboard: bool = True
    wandb: bool = False
    wandb_project: str = "s4"
    wandb_entity: str | None = None
    wandb_offline: bool = False
    save_dir: str | None = None


# ----------------------------------------------------------------------------------------------
# root sections that are not groups


@dataclass
class LoaderConfig:
    batch_size: int = 64
    eval_batch_size: int | None = None
    num_workers: int = 0
    pin_memory: bool = False
    drop_last: bool = False


class StateMode(Enum):
    reset = "reset"  # each batch from the zero state
    tbptt = "tbptt"  # state carried into the next batch, detached
    bptt = "bptt"  # bptt_batches chunks backpropagated through together, then detached


@dataclass
class StateConfig:
    """Stateful training over token streams (datasets with ``info["streams"]``); see
    :mod:`s4_train.stateful`. ``seq_len``: tokens per batch row of one chunk (the truncation
    length for tbptt). ``bptt_batches``: bptt only, consecutive chunks per optimizer step whose
    gradients flow through the carried state (backpropagation over bptt_batches * seq_len)."""

    mode: StateMode = StateMode.reset
    seq_len: int = 128
    bptt_batches: int = 2


@dataclass
class TrainLoopConfig:
    """``seed``: seed_everything and the data-order seed (>= 0). ``ckpt``: resume from this
    Lightning checkpoint (global step, optimizer, scheduler, loops and data position continue);
    ``last`` = the newest ``checkpoints/last.ckpt`` among the runs of this experiment (sibling
    folders of the output dir). ``test``: evaluate the best checkpoint on val and test after
    fitting. ``num_threads``: torch CPU threads. ``retain_freed_memory``: keep the memory torch
    frees for the next step's tensors instead of returning it to the OS (glibc only; see
    ``s4_layers.retain_freed_memory``: about 2x on a long-sequence CPU step, where page faults
    were half the time). ``nan_guard``: stop at the first non-finite loss, or at non-finite weights
    (checked at each epoch end and before every checkpoint), with exit 3 instead of training
    on."""

    seed: int = 0
    ckpt: str | None = None
    test: bool = True
    num_threads: int | None = None
    retain_freed_memory: bool = True
    nan_guard: bool = True
    continue_run: bool = True
    pretrained: str | None = None
    state: StateConfig = field(default_factory=StateConfig)


@dataclass
class Config:
    name: str = "default"
    model: ModelConfig = MISSING
    dataset: Any = MISSING
    task: TaskConfig = MISSING
    optimizer: Any = MISSING  # one of OPTIMIZER_SCHEMAS, chosen by ``name``
    scheduler: Any = MISSING
    trainer: TrainerConfig = MISSING
    callbacks: CallbacksConfig = MISSING
    logger: LoggerConfig = MISSING
    loader: LoaderConfig = field(default_factory=LoaderConfig)
    train: TrainLoopConfig = field(default_factory=TrainLoopConfig)


def register_configs(store: ConfigStore | None = None) -> None:
    """Register the root schema and every group schema; idempotent."""
    cs = store if store is not None else ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="model", name="schema_model", node=ModelConfig)
    DATASET_SCHEMAS.update(dataset_schemas())  # builders registered since import, too
    for name, schema in DATASET_SCHEMAS.items():
        cs.store(group="dataset", name=f"schema_{name}", node=schema)
    cs.store(group="task", name="schema_task", node=TaskConfig)
    for name, schema in OPTIMIZER_SCHEMAS.items():
        cs.store(group="optimizer", name=f"schema_{name}", node=schema)
    for name, schema in SCHEDULER_SCHEMAS.items():
        cs.store(group="scheduler", name=f"schema_{name}", node=schema)
    cs.store(group="trainer", name="schema_trainer", node=TrainerConfig)
    cs.store(group="callbacks", name="schema_callbacks", node=CallbacksConfig)
    cs.store(group="logger", name="schema_logger", node=LoggerConfig)
