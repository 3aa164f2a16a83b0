"""``s4-bench train [--out FILE] [--run-dir DIR] [--no-plain-loop] [--npz-task] [override ...]``:
accuracy and wall time of a training experiment (the default one unless an ``experiment=...``
override says otherwise), and the trainer's own overhead; ``s4-bench train --short``: the
short-sequence cases of :mod:`s4_bench.train_short` instead.

Runs ``s4_train.run_experiment`` in this process with the given Hydra overrides, then writes a
JSON report (default ``bench-results/train.json``) with the final val/test accuracy (of the
best checkpoint), loss, the chance level, epochs, steps and wall time, plus the machine it ran
on. Unless ``--no-plain-loop``, it then trains the same network on the same data for the same
epochs in a plain PyTorch loop (s4-train's own optimizer and lr schedule, gradient clipping, a
validation pass per epoch, no Lightning) and reports both seconds per epoch and their ratio:
the cost of the trainer itself; ``--rounds R`` repeats the pair (s4-train, then the plain loop)
R times and reports the median of the rounds' ratios, the figure to trust on a shared host
whose speed drifts by as much as the overhead; ``--interleave`` runs a plain-loop epoch before
each s4-train epoch instead, in one run, and reports the median of the epoch pairs' ratios (the
drift within a run, epoch to epoch, is then shared by each pair). Both sides leave out the
first (warm-up) epoch and report the best (and median) of the rest; s4-train's epochs are timed
start to start, so its checkpoint writes and logging count. ``--npz-task`` runs the issue's case:
``experiment=npz`` on a synthetic 10-class task (4000 series of L=40, 63 steps per epoch).
Needs s4-train installed (it is, in the workspace: ``nox -s bench -- train``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("bench-results") / "train.json"
# --compare (reports of --short): rows matched on these keys, metrics compared (lower = faster)
COMPARE = {
    "epoch": (("case", "L", "n_train"), {"seconds_per_epoch_best": "time"}),
    "step": (("case", "B", "H", "N", "L"), {"step_min_s": "time", "kernels_s": "time"}),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s4-bench train",
        description="Train an experiment (default: the config tree's default) and report "
        "accuracy, chance level and wall time as JSON.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON ({DEFAULT_OUT})")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where the run's checkpoints and logs go (default: next to --out, <out>-run/)",
    )
    parser.add_argument(
        "--no-plain-loop",
        action="store_true",
        help="skip the plain PyTorch loop that measures the trainer's own overhead",
    )
    parser.add_argument(
        "--npz-task",
        action="store_true",
        help="train experiment=npz on a synthetic 10-class task (4000 series, L=40; issue 16)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="s4-train / plain-loop alternations (each a whole run of the experiment); the "
        "overhead reported is the median of the rounds' ratios (1)",
    )
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="run a plain-loop epoch before each s4-train epoch, in the same run, and report "
        "the median of the epoch pairs' ratios (the host's drift is shared by each pair); "
        "with --rounds, the median over the rounds of that",
    )
    parser.add_argument(
        "--original-dir",
        default=None,
        help="with --npz-task --interleave: also run an epoch of the original's plain loop "
        "(its S4D, from DIR's s4.py / s4d.py, as s4-bench original) next to each s4-train "
        "epoch, and report s4-train / the original's loop paired the same way",
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help="only the short-sequence cases (s4_bench.train_short): epochs of the S4D-minimal "
        "and S4 DPLR backbones and one 4-layer training step, no Lightning",
    )
    parser.add_argument(
        "--epochs", type=int, default=4, help="epochs per --short case, the first untimed (4)"
    )
    parser.add_argument(
        "--min-time", type=float, default=1.0, help="seconds per --short step timing (1.0)"
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        help="Hydra overrides as for s4-train, e.g. experiment=smnist-s4d trainer.max_epochs=2",
    )
    return parser


def _metric(results: dict[str, Any], split: str, name: str) -> float | None:
    value = results.get(split, {}).get(f"{split}/{name}")
    return None if value is None else float(value)


def report(results: dict[str, Any], overrides: list[str], seconds: float) -> dict[str, Any]:
    """The JSON report from s4_train's results dict."""
    import torch

    return {
        "suite": "train",
        "experiment": results["name"],
        "overrides": overrides,
        "dataset": results["dataset"],
        "val_accuracy": _metric(results, "val", "accuracy"),
        "test_accuracy": _metric(results, "test", "accuracy"),
        "val_loss": _metric(results, "val", "loss"),
        "test_loss": _metric(results, "test", "loss"),
        "chance": results["chance"],
        "epochs": results["epochs"],
        "global_step": results["global_step"],
        "fit_seconds": results["fit_seconds"],
        "wall_seconds": seconds,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
        "results": results,
    }


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

    from s4_bench.original import Frame, Layers, _epoch_runner, load_original
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


