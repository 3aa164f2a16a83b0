"""``s4-bench train [--out FILE] [--run-dir DIR] [override ...]``: accuracy and wall time of a
training experiment (the default one unless an ``experiment=...`` override says otherwise).

Runs ``s4_train.run_experiment`` in this process with the given Hydra overrides, then writes a
JSON report (default ``bench-results/train.json``) with the final val/test accuracy (of the
best checkpoint), loss, the chance level, epochs, steps and wall time, plus the machine it ran
on. Needs s4-train installed (it is, in the workspace: ``nox -s bench -- train``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("bench-results") / "train.json"


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from hydra.errors import ConfigCompositionException

        from s4_train import ConfigError, run_experiment
    except ImportError:
        print("s4-bench train needs s4-train: pip install -e apps/train", file=sys.stderr)
        return 2
    run_dir = args.run_dir or args.out.with_name(args.out.stem + "-run")
    start = time.perf_counter()
    try:
        results = run_experiment(list(args.overrides), output_dir=run_dir)
    except (ConfigError, ConfigCompositionException) as err:
        cause = f"\n{err.__cause__}" if err.__cause__ is not None else ""
        print(f"s4-bench train: config error: {err}{cause}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    data = report(results, list(args.overrides), seconds)
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
