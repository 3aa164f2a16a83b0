"""``s4-bench layers``: S4 / S4D layers, conv forward and backward, step mode, state passing.

Models (``--models``): ``s4d`` (the minimal S4D layer), ``s4-diag`` (S4Block, mode="diag"),
``s4-dplr`` (S4Block, mode="dplr", init legs). For every model and length: forward ms
(no grad), forward+backward ms, peak memory; step mode steps/s at each ``--step-batches``
(DPLR: dense and linear step forms); forward-with-state vs a step loop over the same input.

Step mode and the state comparison run with ``--step-threads`` (default 1) torch threads.
Peak memory: on CUDA ``torch.cuda.max_memory_allocated``; on CPU the peak resident-set growth
during the call, sampled every millisecond from /proc/self/statm (Linux), as MiB.
Writes JSON (default ``bench-results/layers.json``) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from pathlib import Path
from typing import Any

import torch

from s4_layers import S4D, S4Block

# The official standalone layers measured on this machine (issue 5), for the report.
ORIGINAL = {
    "fwd_bwd_ms": {
        "s4d@4096": 2400,
        "s4-diag@1024": 540,
        "s4-diag@4096": 2900,
        "s4-dplr@1024": 1100,
    },
    "step_per_s_b1": {"s4-diag": 5500, "s4-dplr-dense": 1800},
}
MODELS = ("s4d", "s4-diag", "s4-dplr")


def build(name: str, H: int, N: int, backend: str | None) -> torch.nn.Module:
    """``name`` is a model of MODELS, optionally ``@backend`` (e.g. ``s4-diag@naive``: the same
    layer with ssm_kernels' materialising reference backend, a side-by-side baseline)."""
    name, _, override = name.partition("@")
    if name == "s4d":
        return S4D(H, d_state=N)
    mode = "diag" if name == "s4-diag" else "dplr"
    return S4Block(H, mode=mode, d_state=N, backend=override or backend)


class _PeakRSS:
    """Peak resident-set growth (bytes) while the context is open, sampled every ~1 ms."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self.peak = 0

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self.page
        except OSError:  # not Linux: no measurement
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss() - self.base)
            time.sleep(0.001)

    def __enter__(self) -> _PeakRSS:
        self.base = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss() - self.base)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, repeats: int, device: torch.device) -> tuple[float, float]:
    """(best ms over repeats after one warm-up, peak MiB of one call)."""
    fn()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        _sync(device)
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        with _PeakRSS() as meter:
            fn()
        peak = meter.peak / 2**20
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best * 1e3, peak


def bench_conv(model, B, H, L, repeats, device, backward: bool) -> dict[str, Any]:
    x = torch.randn(B, H, L, device=device)

    def forward():
        with torch.no_grad():
            model(x)

    def forward_backward():
        model.zero_grad(set_to_none=True)
        y, _ = model(x)
        y.sum().backward()

    fwd_ms, fwd_mem = timed(forward, repeats, device)
    out = {"forward_ms": fwd_ms, "forward_peak_mib": fwd_mem}
    if backward:
        fb_ms, fb_mem = timed(forward_backward, repeats, device)
        out.update(forward_backward_ms=fb_ms, forward_backward_peak_mib=fb_mem)
    return out


def _step_loop(model, x: torch.Tensor) -> None:
    state = model.default_state(x.shape[0], device=x.device)
    for t in range(x.shape[-1]):
        _, state = model.step(x[..., t], state)


def bench_step(model, B, H, steps, device, mode) -> float:
    x = torch.randn(B, H, steps, device=device)
    with torch.no_grad():
        model.setup_step(mode=mode)
        _step_loop(model, x[..., : min(steps, 10)])  # warm-up
        _sync(device)
        start = time.perf_counter()
        _step_loop(model, x)
        _sync(device)
    return steps / (time.perf_counter() - start)


def bench_state(model, B, H, L, repeats, device, mode) -> dict[str, Any]:
    x = torch.randn(B, H, L, device=device)
    state = model.default_state(B, device=device)
    with torch.no_grad():
        fwd_ms, _ = timed(lambda: model(x, state=state), repeats, device)
        model.setup_step(mode=mode)
        start = time.perf_counter()
        _step_loop(model, x)
        _sync(device)
        loop_ms = (time.perf_counter() - start) * 1e3
    return {"forward_with_state_ms": fwd_ms, "step_loop_ms": loop_ms, "speedup": loop_ms / fwd_ms}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="s4-bench layers", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="bench-results/layers.json")
    p.add_argument(
        "--models",
        default=",".join(MODELS),
        help="comma list of " + ", ".join(MODELS) + " (name@backend: conv-only baseline)",
    )
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--d-state", type=int, default=64)
    p.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096, 16384])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-backward", action="store_true", help="skip forward+backward timings")
    p.add_argument("--step-steps", type=int, default=500, help="steps timed in step mode")
    p.add_argument("--step-batches", type=int, nargs="+", default=[1, 16])
    p.add_argument("--state-length", type=int, default=1024, help="L of forward-with-state")
    p.add_argument("--backend", default=None, help="ssm_kernels backend (default: auto)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (conv)")
    p.add_argument(
        "--step-threads",
        type=int,
        default=1,
        help="threads for step mode and state runs (tiny ops: one thread avoids OpenMP "
        "spin contention on a shared machine)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = {m.partition("@")[0] for m in models} - set(MODELS)
    if unknown:
        raise SystemExit(f"s4-bench layers: unknown models {sorted(unknown)}; expected {MODELS}")
    torch.manual_seed(0)
    B, H, N = args.batch, args.d_model, args.d_state
    report: dict[str, Any] = {
        "suite": "layers",
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "device": str(device),
            "cpu": platform.processor() or platform.machine(),
            "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
        },
        "original_reference": ORIGINAL,
        "conv": [],
        "step": [],
        "state": [],
    }
    for name in models:
        model = build(name, H, N, args.backend).to(device)
        for L in args.lengths:
            row = {"model": name, "B": B, "H": H, "N": N, "L": L}
            row.update(bench_conv(model, B, H, L, args.repeats, device, not args.no_backward))
            report["conv"].append(row)
            print(json.dumps(row))
        if "@" in name:  # backend baselines: the conv path is what differs
            continue
        step_modes = ["dense", "linear"] if name == "s4-dplr" else [None]
        conv_threads = torch.get_num_threads()
        torch.set_num_threads(args.step_threads)
        for mode in step_modes:
            for b in args.step_batches:
                rate = bench_step(model, b, H, args.step_steps, device, mode)
                row = {"model": name, "mode": mode or "diag", "B": b, "steps_per_s": rate}
                report["step"].append(row)
                print(json.dumps(row))
            for b in args.step_batches:
                row = {"model": name, "mode": mode or "diag", "B": b, "L": args.state_length}
                row.update(bench_state(model, b, H, args.state_length, args.repeats, device, mode))
                report["state"].append(row)
                print(json.dumps(row))
        torch.set_num_threads(conv_threads)
    if hasattr(os, "getloadavg"):
        report["machine"]["loadavg_at_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
