"""Dataset schemas derived from the s4_tasks registry: one typed dataclass per builder.

Every builder in ``s4_tasks.registry.DATASETS`` takes keyword-only arguments with type
annotations and defaults; :func:`dataset_schema` turns that signature into the dataclass Hydra
checks ``configs/dataset/<name>.yaml`` against (``defaults: [schema_<name>, _self_]``). A
dataset added to the registry is therefore configurable without editing s4-train: the field
names, types and defaults are the builder's own (one source of truth).

Types OmegaConf cannot hold are mapped: ``Path`` -> ``str`` (builders take either),
``X | None`` -> ``Optional[X]``, sequences -> ``list``, anything else -> ``Any`` (checked by the
builder itself). A keyword without a default becomes a mandatory value (``???``).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import types
import typing
from pathlib import PurePath
from typing import Any, Optional, Union

_SIMPLE = (bool, int, float, str)


def config_type(hint: Any) -> Any:
    """The OmegaConf-representable type for a builder's annotation (see module docstring)."""
    if hint in _SIMPLE:
        return hint
    if isinstance(hint, type) and issubclass(hint, PurePath):
        return str
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        members = typing.get_args(hint)
        present = [a for a in members if a is not type(None)]
        mapped = {config_type(a) for a in present}
        base = mapped.pop() if len(mapped) == 1 else Any
        return Optional[base] if len(present) < len(members) and base is not Any else base  # noqa: UP045  (OmegaConf needs Optional)
    if origin in (list, tuple, collections.abc.Sequence):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        element = config_type(args[0]) if len(set(args)) == 1 else Any
        return list[element] if element in _SIMPLE else list[Any]
    return Any


def _default(value: Any) -> dataclasses.Field:
    if value is inspect.Parameter.empty:
        return dataclasses.field(default="???")  # OmegaConf's MISSING
    if isinstance(value, PurePath):
        return dataclasses.field(default=str(value))
    if isinstance(value, (list, tuple, dict)):
        copy = list(value) if not isinstance(value, dict) else dict(value)
        return dataclasses.field(default_factory=lambda: copy)
    return dataclasses.field(default=value)


def schema_class_name(name: str) -> str:
    """``speech_commands`` -> ``SpeechCommandsConfig`` (named in Hydra's key errors)."""
    return "".join(part.capitalize() for part in name.split("_")) + "Config"


def dataset_schema(name: str, builder: collections.abc.Callable[..., Any]) -> type:
    """A dataclass with ``name`` (= the registry key) and one field per keyword-only argument
    of ``builder``, typed with :func:`config_type` and defaulted from the signature."""
    hints = typing.get_type_hints(builder)
    fields: list[tuple[str, Any, dataclasses.Field]] = [
        ("name", str, dataclasses.field(default=name))
    ]
    for param in inspect.signature(builder).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        fields.append(
            (param.name, config_type(hints.get(param.name, Any)), _default(param.default))
        )
    doc = (inspect.getdoc(builder) or "").split("\n\n")[0]
    schema = dataclasses.make_dataclass(schema_class_name(name), fields)
    schema.__doc__ = f"Keyword arguments of s4_tasks dataset {name!r}. {doc}".strip()
    schema.__module__ = __name__
    return schema


def dataset_schemas() -> dict[str, type]:
    """One schema per registered dataset, in registry order."""
    from s4_tasks.registry import DATASETS

    return {name: dataset_schema(name, builder) for name, builder in DATASETS.items()}
