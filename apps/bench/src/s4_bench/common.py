"""What every suite shares: one timing method, run metadata, tables, JSON, plots, comparison.

Timing: :func:`time_fn` wraps ``torch.utils.benchmark.Timer`` (which synchronises CUDA and
picks the number of calls per measurement itself) on torch's current thread count (what
``--threads`` or torch's default set): after one warm-up call it measures for at least
``min_time`` seconds and reports the median and the best of the measured blocks, in
seconds. Suites report ``*_s`` (median) and ``*_min_s`` (best); ratios are taken between
configurations of the same run.

Paired timing: :func:`paired_times` interleaves several functions call by call and takes the
ratio within each round. On a shared host the speed drifts by 15-40 % over seconds to minutes,
so two medians taken one after the other can differ by more than the effect being measured;
calls a few milliseconds apart see the same host, and the median of their ratios cancels most
of the drift.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils import benchmark


def time_fn(fn: Callable[[], Any], min_time: float = 0.2, warmup: bool = True) -> dict[str, float]:
    """``{"median_s", "min_s", "runs"}`` of ``fn()`` (see the module docstring)."""
    if warmup:
        fn()
    # Timer would run fn on 1 thread (its default num_threads), whatever --threads set
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    measurement = timer.blocked_autorange(min_run_time=min_time)
    return {
        "median_s": float(measurement.median),
        "min_s": float(min(measurement.times)),
        "runs": int(measurement.number_per_run * len(measurement.times)),
    }


def paired_times(
    fns: dict[str, Callable[[], Any]], min_time: float = 1.0, min_rounds: int = 5
) -> dict[str, Any]:
    """Interleaved timing: each round calls every function once, in an order rotated from round
    to round (none always runs first or right after the same other), until ``min_time`` seconds
    of calls per function and at least ``min_rounds`` rounds. Each function should take a few
    milliseconds (e.g. a chunk of steps); one warm-up call each first.

    Returns ``{"rounds": n, "seconds": {name: [per round]}, "median_s": {name: median},
    "ratio_to_first": {name: median over rounds of t_name / t_first}}`` (the first function in
    ``fns`` is the reference; its own ratio is 1)."""
    if not fns:
        raise ValueError("paired_times: expected at least one function")
    if min_time < 0 or min_rounds < 1:
        raise ValueError(
            "paired_times: expected min_time >= 0 and min_rounds >= 1, "
            f"got {min_time}, {min_rounds}"
        )
    names = list(fns)
    # CUDA calls return before the device finishes: wait for it around every timed call
    sync = torch.cuda.synchronize if torch.cuda.is_initialized() else (lambda: None)
    for fn in fns.values():
        fn()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    spent = 0.0
    rounds = 0
    while rounds < min_rounds or spent < min_time * len(names):
        shift = rounds % len(names)
        for name in names[shift:] + names[:shift]:
            sync()
            start = time.perf_counter()
            fns[name]()
            sync()
            elapsed = time.perf_counter() - start
            seconds[name].append(elapsed)
            spent += elapsed
        rounds += 1
    first = seconds[names[0]]
    return {
        "rounds": rounds,
        "seconds": seconds,
        "median_s": {name: statistics.median(ts) for name, ts in seconds.items()},
        "ratio_to_first": {
            name: statistics.median(t / t0 for t, t0 in zip(ts, first))
            for name, ts in seconds.items()
        },
    }


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def metadata(device: str | torch.device = "cpu", backend: str | None = None) -> dict[str, Any]:
    """Machine, software and revision of a run: stored in every report."""
    device = str(device)
    info: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_revision": _git_revision(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "backend": backend or "auto",
        # other jobs on a shared machine inflate timings: the load says how busy it was
        "load_average_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    try:
        import ssm_kernels

        info["ssm_kernels"] = ssm_kernels.__version__
        info["backends_available"] = sorted(
            name for name, status in dict(ssm_kernels.backends()).items() if _available(status)
        )
    except Exception:  # metadata must never break a benchmark
        pass
    return info


def _available(status: Any) -> bool:
    if isinstance(status, dict):
        return bool(status.get("available"))
    return bool(getattr(status, "available", status))


def print_table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Rows as an aligned table (rich); floats with 4 significant digits."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right")
    for row in rows:
        cells = []
        for col in columns:
            value = row.get(col)
            cells.append(
                "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
            )
        table.add_row(*cells)
    Console(width=160).print(table)


def write_report(report: dict[str, Any], out: str | Path) -> Path:
    """JSON to ``out`` (folders created); returns the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")
    return out


