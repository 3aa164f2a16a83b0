"""Typed schemas: every group option composes, and bad keys or types fail naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.core.config_store import ConfigStore
from hydra.errors import ConfigCompositionException

from s4_train import ConfigError, compose_config, validate
from s4_train.schema import DATASET_SCHEMAS, SCHEDULER_SCHEMAS, register_configs

GROUPS = ["model", "dataset", "task", "optimizer", "scheduler", "trainer", "callbacks", "logger"]


def _options(config_dir: Path, group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir / group).glob("*.yaml"))


def test_schemas_are_registered_for_every_group() -> None:
    register_configs()
    repo = ConfigStore.instance().repo
    assert "base_config.yaml" in repo
    for group in GROUPS:
        assert any(name.startswith("schema_") for name in repo[group]), group
    assert {f"schema_{n}.yaml" for n in DATASET_SCHEMAS} <= set(repo["dataset"])
    assert {f"schema_{n}.yaml" for n in SCHEDULER_SCHEMAS} <= set(repo["scheduler"])


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_option_composes_and_is_typed(config_dir, group) -> None:
    options = _options(config_dir, group)
    assert options, group
    for option in options:
        text = (config_dir / group / f"{option}.yaml").read_text()
        assert "schema_" in text, f"{group}/{option}.yaml does not name its schema"
        # "~experiment" drops the default experiment, whose values are for its own options
        cfg = compose_config(["~experiment", f"{group}={option}"])
        assert cfg[group] is not None
        # struct mode: the schema closes the node, so unknown keys cannot slip in
        with pytest.raises(ConfigCompositionException, match=rf"{group}\.not_a_key"):
            compose_config(["~experiment", f"{group}={option}", f"{group}.not_a_key=1"])


@pytest.mark.parametrize(
    ("override", "key", "detail"),
    [
        ("model.d_modle=64", "model.d_modle", "not in 'ModelConfig'"),
        ("dataset.seq_lne=64", "dataset.seq_lne", "seq_lne"),
        ("trainer.max_epoch=3", "trainer.max_epoch", "max_epoch"),
        ("optimizer.learning_rate=0.1", "optimizer.learning_rate", "learning_rate"),
    ],
)
def test_misspelt_key_fails_naming_it(override, key, detail) -> None:
    with pytest.raises(ConfigCompositionException) as info:
        compose_config([override])
    text = f"{info.value} {info.value.__cause__}"
    assert key in text and detail in text


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("trainer.max_epochs=many", "trainer.max_epochs"),
        ("model.d_model=1.5", "model.d_model"),
        ("optimizer.lr=fast", "optimizer.lr"),
        ("dataset.seq_len=long", "dataset.seq_len"),
        ("loader.batch_size=[1,2]", "loader.batch_size"),
    ],
)
def test_wrong_type_fails_naming_the_key(override, key) -> None:
    with pytest.raises(ConfigCompositionException) as info:
        compose_config([override])
    assert key in f"{info.value} {info.value.__cause__}"


def test_invalid_choice_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigCompositionException) as info:
        compose_config(["model.layer.mode=dense"])
    cause = str(info.value.__cause__)
    assert "model.layer.mode" in cause and "dplr" in cause and "diag" in cause


def test_typed_values_are_converted() -> None:
    cfg = compose_config(["trainer.max_epochs=3", "optimizer.lr=2e-3", "dataset.seq_len=64"])
    assert cfg.trainer.max_epochs == 3 and isinstance(cfg.trainer.max_epochs, int)
    assert cfg.optimizer.lr == pytest.approx(2e-3)
    assert cfg.dataset.seq_len == 64


def test_appended_unknown_key_is_rejected_before_training() -> None:
    # Hydra lets "+key=value" add keys even to typed nodes; validate() refuses them
    cfg = compose_config(["+model.d_modle=3"])
    with pytest.raises(ConfigError, match=r"model\.d_modle"):
        validate(cfg)
    cfg = compose_config(["+dataset.lenght=3"])
    with pytest.raises(ConfigError, match=r"dataset\.lenght"):
        validate(cfg)


def test_experiment_switches_dataset_schema() -> None:
    cfg = compose_config(["experiment=smnist-s4d"])
    assert cfg.dataset.name == "mnist" and cfg.dataset.permute is False
    with pytest.raises(ConfigCompositionException, match=r"dataset\.seq_len"):
        compose_config(["experiment=smnist-s4d", "dataset.seq_len=3"])


def test_layer_and_model_options_follow_the_constructors(tiny_copying, tmp_path) -> None:
    """Every keyword of S4Block / the SSM kernels / SequenceModel is a config key (derived or
    checked), and a derived one reaches the layer: model.layer.rank=2 builds rank-2 DPLR."""
    import dataclasses
    import inspect

    import s4_layers
    from s4_train import run_experiment
    from s4_train.schema import LayerConfig, ModelConfig

    layer_keys = {f.name for f in dataclasses.fields(LayerConfig)}
    for owner in (s4_layers.S4Block, s4_layers.SSMKernelBase):
        params = inspect.signature(owner.__init__).parameters.values()
        wanted = {p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD}
        assert wanted - {"self", "d_model", "transposed", "init_kw"} <= layer_keys, owner
    for key in ("rank", "l_max", "backend", "dropout"):
        assert key in layer_keys
    params = inspect.signature(s4_layers.SequenceModel.__init__).parameters
    model_keys = {f.name for f in dataclasses.fields(ModelConfig)}
    assert set(params) - {"self", "transposed"} <= model_keys
    overrides = [*tiny_copying, "model.layer.mode=dplr", "model.layer.rank=2", "train.test=false"]
    results = run_experiment([*overrides, "trainer.max_steps=1"], output_dir=tmp_path)
    state = torch.load(results["last_ckpt"], weights_only=True)["state_dict"]
    low_rank = [v for k, v in state.items() if k.endswith(".P")]
    assert low_rank and all(v.shape[0] == 2 for v in low_rank), [v.shape for v in low_rank]


def test_trainer_config_matches_lightning_trainer_signature() -> None:
    """TrainerConfig is passed to lightning.Trainer as keyword arguments: every field must be a
    Trainer parameter (so it can never drift into a TypeError) and its default must be
    Lightning's unless the field's comment/docstring says why it differs."""
    import dataclasses
    import inspect

    import lightning.pytorch as pl

    from s4_train.schema import TrainerConfig

    params = inspect.signature(pl.Trainer.__init__).parameters
    ours = {f.name: f.default for f in dataclasses.fields(TrainerConfig)}
    assert set(ours) <= set(params), set(ours) - set(params)
    # defaults that differ on purpose (None means "Lightning's default", passed as absent)
    deliberate = {"max_epochs", "log_every_n_steps", "precision", "gradient_clip_val"}
    for name, default in ours.items():
        if default is None or name in deliberate:
            continue
        assert default == params[name].default, (name, default, params[name].default)
