"""Config tree discovery and the semantic checks of validate()."""

from __future__ import annotations

import shutil

import pytest

from s4_train import CONFIG_DIR_ENV, ConfigError, compose_config, find_config_dir, validate
from s4_train.config import metric_names, resolve_monitor


def test_checkout_config_tree_is_found() -> None:
    path = find_config_dir()
    assert (path / "config.yaml").is_file()
    assert (path / "experiment" / "copying-s4d.yaml").is_file()


def test_env_var_overrides_the_config_tree(config_dir, tmp_path, monkeypatch) -> None:
    tree = tmp_path / "my-configs"
    shutil.copytree(config_dir, tree)
    text = (tree / "experiment" / "copying-s4d.yaml").read_text()
    (tree / "experiment" / "copying-s4d.yaml").write_text(
        text.replace("n_layers: 2", "n_layers: 7")
    )
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tree))
    assert find_config_dir() == tree.resolve()
    assert compose_config([]).model.n_layers == 7


def test_env_var_pointing_nowhere_is_an_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    with pytest.raises(ConfigError, match=CONFIG_DIR_ENV):
        find_config_dir()


def test_npz_without_a_path_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"dataset\.path"):
        validate(compose_config(["experiment=npz"]))


def test_missing_resume_checkpoint_names_the_key(tmp_path) -> None:
    cfg = compose_config([f"train.ckpt={tmp_path / 'nope.ckpt'}"])
    with pytest.raises(ConfigError, match=r"train\.ckpt"):
        validate(cfg)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("task.metrics=[accuracy,f1]", "task.metrics"),
        ("model.d_model=0", "model.d_model"),
        ("loader.batch_size=0", "loader.batch_size"),
        ("model.dropout=1.5", "model.dropout"),
        ("optimizer.lr=0", "optimizer.lr"),
    ],
)
def test_unusable_values_name_the_key(override, key) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(compose_config([override]))


def test_default_config_validates() -> None:
    validate(compose_config([]))


def test_metric_defaults_follow_the_output_kind() -> None:
    cfg = compose_config([])
    assert "accuracy" in metric_names(cfg, "class")
    assert metric_names(cfg, "regression") == ["mse"]
    cfg = compose_config(["task.metrics=[bits_per_dim]"])
    assert metric_names(cfg, "class") == ["bits_per_dim"]


def test_resolve_monitor() -> None:
    assert resolve_monitor("auto", "auto", "class") == ("val/accuracy", "max")
    assert resolve_monitor("auto", "auto", "seq_class") == ("val/accuracy", "max")
    assert resolve_monitor("auto", "auto", "regression") == ("val/loss", "min")
    assert resolve_monitor("val/mse", "auto", "regression") == ("val/mse", "min")
    with pytest.raises(ConfigError, match="mode"):
        resolve_monitor("val/loss", "up", "class")
