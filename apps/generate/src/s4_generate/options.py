"""The options of ``s4-generate`` (everything that is not a training-config override).

``s4-generate [training overrides ...] checkpoint_path=CKPT [option=value ...]`` or
``s4-generate experiment_path=RUN_DIR [option=value ...]``: every ``key=value`` whose key is a
field of :class:`GenerateOptions` is a generation option, every other argument goes to the
training config (Hydra overrides such as ``experiment=audio/sashimi-synthetic``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

DECODES = ("auto", "audio", "text", "none")
SPLITS = ("train", "val", "test")


class GenerateError(ValueError):
    """An unusable option, checkpoint or model; the message names the option."""


@dataclass
class GenerateOptions:
    """Generation options.

    checkpoint_path: a Lightning ``.ckpt`` or a plain state-dict ``.pt`` (relative paths are
        looked up in experiment_path first). experiment_path: a run folder (``.hydra/config.yaml``
        or ``config.yaml``; the checkpoint defaults to the best one of results.json, then
        ``checkpoints/last.ckpt``). n_samples: sequences to generate. l_sample: length of
        each output, prefix included (None = the dataset's L). l_prefix: steps of a dataset
        item (split ``split``) used as the prompt; 0 starts from the silence / start token.
        temperature > 0, top_p in (0, 1]: sampling. seed: sampling and prompt choice.
        decode: audio (WAV files at the dataset's rate) | text | none | auto (by the dataset).
        output_dir: where samples go (None = <experiment_path>/generated or
        generated/<name>). batch_size: sequences per batch (None = all). device: cpu | cuda |
        auto. progress: show a progress bar.
    """

    checkpoint_path: str | None = None
    experiment_path: str | None = None
    n_samples: int = 4
    l_sample: int | None = None
    l_prefix: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    decode: str = "auto"
    output_dir: str | None = None
    split: str = "test"
    batch_size: int | None = None
    device: str = "auto"
    progress: bool = True


OPTION_NAMES = tuple(f.name for f in dataclasses.fields(GenerateOptions))


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(generation ``key=value`` items, training overrides)."""
    options, overrides = [], []
    for arg in argv:
        key = arg.split("=", 1)[0]
        (options if "=" in arg and key in OPTION_NAMES else overrides).append(arg)
    return options, overrides


def parse_options(items: Sequence[str]) -> GenerateOptions:
    """``["n_samples=2", ...]`` -> validated :class:`GenerateOptions`."""
    base = OmegaConf.structured(GenerateOptions)
    try:
        merged = OmegaConf.merge(base, OmegaConf.from_dotlist(list(items)))
    except OmegaConfBaseException as err:
        raise GenerateError(f"{err.full_key}: {err.msg}") from None
    options = GenerateOptions(**OmegaConf.to_container(merged))  # type: ignore[arg-type]
    check_options(options)
    return options


def check_options(o: GenerateOptions) -> None:
    """Checks that need no data or model: run before any work."""
    if o.checkpoint_path is None and o.experiment_path is None:
        raise GenerateError(
            "checkpoint_path: expected checkpoint_path=CKPT (with the training flags) or "
            "experiment_path=RUN_DIR, got neither"
        )
    if not (o.temperature > 0 and math.isfinite(o.temperature)):
        raise GenerateError(f"temperature: expected a finite value > 0, got {o.temperature}")
    if not 0 < o.top_p <= 1:
        raise GenerateError(f"top_p: expected a value in (0, 1], got {o.top_p}")
    if o.n_samples < 1:
        raise GenerateError(f"n_samples: expected an integer >= 1, got {o.n_samples}")
    if o.l_prefix < 0:
        raise GenerateError(f"l_prefix: expected an integer >= 0, got {o.l_prefix}")
    # l_sample counts the prompt (or the start token when l_prefix=0): at least one new step
    if o.l_sample is not None and o.l_sample <= max(o.l_prefix, 1):
        raise GenerateError(
            f"l_sample: expected a length > max(l_prefix, 1) = {max(o.l_prefix, 1)} (it "
            f"includes the prefix), got {o.l_sample}"
        )
    if o.batch_size is not None and o.batch_size < 1:
        raise GenerateError(f"batch_size: expected None or an integer >= 1, got {o.batch_size}")
    if o.decode not in DECODES:
        raise GenerateError(f"decode: expected one of {list(DECODES)}, got {o.decode!r}")
    if o.split not in SPLITS:
        raise GenerateError(f"split: expected one of {list(SPLITS)}, got {o.split!r}")
    if o.device not in ("auto", "cpu", "cuda") and not o.device.startswith("cuda:"):
        raise GenerateError(f"device: expected auto, cpu, cuda or cuda:N, got {o.device!r}")
