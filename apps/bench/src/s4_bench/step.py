"""``s4-bench step``: step (RNN) mode, steps per second against batch size.

Models: ``s4d`` (the minimal S4D layer), ``s4-diag`` (S4Block mode="diag"), ``s4-dplr-dense``
and ``s4-dplr-linear`` (S4Block mode="dplr" with ``setup_step(mode="dense")``, the (N, N)
real matrices, or ``"linear"``, the exact O(N r) Woodbury step). One step = one ``model.step``
call on a (B, H) input; timed over ``--chunk`` consecutive steps with
:func:`s4_bench.common.time_fn`. The ratios to the original state-spaces/s4 layers use the
figures measured on this project's 2-core CPU (issue 16, float32, H=256, N=64), stored here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import torch

from s4_bench.common import metadata, plot_lines, print_table, time_fn, write_report
from s4_layers import S4D, S4Block

MODELS = ("s4d", "s4-diag", "s4-dplr-dense", "s4-dplr-linear")
# steps/s of the original standalone layers on this machine (H=256, N=64), issue 16
ORIGINAL_STEPS_PER_S = {
    ("s4-diag", 1): 2206,
    ("s4-diag", 16): 2248,
    ("s4-dplr-dense", 1): 1583,
    ("s4-dplr-dense", 16): 519,
}
COMPARE = {"step": (("model", "B", "H", "N"), {"steps_per_s": "rate"})}


def build(name: str, H: int, N: int) -> tuple[torch.nn.Module, str | None]:
    if name == "s4d":
        return S4D(H, d_state=N), None
    if name == "s4-diag":
        return S4Block(H, mode="diag", d_state=N), None
    return S4Block(H, mode="dplr", d_state=N), name.rsplit("-", 1)[1]


def step_chunk(model, step_mode, B, H, chunk, device) -> Callable[[], None]:
    """A function that runs ``chunk`` consecutive ``model.step`` calls on (B, H) inputs from
    the model's default state, with no autograd (the model's step set up first)."""
    x = torch.randn(chunk, B, H, device=device)
    with torch.no_grad():
        # no mode argument where the layer has a single step form (the original's diagonal
        # kernel's setup_step takes none; ours treats mode=None the same)
        model.setup_step() if step_mode is None else model.setup_step(mode=step_mode)
        state = model.default_state(B, device=device)

    def run_chunk():
        with torch.no_grad():
            s = state
            for t in range(chunk):
                _, s = model.step(x[t], s)

    return run_chunk


def steps_per_second(model, step_mode, B, H, chunk, device, min_time) -> float:
    timing = time_fn(step_chunk(model, step_mode, B, H, chunk, device), min_time)
    return chunk / timing["median_s"]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="s4-bench step", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="bench-results/step.json")
    p.add_argument("--models", default=",".join(MODELS), help="comma list of " + ", ".join(MODELS))
    p.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 64])
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--d-state", type=int, default=64)
    p.add_argument("--chunk", type=int, default=50, help="steps per timed call")
    p.add_argument("--min-time", type=float, default=0.5, help="seconds measured per timing")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's, one per core; at B=1 a step is too small for a "
        "second thread to matter, at B=16 its state updates split across them)",
    )
    p.add_argument("--no-plot", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(models) - set(MODELS)
    if unknown:
        raise SystemExit(
            f"s4-bench step: --models: expected names from {MODELS}, got {sorted(unknown)}"
        )
    torch.manual_seed(0)
    H, N = args.d_model, args.d_state
    report: dict[str, Any] = {
        "suite": "step",
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": metadata(device),
        "original_steps_per_s": {f"{m}@B={b}": v for (m, b), v in ORIGINAL_STEPS_PER_S.items()},
        "step": [],
    }
    for name in models:
        model, step_mode = build(name, H, N)
        model = model.to(device).eval()
        for B in args.batches:
            rate = steps_per_second(model, step_mode, B, H, args.chunk, device, args.min_time)
            row = {"model": name, "B": B, "H": H, "N": N, "steps_per_s": rate}
            original = ORIGINAL_STEPS_PER_S.get((name, B)) if (H, N) == (256, 64) else None
            if original and device.type == "cpu":
                row["original_steps_per_s"] = original
                row["x_original"] = rate / original
            report["step"].append(row)
    cols = ["model", "B", "steps_per_s", "original_steps_per_s", "x_original"]
    print_table(
        f"s4-bench step (H={H}, N={N}, {torch.get_num_threads()} thread(s))", report["step"], cols
    )
    out = write_report(report, args.out)
    if not args.no_plot:
        lines = [
            (
                m,
                [r["B"] for r in report["step"] if r["model"] == m],
                [r["steps_per_s"] for r in report["step"] if r["model"] == m],
            )
            for m in models
        ]
        plot_lines(
            out.with_suffix(".png"),
            [("steps / s", "batch B", lines)],
            f"s4-bench step: H={H}, N={N}, {report['machine']['device']}",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
