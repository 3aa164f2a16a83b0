"""``s4-bench layers``: S4 / S4D layers in convolution mode and with a carried state.

Models (``--models``): ``s4d`` (the minimal S4D layer), ``s4-diag`` (S4Block, mode="diag"),
``s4-dplr`` (S4Block, mode="dplr", init legs); ``name@backend`` runs the same layer with that
ssm_kernels backend (e.g. ``s4-diag@naive``, the materialising reference, as a baseline).
For every model and length: forward (no grad) and forward+backward time and peak memory; then
forward-with-state against a step loop over the same input (the speed-up of carrying a state
through one convolution). Step mode alone: ``s4-bench step``.

Timing: :func:`s4_bench.common.time_fn` (median and best). JSON (default
``bench-results/layers.json``), a table, and a plot (time and memory against L) beside the JSON.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from s4_bench.common import metadata, peak_mib, plot_lines, print_table, time_fn, write_report
from s4_layers import S4D, S4Block

MODELS = ("s4d", "s4-diag", "s4-dplr")
# --compare: rows matched on these keys, metrics compared (time: lower is better).
COMPARE = {
    "conv": (("model", "B", "H", "N", "L"), {"forward_s": "time", "forward_backward_s": "time"}),
    "state": (("model", "mode", "B", "L"), {"forward_with_state_s": "time"}),
}


def build(name: str, H: int, N: int, backend: str | None) -> torch.nn.Module:
    """A model of MODELS, optionally ``name@backend``."""
    name, _, override = name.partition("@")
    if name == "s4d":
        return S4D(H, d_state=N)
    mode = "diag" if name == "s4-diag" else "dplr"
    return S4Block(H, mode=mode, d_state=N, backend=override or backend)


def bench_conv(model, B, H, L, device, min_time: float, backward: bool) -> dict[str, Any]:
    x = torch.randn(B, H, L, device=device)

    def forward():
        with torch.no_grad():
            model(x)

    def forward_backward():
        model.zero_grad(set_to_none=True)
        y, _ = model(x)
        y.sum().backward()

    fwd = time_fn(forward, min_time)
    out = {
        "forward_s": fwd["median_s"],
        "forward_min_s": fwd["min_s"],
        "forward_peak_mib": peak_mib(forward, device),
    }
    if backward:
        fb = time_fn(forward_backward, min_time)
        out.update(
            forward_backward_s=fb["median_s"],
            forward_backward_min_s=fb["min_s"],
            forward_backward_peak_mib=peak_mib(forward_backward, device),
        )
    return out


def step_loop(model, x: torch.Tensor) -> None:
    """Feed x (B, H, L) through ``model.step`` one position at a time."""
    state = model.default_state(x.shape[0], device=x.device)
    for t in range(x.shape[-1]):
        _, state = model.step(x[..., t], state)


def bench_state(model, B, H, L, device, mode, min_time: float) -> dict[str, Any]:
    x = torch.randn(B, H, L, device=device)
    state = model.default_state(B, device=device)
    with torch.no_grad():
        fws = time_fn(lambda: model(x, state=state), min_time)
        model.setup_step(mode=mode)
        step_loop(model, x[..., :4])  # warm-up
        start = time.perf_counter()  # one pass: a step loop over L is long enough to time
        step_loop(model, x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        loop_s = time.perf_counter() - start
    return {
        "forward_with_state_s": fws["median_s"],
        "step_loop_s": loop_s,
        "speedup": loop_s / fws["median_s"],
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="s4-bench layers", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="bench-results/layers.json")
    p.add_argument(
        "--models",
        default=",".join(MODELS),
        help="comma list of " + ", ".join(MODELS) + " (name@backend: a backend baseline)",
    )
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--d-state", type=int, default=64)
    p.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096])
    p.add_argument("--min-time", type=float, default=0.5, help="seconds measured per timing")
    p.add_argument("--no-backward", action="store_true", help="skip forward+backward timings")
    p.add_argument("--state-batches", type=int, nargs="+", default=[1, 16])
    p.add_argument("--state-length", type=int, default=1024, help="L of forward-with-state")
    p.add_argument("--backend", default=None, help="ssm_kernels backend (default: auto)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--no-plot", action="store_true")
    return p.parse_args(argv)


def plot(report: dict[str, Any], path) -> None:
    models = sorted({r["model"] for r in report["conv"]})
    panels = []
    for metric, label in (
        ("forward_backward_s", "fwd+bwd s"),
        ("forward_s", "forward s"),
        ("forward_backward_peak_mib", "fwd+bwd peak MiB"),
    ):
        lines = []
        for m in models:
            rows = [r for r in report["conv"] if r["model"] == m and r.get(metric) is not None]
            lines.append((m, [r["L"] for r in rows], [r[metric] for r in rows]))
        if any(ys for _, _, ys in lines):
            panels.append((label, "L", lines))
    c = report["config"]
    plot_lines(
        path,
        panels,
        f"s4-bench layers: B={c['batch']}, H={c['d_model']}, "
        f"N={c['d_state']}, {report['machine']['device']}",
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = {m.partition("@")[0] for m in models} - set(MODELS)
    if unknown:
        raise SystemExit(
            f"s4-bench layers: --models: expected names from {MODELS}, got {sorted(unknown)}"
        )
    torch.manual_seed(0)
    B, H, N = args.batch, args.d_model, args.d_state
    report: dict[str, Any] = {
        "suite": "layers",
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": metadata(device, args.backend),
        "conv": [],
        "state": [],
    }
    for name in models:
        model = build(name, H, N, args.backend).to(device)
        for L in args.lengths:
            row = {"model": name, "B": B, "H": H, "N": N, "L": L}
            row.update(bench_conv(model, B, H, L, device, args.min_time, not args.no_backward))
            report["conv"].append(row)
        if "@" in name:  # backend baselines: only the conv path differs
            continue
        for mode in ["dense", "linear"] if name == "s4-dplr" else [None]:
            for b in args.state_batches:
                row = {"model": name, "mode": mode or "diag", "B": b, "L": args.state_length}
                row.update(bench_state(model, b, H, args.state_length, device, mode, args.min_time))
                report["state"].append(row)
    cols = ["model", "L", "forward_s", "forward_backward_s", "forward_backward_peak_mib"]
    print_table(f"s4-bench layers (B={B}, H={H}, N={N})", report["conv"], cols)
    state_cols = ["model", "mode", "B", "L", "forward_with_state_s", "step_loop_s", "speedup"]
    print_table("forward-with-state vs step loop", report["state"], state_cols)
    out = write_report(report, args.out)
    if not args.no_plot:
        plot(report, out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
