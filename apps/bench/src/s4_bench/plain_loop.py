"""The plain training loop that ``s4-bench train`` sets against s4-train, and the pairing of
their epochs.

:class:`PlainLoop`: s4-train's network, data, optimiser, lr schedule and clipping in a plain
PyTorch loop, one epoch at a time. :func:`interleaved`: an s4-train run with a plain-loop epoch
(and optionally one of the original's loop, :func:`original_epoch`) before each of its epochs,
so the host's drift is shared by each pair.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any


def _best_after_warmup(seconds: list[float]) -> dict[str, Any]:
    """Best and median epoch time, the first epoch (warm-up: allocator, caches, lazy imports)
    left out when there is more than one."""
    timed = seconds[1:] if len(seconds) > 1 else seconds
    ordered = sorted(timed)
    return {
        "epoch_seconds": list(seconds),
        "seconds_per_epoch_best": ordered[0],
        "seconds_per_epoch_median": ordered[len(ordered) // 2],
        "seconds_per_epoch_mean": sum(timed) / len(timed),
    }


class PlainLoop:
    """The same network, data, batch size, optimiser and lr schedule as the s4-train run
    (built by s4_train's own ``build_network`` / ``build_optimizer`` / ``build_schedulers``),
    trained in a plain loop, one :meth:`epoch` at a time: forward, loss, backward, clip, step,
    then a no-grad pass over val. ``epochs``: the run's length (the lr schedule spans it)."""

    def __init__(self, overrides: list[str], epochs: int) -> None:
        import torch
        from torch.utils.data import DataLoader

        from s4_tasks import get_dataset
        from s4_tasks.metrics import loss_for
        from s4_train import compose_config
        from s4_train.network import DataSpec, build_network
        from s4_train.optimizers import build_optimizer
        from s4_train.schedulers import build_schedulers

        cfg = compose_config(overrides)
        sections = {
            k: _plain(cfg[k])
            for k in ("model", "task", "dataset", "loader", "optimizer", "scheduler")
        }
        seed = int(cfg.train.seed) if "train" in cfg and "seed" in cfg.train else 0
        torch.manual_seed(seed)
        dataset = dict(sections["dataset"])
        data = get_dataset(dataset.pop("name"), **dataset)
        spec = DataSpec.from_dataset(data)
        self.network = build_network(sections["model"], sections["task"], spec)
        self.loss_fn = loss_for(spec.output_kind)
        batch = int(sections["loader"]["batch_size"])
        order = torch.Generator().manual_seed(seed)
        self.train_loader = DataLoader(data.train, batch_size=batch, shuffle=True, generator=order)
        self.val_loader = DataLoader(data.val, batch_size=batch)
        clip = cfg.trainer.get("gradient_clip_val") if "trainer" in cfg else None
        self.clip = float(clip) if clip else None
        limit = cfg.trainer.get("limit_train_batches") if "trainer" in cfg else None
        self.limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else None
        n = len(self.train_loader)
        self.steps_per_epoch = n if self.limit is None else min(self.limit, n)
        self.optimizer = build_optimizer(self.network, sections["optimizer"])
        schedulers = build_schedulers(
            self.optimizer, sections["scheduler"], self.steps_per_epoch * epochs, "val/loss", "min"
        )
        self.per_step = [s["scheduler"] for s in schedulers if s.get("interval") == "step"]
        self.per_epoch = [s["scheduler"] for s in schedulers if s.get("interval") != "step"]

    def epoch(self) -> float:
        """One training epoch and a validation pass; returns its seconds (the two parts:
        :attr:`last_parts`, {"train": s, "val": s})."""
        import torch

        start = time.perf_counter()
        network, loss_fn, optimizer = self.network, self.loss_fn, self.optimizer
        with torch.enable_grad():  # also when called from inside a trainer's hook
            network.train()
            for i, (x, y) in enumerate(self.train_loader):
                if self.limit is not None and i >= self.limit:  # as limit_train_batches does
                    break
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(network(x), y)
                loss.backward()
                if self.clip:
                    torch.nn.utils.clip_grad_norm_(network.parameters(), self.clip)
                optimizer.step()
                for scheduler in self.per_step:
                    scheduler.step()
        trained = time.perf_counter()
        network.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for x, y in self.val_loader:
                total += float(loss_fn(network(x), y)) * len(y)
                count += len(y)
        for scheduler in self.per_epoch:  # plateau: on the val loss, as s4-train monitors it
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(total / max(count, 1))
            else:
                scheduler.step()
        end = time.perf_counter()
        self.last_parts = {"train": trained - start, "val": end - trained}
        return end - start


def plain_loop(overrides: list[str], epochs: int) -> dict[str, Any]:
    """:class:`PlainLoop` for ``epochs`` epochs. Returns every epoch's seconds and the best /
    median / mean after the first (warm-up) epoch."""
    loop = PlainLoop(overrides, epochs)
    times = [loop.epoch() for _ in range(epochs)]
    return {"epochs": epochs, "steps_per_epoch": loop.steps_per_epoch, **_best_after_warmup(times)}


def interleaved(
    overrides: list[str], output_dir: Path, original: Callable[[], None] | None = None
) -> dict[str, Any]:
    """An s4-train run with a plain-loop epoch before each of its epochs, in one process:
    epoch i of each side runs next to the other's, seconds apart, so the host's drift (which
    moves a whole epoch by 15-40 % here, as much as the overhead measured) is shared by the
    pair. The trainer's epoch is timed from the end of the plain epoch before it to the start
    of the next (its validation, checkpoints and logging count; the plain epoch does not).
    ``original``: a function that runs one epoch of the original's plain loop (see
    :func:`original_epoch`), run next to ours before each trainer epoch (the two in turns).

    Returns the run's results, each side's epochs and each pair's ratio (trainer / plain loop,
    and trainer / the original's loop), the first (warm-up) pair left out of ``ratio`` and
    ``ratio_to_original`` (the medians of the pairs' ratios)."""
    import lightning.pytorch as pl

    from s4_train import compose_config, run_experiment

    cfg = compose_config(overrides)
    loop = PlainLoop(overrides, int(cfg.trainer.max_epochs))
    sides: dict[str, Callable[[], float]] = {"plain_loop": loop.epoch}
    if original is not None:
        sides["original"] = partial(_seconds_of, original)

    class PlainEpochsFirst(pl.Callback):
        def __init__(self) -> None:
            self.seconds: dict[str, list[float]] = {"trainer": [], **{k: [] for k in sides}}
            # where each side's epoch went: training batches, validation, the rest (trainer:
            # its epoch-end checkpoints and logging, from validation's end to the next epoch)
            self.parts: dict[str, list[dict[str, float]]] = {"trainer": [], "plain_loop": []}
            self._start: float | None = None
            self._marks: dict[str, float] = {}

        def _close(self) -> None:
            if self._start is not None:
                now = time.perf_counter()
                self.seconds["trainer"].append(now - self._start)
                val_start = self._marks.get("val_start", now)
                val_end = self._marks.get("val_end", val_start)
                self.parts["trainer"].append(
                    {
                        "train": val_start - self._start,
                        "val": val_end - val_start,
                        "rest": now - val_end,
                    }
                )
                self._start = None

        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self._close()
            names = list(sides)
            shift = len(self.seconds["plain_loop"]) % len(names)  # rotated: none always first
            for name in names[shift:] + names[:shift]:
                self.seconds[name].append(sides[name]())
            self.parts["plain_loop"].append(dict(loop.last_parts))
            self._marks = {}
            self._start = time.perf_counter()

        def on_validation_start(self, trainer, pl_module) -> None:
            if self._start is not None:  # not the sanity check before the first epoch
                self._marks["val_start"] = time.perf_counter()

        def on_validation_end(self, trainer, pl_module) -> None:
            if self._start is not None:
                self._marks["val_end"] = time.perf_counter()

        def on_train_end(self, trainer, pl_module) -> None:
            self._close()

    timer = PlainEpochsFirst()
    results = run_experiment(overrides, output_dir=output_dir, callbacks=[timer])
    n = len(timer.seconds["trainer"])
    seconds = {k: v[:n] for k, v in timer.seconds.items()}
    out: dict[str, Any] = {
        "results": results,
        "trainer": _best_after_warmup(seconds["trainer"]),
        "plain_loop": {
            "epochs": n,
            "steps_per_epoch": loop.steps_per_epoch,
            **_best_after_warmup(seconds["plain_loop"]),
        },
        # the medians (after the warm-up epoch) of each part of an epoch, both sides
        "parts": {
            side: {
                part: statistics.median(e[part] for e in (epochs[1:n] or epochs[:n]))
                for part in epochs[0]
            }
            for side, epochs in timer.parts.items()
            if epochs
        },
    }
    for side, key in (("plain_loop", "ratio"), ("original", "ratio_to_original")):
        if side not in seconds:
            continue
        pairs = [t / p for t, p in zip(seconds["trainer"], seconds[side], strict=True)]
        if side == "original":
            out["original"] = _best_after_warmup(seconds["original"])
        out[f"pair_{key}s"] = pairs
        out[key] = statistics.median(pairs[1:] if len(pairs) > 1 else pairs)
    return out


def _seconds_of(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def original_epoch(original_dir: str, overrides: list[str]) -> Callable[[], None]:
    """One epoch of the original's plain loop on the run's .npz task (``dataset.path`` of
    ``overrides``): the original's S4D in :class:`s4_bench.original.Frame` (4 layers, H=64,
    batch 32), as the ``epoch`` section of ``s4-bench original`` times it."""
    import numpy as np
    import torch

    from s4_bench.original import _epoch_runner
    from s4_bench.original_layers import Frame, Layers, load_original
    from s4_train import compose_config

    cfg = compose_config(overrides)
    with np.load(cfg.dataset.path) as archive:
        data = {k: archive[k] for k in archive.files}
    layers = Layers(*load_original(original_dir))
    torch.manual_seed(0)
    H = int(cfg.model.d_model)
    net = Frame(partial(layers.build, "original", "s4d", H, 64), 1, H)
    return _epoch_runner(net, data, int(cfg.loader.batch_size))


def _plain(section: Any) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(section, resolve=True, enum_to_str=True)
