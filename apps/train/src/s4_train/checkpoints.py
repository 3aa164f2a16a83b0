"""Checkpoint files and run folders: safe loading, ``train.ckpt=last``, the config a
checkpoint was trained with, and a per-run lock so that two runs never share a folder."""

from __future__ import annotations

import fcntl
import os
import pickle
from pathlib import Path
from typing import IO, Any

import torch

from s4_train.config import ConfigError

LOCK_NAME = ".s4-train.lock"


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` on CPU: tensors and plain values only, never
    arbitrary pickled objects. Raises :class:`ConfigError` for a corrupt or unsafe file."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Unsupported global" not in str(err):  # not a refused object: unreadable bytes
            raise ConfigError(
                f"train.ckpt: checkpoint is corrupt or not a checkpoint: {path} ({err})"
            ) from None
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"train.ckpt: {path} holds objects other than tensors and plain values, refused "
            f"(loaded with weights_only=True: {first}). If you wrote it and trust it, re-save "
            "its state with torch.save in a plain format"
        ) from None
    except (OSError, RuntimeError, EOFError, ValueError) as err:
        raise ConfigError(
            f"train.ckpt: checkpoint is corrupt or truncated: {path} "
            f"({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err) else ''})"
        ) from None


def find_last_checkpoint(runs_dir: str | os.PathLike, exclude: str | os.PathLike) -> Path:
    """The newest ``<run>/checkpoints/last.ckpt`` under ``runs_dir`` (the folder holding this
    experiment's runs), ignoring the run folder ``exclude`` (the new run itself)."""
    runs = Path(runs_dir)
    skip = Path(exclude).resolve()
    found = [p for p in runs.glob("*/checkpoints/last.ckpt") if p.parent.parent.resolve() != skip]
    if not found:
        raise ConfigError(
            f"train.ckpt: expected a previous run with checkpoints/last.ckpt under {runs}, "
            "found none (give the checkpoint path instead)"
        )
    return max(found, key=lambda p: p.stat().st_mtime)


def _flat(node: Any, prefix: str) -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def differing_keys(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``key: checkpoint -> now`` for every leaf that differs between two nested dicts."""
    a, b = _flat(saved, ""), _flat(current, "")
    return [
        f"{key}: {a.get(key, '<absent>')!r} in the checkpoint, {b.get(key, '<absent>')!r} now"
        for key in sorted(set(a) | set(b))
        if a.get(key, "<absent>") != b.get(key, "<absent>")
    ]


def check_resume_compatible(checkpoint: dict[str, Any], current: dict[str, Any]) -> None:
    """Raise naming the config keys whose value changes the network (``model``, ``task`` and
    the data shape) between the checkpoint and this run."""
    saved = checkpoint.get("hyper_parameters", {})
    keys = ("model", "task", "spec")
    diff = differing_keys({k: saved.get(k) for k in keys}, {k: current.get(k) for k in keys})
    if diff:
        raise ConfigError(
            "train.ckpt: the checkpoint's network differs from this config ("
            + "; ".join(diff[:6])
            + ("; ..." if len(diff) > 6 else "")
            + "): resume with the same model/task/dataset settings, or fine-tune instead"
        )


def claim_run_dir(output_dir: str | os.PathLike) -> tuple[Path, IO[str]]:
    """Lock ``output_dir`` for this process (``flock``, released when the process exits,
    even on a crash); if another live run holds it, use ``output_dir-1``, ``-2``, ...

    Returns the folder and the open lock file (keep it open for the run's lifetime).
    """
    base = Path(output_dir)
    for n in range(1000):
        candidate = base if n == 0 else base.with_name(f"{base.name}-{n}")
        candidate.mkdir(parents=True, exist_ok=True)
        handle = open(candidate / LOCK_NAME, "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return candidate, handle
    raise ConfigError(f"output dir: expected a free folder near {base}, all 1000 are in use")


def load_pretrained(module: torch.nn.Module, path: str | os.PathLike) -> dict[str, list[str]]:
    """Fine-tuning start: copy the weights of ``path`` (a Lightning checkpoint or a plain
    ``state_dict`` file, loaded with ``weights_only=True``) into ``module`` where names and
    shapes match; nothing else (optimizer, step, loops) is taken.

    Returns ``{"loaded", "missing", "unexpected", "mismatched"}`` key lists: ``missing`` = in
    the module, not in the file (kept at their init), ``unexpected`` = in the file only,
    ``mismatched`` = same name, different shape (kept at their init).
    """
    saved = load_checkpoint(path)
    weights = saved.get("state_dict", saved) if isinstance(saved, dict) else None
    if not isinstance(weights, dict) or not all(
        isinstance(v, torch.Tensor) for v in weights.values()
    ):
        raise ConfigError(
            f"train.pretrained: expected a checkpoint or a state_dict of tensors, got {path}"
        )
    own = module.state_dict()
    mismatched = sorted(k for k in weights if k in own and own[k].shape != weights[k].shape)
    usable = {k: v for k, v in weights.items() if k in own and k not in mismatched}
    result = module.load_state_dict(usable, strict=False)
    return {
        "loaded": sorted(usable),
        "missing": sorted(k for k in result.missing_keys if k not in mismatched),
        "unexpected": sorted(k for k in weights if k not in own),
        "mismatched": mismatched,
    }