def load_report(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(
            f"s4-bench: --compare: expected a report JSON, got a missing file {path}"
        ) from None
    except json.JSONDecodeError as err:
        raise SystemExit(f"s4-bench: --compare: {path} is not valid JSON ({err})") from None
    if not isinstance(report, dict) or "suite" not in report:
        raise SystemExit(f"s4-bench: --compare: {path} is not an s4-bench report (no 'suite')")
    return report


def compare_rows(
    new: Iterable[dict[str, Any]],
    ref: Iterable[dict[str, Any]],
    keys: Sequence[str],
    metrics: dict[str, str],
) -> list[dict[str, Any]]:
    """Match rows of two reports on ``keys``; for each metric give ``new/ref``.

    ``metrics`` maps a metric name to "time" (lower is better: new/ref < 1 is faster) or "rate"
    (higher is better: new/ref > 1 is faster); :func:`print_comparison` says which in the
    table title. Rows without a partner are left out.
    """
    index = {tuple(r.get(k) for k in keys): r for r in ref}
    out = []
    for row in new:
        partner = index.get(tuple(row.get(k) for k in keys))
        if partner is None:
            continue
        entry = {k: row.get(k) for k in keys}
        for metric, _kind in metrics.items():
            a, b = row.get(metric), partner.get(metric)
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
                entry[f"{metric} new/ref"] = a / b
        out.append(entry)
    return out


def print_comparison(
    suite: str, section: str, rows: list[dict[str, Any]], metrics: dict[str, str]
) -> None:
    """The table of :func:`compare_rows` with what "better" means for each metric."""
    if not rows:
        print(f"s4-bench {suite} --compare: no {section} rows in common with the reference")
        return
    better = ", ".join(
        f"{m}: {'< 1 is faster' if kind == 'time' else '> 1 is faster'}"
        for m, kind in metrics.items()
    )
    print_table(f"{suite} {section}: new / reference ({better})", rows, list(rows[0]))


def plot_lines(
    path: str | Path,
    panels: Sequence[tuple[str, str, list[tuple[str, list[float], list[float]]]]],
    title: str,
    logx: bool = True,
    logy: bool = True,
) -> Path | None:
    """One figure with a panel per ``(ylabel, xlabel, [(label, xs, ys), ...])``; PNG at path.

    Returns None (and says so) when matplotlib is not installed: plots are optional.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("s4-bench: matplotlib not installed, no plot (pip install matplotlib)")
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for ax, (ylabel, xlabel, lines) in zip(axes[0], panels):
        for label, xs, ys in lines:
            ax.plot(xs, ys, marker="o", ms=3, label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if logx:
            ax.set_xscale("log", base=2)
        if logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
    return path


class PeakRSS:
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

    def __enter__(self) -> PeakRSS:
        self.base = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss() - self.base)


def peak_mib(fn: Callable[[], Any], device: str | torch.device = "cpu") -> float:
    """Peak memory growth (MiB) during one call of ``fn``: on CUDA
    ``max_memory_allocated`` over the allocation before the call; on CPU the resident-set
    growth sampled every millisecond (:class:`PeakRSS`, Linux)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    with PeakRSS() as meter:
        fn()
    return meter.peak / 2**20