def _trainer_epochs(results: dict[str, Any]) -> dict[str, Any]:
    """s4-train's epoch times (EpochTimer: start to next start, checkpoints and logging
    included), else fit time / epochs."""
    seconds = list(results.get("epoch_seconds") or [])
    if not seconds:
        seconds = [results["fit_seconds"] / max(int(results["epochs"]), 1)]
    return _best_after_warmup(seconds)


def _short(args: argparse.Namespace) -> int:
    from s4_bench.common import metadata, print_table, write_report
    from s4_bench.train_short import run

    folder = args.run_dir or args.out.with_name(args.out.stem + "-data")
    rows = run(folder, epochs=args.epochs, min_time=args.min_time)
    print_table(
        "train --short: an epoch (plain loop, with a validation pass; best after warm-up)",
        rows["epoch"],
        [
            "case",
            "L",
            "n_train",
            "steps_per_epoch",
            "seconds_per_epoch_best",
            "seconds_per_epoch_median",
        ],
    )
    print_table(
        "train --short: one training step, 4 layers (s)",
        rows["step"],
        ["case", "B", "H", "N", "L", "step_s", "step_min_s", "kernels_s", "kernel_share"],
    )
    write_report({"suite": "train", "kind": "short", "meta": metadata(), **rows}, args.out)
    return 0


