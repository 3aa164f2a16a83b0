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
from pathlib import Path
from typing import Any

from s4_bench.plain_loop import (  # noqa: F401  (PlainLoop, plain_loop: this module's API too)
    PlainLoop,
    _best_after_warmup,
    interleaved,
    original_epoch,
    plain_loop,
)

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
