"""``s4-bench train [--out FILE] [--run-dir DIR] [--no-plain-loop] [override ...]``: accuracy
and wall time of a training experiment (the default one unless an ``experiment=...`` override
says otherwise), and the trainer's own overhead.

Runs ``s4_train.run_experiment`` in this process with the given Hydra overrides, then writes a
JSON report (default ``bench-results/train.json``) with the final val/test accuracy (of the
best checkpoint), loss, the chance level, epochs, steps and wall time, plus the machine it ran
on. Unless ``--no-plain-loop``, it then trains the same network on the same data for the same
epochs in a plain PyTorch loop (AdamW over ``s4_layers.param_groups``, a validation pass per
epoch, no Lightning) and reports both seconds per epoch and their ratio: the cost of the
trainer itself. Needs s4-train installed (it is, in the workspace: ``nox -s bench -- train``).
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
        "--no-plain-loop",
        action="store_true",
        help="skip the plain PyTorch loop that measures the trainer's own overhead",
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


def plain_loop(overrides: list[str], epochs: int) -> dict[str, Any]:
    """The same network, data, batch size and optimiser as the s4-train run, trained for
    ``epochs`` epochs in a plain loop (forward, loss, backward, step; then a no-grad pass over
    val). Returns seconds per epoch (best and mean)."""
    import torch
    from torch.utils.data import DataLoader

    from s4_layers import param_groups
    from s4_tasks import get_dataset
    from s4_tasks.metrics import loss_for
    from s4_train import compose_config
    from s4_train.network import DataSpec, build_network

    cfg = compose_config(overrides)
    sections = {k: _plain(cfg[k]) for k in ("model", "task", "dataset", "loader", "optimizer")}
    torch.manual_seed(int(cfg.train.seed) if "train" in cfg and "seed" in cfg.train else 0)
    dataset = dict(sections["dataset"])
    data = get_dataset(dataset.pop("name"), **dataset)
    spec = DataSpec.from_dataset(data)
    network = build_network(sections["model"], sections["task"], spec)
    loss_fn = loss_for(spec.output_kind)
    opt = sections["optimizer"]
    groups = param_groups(network, lr=opt["lr"], weight_decay=opt["weight_decay"])
    optimizer = torch.optim.AdamW(groups, lr=opt["lr"], weight_decay=opt["weight_decay"])
    batch = int(sections["loader"]["batch_size"])
    train_loader = DataLoader(data.train, batch_size=batch, shuffle=True)
    val_loader = DataLoader(data.val, batch_size=batch)
    clip = cfg.trainer.get("gradient_clip_val") if "trainer" in cfg else None
    limit = cfg.trainer.get("limit_train_batches") if "trainer" in cfg else None
    limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else None
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        network.train()
        for i, (x, y) in enumerate(train_loader):
            if limit is not None and i >= limit:  # as trainer.limit_train_batches does
                break
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(network(x), y)
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(network.parameters(), float(clip))
            optimizer.step()
        network.eval()
        with torch.no_grad():
            for x, y in val_loader:
                loss_fn(network(x), y)
        times.append(time.perf_counter() - start)
    return {
        "epochs": epochs,
        "seconds_per_epoch_best": min(times),
        "seconds_per_epoch_mean": sum(times) / len(times),
    }


def _plain(section: Any) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(section, resolve=True, enum_to_str=True)


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
    if not args.no_plain_loop and data["epochs"]:
        trainer_epoch = data["fit_seconds"] / data["epochs"]
        plain = plain_loop(list(args.overrides), int(data["epochs"]))
        data["trainer_seconds_per_epoch"] = trainer_epoch
        data["plain_loop"] = plain
        data["trainer_over_plain_loop"] = trainer_epoch / plain["seconds_per_epoch_mean"]
        print(
            f"train: s4-train {trainer_epoch:.2f} s/epoch vs a plain loop "
            f"{plain['seconds_per_epoch_mean']:.2f} s/epoch (ratio "
            f"{data['trainer_over_plain_loop']:.2f}; both with a validation pass)"
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
