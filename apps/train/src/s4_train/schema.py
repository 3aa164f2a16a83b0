"""Typed schemas of the config tree, registered in Hydra's ConfigStore.

Every YAML file under ``configs/<group>/`` starts with ``defaults: [schema_<...>, _self_]``, so
Hydra merges it onto one of these dataclasses in struct mode: a misspelt key
(``model.d_modle=64``) or a value of the wrong type (``trainer.max_epochs=many``) is rejected at
composition time, before any data is read, with the full key named in the message.

Groups and their schemas (``<group>/<name>`` in the ConfigStore):

==========  ==========================================================================
model       ``schema_model`` -> :class:`ModelConfig` (+ :class:`LayerConfig` under ``layer``)
dataset     one schema per dataset: ``schema_copying``, ``schema_adding``, ``schema_mnist``,
            ``schema_cifar10``, ``schema_speech_commands``, ``schema_npz``
task        ``schema_task`` -> :class:`TaskConfig` (encoder, decoder pooling, metrics)
optimizer   ``schema_adamw`` -> :class:`AdamWConfig`
scheduler   ``schema_cosine``, ``schema_plateau``, ``schema_constant``
trainer     ``schema_trainer`` -> :class:`TrainerConfig` (Lightning ``Trainer`` flags)
callbacks   ``schema_callbacks`` -> :class:`CallbacksConfig`
logger      ``schema_logger`` -> :class:`LoggerConfig`
==========  ==========================================================================

The root config (``base_config``) is :class:`Config`; ``loader`` and ``train`` are plain typed
sections of it, not groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

# ----------------------------------------------------------------------------------------------
# Choice sets. OmegaConf checks Enum fields by name and lists the valid names on a mismatch.


class Backbone(Enum):
    """``sequence_model``: s4_layers.SequenceModel of S4Blocks; ``s4d_minimal``: a plain
    residual stack of the pedagogical ``s4_layers.S4D`` layer."""

    sequence_model = "sequence_model"
    s4d_minimal = "s4d_minimal"


class LayerMode(Enum):
    dplr = "dplr"  # S4: diagonal plus low rank state matrix
    diag = "diag"  # S4D: diagonal state matrix


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
class LayerConfig:
    """Keyword arguments of ``s4_layers.S4Block`` (``None`` = the layer's own default).

    With ``model.backbone=s4d_minimal`` only ``d_state`` and ``lr`` are used.
    """

    mode: LayerMode = LayerMode.diag
    d_state: int = 64
    init: str | None = None
    lr: float | None = 0.001
    dt_min: float | None = None
    dt_max: float | None = None
    disc: str | None = None
    real_transform: str | None = None
    imag_transform: str | None = None
    bidirectional: bool | None = None
    channels: int | None = None
    activation: str | None = None
    final_act: str | None = None
    gate: int | None = None
    gate_act: str | None = None
    mult_act: str | None = None


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
    layer: LayerConfig = field(default_factory=LayerConfig)


# ----------------------------------------------------------------------------------------------
# dataset: one schema per s4_tasks dataset; every field but ``name`` is a get_dataset kwarg.


@dataclass
class CopyingConfig:
    name: str = "copying"
    seq_len: int = 200
    n_tokens: int = 10
    vocab: int = 8
    n_train: int = 10000
    n_val: int = 1000
    n_test: int = 1000
    seed: int = 0


@dataclass
class AddingConfig:
    name: str = "adding"
    seq_len: int = 200
    n_train: int = 10000
    n_val: int = 1000
    n_test: int = 1000
    seed: int = 0


@dataclass
class MnistConfig:
    name: str = "mnist"
    root: str = "data/mnist"
    permute: bool = False
    permute_seed: int = 42
    val_split: float = 0.1
    seed: int = 0


@dataclass
class Cifar10Config:
    name: str = "cifar10"
    root: str = "data/cifar-10-batches-py"
    grayscale: bool = False
    normalize: bool = True
    val_split: float = 0.1
    seed: int = 0


@dataclass
class SpeechCommandsConfig:
    name: str = "speech_commands"
    root: str = "data/speech_commands_v0.02"
    n_classes: int = 10
    resample: int | None = None


@dataclass
class NpzConfig:
    """The user's own arrays: ``path`` (a .npz) or ``x_path`` + ``y_path`` (.npy pair).

    ``input_kind`` real | token, ``output_kind`` class | regression; ``n_classes`` / ``vocab``
    None = inferred from the data (max + 1).
    """

    name: str = "npz"
    path: str | None = None
    x_path: str | None = None
    y_path: str | None = None
    val_split: float = 0.1
    test_split: float = 0.1
    seed: int = 0
    input_kind: str = "real"
    output_kind: str = "class"
    n_classes: int | None = None
    vocab: int | None = None


@dataclass
class ListopsConfig:
    name: str = "listops"
    root: str | None = None
    max_length: int = 2000
    min_length: int = 500
    max_depth: int = 10
    max_args: int = 10
    n_train: int = 96000
    n_val: int = 2000
    n_test: int = 2000
    seed: int = 0


@dataclass
class PathfinderConfig:
    name: str = "pathfinder"
    root: str | None = None
    resolution: int = 32
    difficulty: str = "curv_baseline"
    n_samples: int = 20000
    n_distractors: int = 3
    val_split: float = 0.1
    test_split: float = 0.1
    seed: int = 0


@dataclass
class ImdbConfig:
    name: str = "imdb"
    root: str = "data/aclImdb"
    max_length: int = 4096
    val_split: float = 0.1
    seed: int = 0


@dataclass
class AanConfig:
    name: str = "aan"
    root: str = "data/lra_release"
    max_length: int = 4000


DATASET_SCHEMAS: dict[str, type] = {
    "copying": CopyingConfig,
    "adding": AddingConfig,
    "mnist": MnistConfig,
    "cifar10": Cifar10Config,
    "speech_commands": SpeechCommandsConfig,
    "npz": NpzConfig,
    "listops": ListopsConfig,
    "pathfinder": PathfinderConfig,
    "imdb": ImdbConfig,
    "aan": AanConfig,
}

# ----------------------------------------------------------------------------------------------
# task, optimizer, scheduler


@dataclass
class TaskConfig:
    """How data meets the backbone: encoder, decoder pooling, loss and logged metrics.

    ``metrics`` empty = by output kind (``s4_tasks.metrics.METRICS_FOR``: accuracy and
    cross-entropy for classification, mse for regression). Names come from
    ``s4_tasks.metrics.METRICS``.
    """

    encoder: EncoderKind = EncoderKind.auto
    positional: Positional = Positional.none
    pool: Pool = Pool.last
    metrics: list[str] = field(default_factory=list)


@dataclass
class AdamWConfig:
    """AdamW; SSM parameters get their own lr and weight decay 0 (s4_layers.param_groups)."""

    name: str = "adamw"
    lr: float = 0.001
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8


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


SCHEDULER_SCHEMAS: dict[str, type] = {
    "cosine": CosineConfig,
    "plateau": PlateauConfig,
    "constant": ConstantConfig,
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
class CallbacksConfig:
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    progress_bar: ProgressBar = ProgressBar.rich
    lr_monitor: bool = True


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


@dataclass
class TrainLoopConfig:
    """``seed``: seed_everything and the data-order seed. ``ckpt``: resume from this Lightning
    checkpoint (global step, optimizer, scheduler and loops continue). ``test``: evaluate the
    best checkpoint on val and test after fitting. ``num_threads``: torch CPU threads."""

    seed: int = 0
    ckpt: str | None = None
    test: bool = True
    num_threads: int | None = None


@dataclass
class Config:
    name: str = "default"
    model: ModelConfig = MISSING
    dataset: Any = MISSING
    task: TaskConfig = MISSING
    optimizer: AdamWConfig = MISSING
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
    for name, schema in DATASET_SCHEMAS.items():
        cs.store(group="dataset", name=f"schema_{name}", node=schema)
    cs.store(group="task", name="schema_task", node=TaskConfig)
    cs.store(group="optimizer", name="schema_adamw", node=AdamWConfig)
    for name, schema in SCHEDULER_SCHEMAS.items():
        cs.store(group="scheduler", name=f"schema_{name}", node=schema)
    cs.store(group="trainer", name="schema_trainer", node=TrainerConfig)
    cs.store(group="callbacks", name="schema_callbacks", node=CallbacksConfig)
    cs.store(group="logger", name="schema_logger", node=LoggerConfig)
