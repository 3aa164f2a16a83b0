"""Name -> builder registry: ``get_dataset("copying", seq_len=256)``.

Every builder takes keyword-only arguments; ``get_dataset`` checks the names before calling,
so a misspelt key fails with the key named and the accepted ones listed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from s4_tasks.arrays import npz
from s4_tasks.audio import audio_folder, audio_synthetic, sc09
from s4_tasks.base import SequenceDataset
from s4_tasks.cifar import cifar10
from s4_tasks.lm import char, wikitext2, wikitext103
from s4_tasks.lra.aan import aan
from s4_tasks.lra.imdb import imdb
from s4_tasks.lra.listops import listops
from s4_tasks.lra.pathfinder import pathfinder
from s4_tasks.mnist import mnist
from s4_tasks.speech_commands import speech_commands
from s4_tasks.synthetic import adding, copying

DATASETS: dict[str, Callable[..., SequenceDataset]] = {
    "copying": copying,
    "adding": adding,
    "mnist": mnist,
    "cifar10": cifar10,
    "speech_commands": speech_commands,
    "npz": npz,
    "audio_synthetic": audio_synthetic,
    "audio_folder": audio_folder,
    "sc09": sc09,
    "wikitext2": wikitext2,
    "wikitext103": wikitext103,
    "char": char,
    "listops": listops,
    "pathfinder": pathfinder,
    "imdb": imdb,
    "aan": aan,
}


def dataset_kwargs(name: str) -> dict[str, Any]:
    """The keyword arguments of dataset ``name`` with their defaults."""
    builder = _builder(name)
    return {
        p.name: p.default
        for p in inspect.signature(builder).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def _builder(name: str) -> Callable[..., SequenceDataset]:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[name]


def get_dataset(name: str, **kwargs: Any) -> SequenceDataset:
    """Build dataset ``name`` with ``kwargs``; unknown names or kwargs raise ValueError."""
    accepted = dataset_kwargs(name)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"unknown argument(s) {unknown} for dataset {name!r}; accepted: {sorted(accepted)}"
        )
    return _builder(name)(**kwargs)