def _npz_task(folder: Path) -> list[str]:
    """Overrides for the issue's trainer case: experiment=npz on a synthetic 10-class task of
    4000 series of L=40, split 2000 / 1000 / 1000 (63 steps per epoch at batch 32)."""
    from s4_bench.train_short import write_task

    path = write_task(folder / "npz-task.npz", 40, 2000, 1000)
    return ["experiment=npz", f"dataset.path={path}"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from hydra.errors import ConfigCompositionException

        from s4_train import ConfigError, run_experiment
    except ImportError:
        print("s4-bench train needs s4-train: pip install -e apps/train", file=sys.stderr)
        return 2
    if args.short:
        return _short(args)
    run_dir = args.run_dir or args.out.with_name(args.out.stem + "-run")
    overrides = list(args.overrides)
    if args.npz_task:
        overrides = [*_npz_task(run_dir.with_name(run_dir.name + "-data")), *overrides]
    if args.rounds < 1:
        print(f"s4-bench train: --rounds: expected >= 1, got {args.rounds}", file=sys.stderr)
        return 2
    if args.interleave and args.no_plain_loop:
        print("s4-bench train: --interleave needs the plain loop", file=sys.stderr)
        return 2
    if args.original_dir is not None and not (args.interleave and args.npz_task):
        print("s4-bench train: --original-dir needs --interleave and --npz-task", file=sys.stderr)
        return 2
    original = None if args.original_dir is None else original_epoch(args.original_dir, overrides)
    start = time.perf_counter()
    rounds: list[dict[str, Any]] = []
    try:
        if args.interleave:
            first = interleaved(overrides, run_dir, original)
            results = first.pop("results")
        else:
            results = run_experiment(overrides, output_dir=run_dir)
    except (ConfigError, ConfigCompositionException) as err:
        cause = f"\n{err.__cause__}" if err.__cause__ is not None else ""
        print(f"s4-bench train: config error: {err}{cause}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    data = report(results, overrides, seconds)
    if not args.no_plain_loop and data["epochs"]:
        for r in range(args.rounds):
            folder = run_dir / f"round-{r}"  # each round after the first: its own folder
            if args.interleave:
                pair = first if r == 0 else interleaved(overrides, folder, original)
                pair.pop("results", None)
                trainer, plain, ratio = pair["trainer"], pair["plain_loop"], pair["ratio"]
                rounds.append(pair)
                how = "median of the epoch pairs' ratios, the first pair left out"
            else:
                results_r = results if r == 0 else run_experiment(overrides, output_dir=folder)
                trainer = _trainer_epochs(results_r)
                plain = plain_loop(overrides, int(results_r["epochs"]))
                # best against best: the least-disturbed epoch of each (shared hosts are noisy)
                ratio = trainer["seconds_per_epoch_best"] / plain["seconds_per_epoch_best"]
                rounds.append({"trainer": trainer, "plain_loop": plain, "ratio": ratio})
                how = "best epoch after the first"
            print(
                f"train: round {r}: s4-train {trainer['seconds_per_epoch_best']:.3f} s/epoch vs "
                f"a plain loop {plain['seconds_per_epoch_best']:.3f} s/epoch (best); ratio "
                f"{ratio:.3f} ({how}; both with a validation pass)"
            )
            parts = rounds[-1].get("parts")
            if parts:
                shown = "; ".join(
                    f"{side} " + " / ".join(f"{k} {v:.3f}" for k, v in split.items())
                    for side, split in parts.items()
                )
                print(f"train: round {r}: an epoch's parts (median s): {shown}")
            if "ratio_to_original" in rounds[-1]:
                print(
                    f"train: round {r}: s4-train / the original's plain loop (its S4D, "
                    f"{rounds[-1]['original']['seconds_per_epoch_best']:.3f} s/epoch best): "
                    f"time {rounds[-1]['ratio_to_original']:.3f} ({how})"
                )
        data["trainer"] = rounds[0]["trainer"]
        data["plain_loop"] = rounds[0]["plain_loop"]
        data["trainer_seconds_per_epoch"] = statistics.median(
            x["trainer"]["seconds_per_epoch_best"] for x in rounds
        )
        data["plain_loop_seconds_per_epoch"] = statistics.median(
            x["plain_loop"]["seconds_per_epoch_best"] for x in rounds
        )
        # a ratio within each round (the two runs minutes apart at most), then their median:
        # the host's speed drifts between rounds by as much as the overhead itself
        data["trainer_over_plain_loop"] = statistics.median(x["ratio"] for x in rounds)
        if original is not None:
            data["trainer_over_original_loop"] = statistics.median(
                x["ratio_to_original"] for x in rounds
            )
        data["rounds"] = rounds
        if args.rounds > 1:
            each = ", ".join(f"{x['ratio']:.3f}" for x in rounds)
            print(
                f"train: {args.rounds} rounds: median ratio {data['trainer_over_plain_loop']:.3f} "
                f"(rounds: {each})"
            )
            if original is not None:
                each = ", ".join(f"{x['ratio_to_original']:.3f}" for x in rounds)
                print(
                    f"train: {args.rounds} rounds: s4-train / the original's loop, median "
                    f"{data['trainer_over_original_loop']:.3f} (rounds: {each})"
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    acc = data["test_accuracy"]
    shown = "n/a" if acc is None else f"{acc:.4f}"
    print(
        f"train: {data['experiment']}: test accuracy {shown} (chance {data['chance']}), "
        f"{data['epochs']} epochs, {seconds:.1f} s wall -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
