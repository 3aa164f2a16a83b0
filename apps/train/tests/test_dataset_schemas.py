"""Dataset schemas derived from the s4_tasks registry builders' signatures."""

from __future__ import annotations

import dataclasses
import inspect
import shutil
from pathlib import Path
from typing import Any, Optional

import pytest

from s4_train.config import compose_config
from s4_train.dataset_schemas import config_type, dataset_schema


def _toy(
    *,
    root: str | Path = "data/toy",
    seq_len: int = 16,
    rate: float = 0.5,
    flag: bool = False,
    limit: int | None = None,
    sizes: tuple[int, ...] = (1, 2),
    mode: str = "a",
    required: int,
) -> Any:
    """A toy builder.

    More text."""


def test_schema_mirrors_the_builder_signature() -> None:
    schema = dataset_schema("toy_set", _toy)
    assert schema.__name__ == "ToySetConfig"
    fields = {f.name: f for f in dataclasses.fields(schema)}
    assert list(fields) == [
        "name",
        "root",
        "seq_len",
        "rate",
        "flag",
        "limit",
        "sizes",
        "mode",
        "required",
    ]
    types = {name: f.type for name, f in fields.items()}
    assert types["root"] is str and types["seq_len"] is int and types["rate"] is float
    assert types["flag"] is bool and types["limit"] == Optional[int]  # noqa: UP045
    assert types["sizes"] == list[int]
    made = schema()
    assert made.name == "toy_set" and made.root == "data/toy" and made.sizes == [1, 2]
    assert made.required == "???"  # mandatory: Hydra reports it missing
    assert "A toy builder." in schema.__doc__


@pytest.mark.parametrize(
    ("hint", "expected"),
    [(Path, str), (str | None, Optional[str]), (dict[str, int], Any), (int | str, Any)],  # noqa: UP045
)
def test_config_type_maps_what_omegaconf_cannot_hold(hint, expected) -> None:
    assert config_type(hint) == expected


def test_every_registered_builder_has_its_schema() -> None:
    from s4_tasks.registry import DATASETS
    from s4_train.schema import DATASET_SCHEMAS

    for name, builder in DATASETS.items():
        declared = {f.name for f in dataclasses.fields(DATASET_SCHEMAS[name])} - {"name"}
        params = inspect.signature(builder).parameters.values()
        assert declared == {p.name for p in params if p.kind is p.KEYWORD_ONLY}, name


def test_a_newly_registered_dataset_is_configurable(config_dir, tmp_path, monkeypatch) -> None:
    """A builder added to the registry + configs/dataset/<name>.yaml with
    ``defaults: [schema_<name>, _self_]`` composes, typed, with no s4-train edit."""
    from s4_tasks import registry

    monkeypatch.setitem(registry.DATASETS, "toy_set", _toy)
    tree = tmp_path / "configs"
    shutil.copytree(config_dir, tree)
    (tree / "dataset" / "toy_set.yaml").write_text(
        "defaults:\n  - schema_toy_set\n  - _self_\nseq_len: 32\nrequired: 3\n"
    )
    cfg = compose_config(["dataset=toy_set", "dataset.rate=0.25"], config_dir=tree)
    assert cfg.dataset.seq_len == 32 and cfg.dataset.rate == 0.25 and cfg.dataset.required == 3
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="seq_len"):
        compose_config(["dataset=toy_set", "dataset.seq_len=long"], config_dir=tree)
