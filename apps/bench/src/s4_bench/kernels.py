"""``s4-bench kernels``: Cauchy / Vandermonde ops, every available backend against naive.

For each op, backend, state size N and length L (batch H) it measures, in the same run:

* forward time and forward+backward time (median of ``--repeats`` after one warm-up call),
* peak memory of the forward and of the forward+backward: on CPU the growth of the process's
  peak RSS (``ru_maxrss``) over a baseline taken after the inputs exist, each configuration in
  a fresh subprocess so one cannot hide another's peak; on CUDA ``max_memory_allocated``,
* the ratios to naive (speed-up and memory fraction).

Naive is skipped (and recorded as skipped, with the reason) where its estimated footprint
exceeds ``--naive-max-gb``. Results go to JSON (default ``bench-results/kernels.json``) and a
table is printed. Timings are never asserted in tests; this is where they live.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

import ssm_kernels
from s4_bench.common import metadata, plot_lines

OPS = ("cauchy", "vandermonde", "vandermonde_transpose")
# Rough number of (batch, N, L)-sized complex temporaries naive keeps alive at its peak in
# forward+backward (measured: ~6 for Cauchy with the conj pair counted in N).
_NAIVE_TEMPORARIES = 7


def _parse_ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def _parse_names(text: str, allowed: tuple[str, ...]) -> list[str]:
    names = [part for part in text.split(",") if part]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise argparse.ArgumentTypeError(f"expected names from {allowed}, got {bad}")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="s4-bench kernels", description=__doc__.splitlines()[0])
    p.add_argument("--H", type=int, default=256, help="batch (number of SSM copies), default 256")
    p.add_argument("--N", type=_parse_ints, default=[32, 64], help="state sizes, e.g. 32,64")
    p.add_argument("--L", type=_parse_ints, default=[1024, 4096, 16384], help="lengths")
    p.add_argument("--ops", type=lambda t: _parse_names(t, OPS), default=list(OPS))
    p.add_argument(
        "--backends",
        type=lambda t: _parse_names(t, ssm_kernels.BACKEND_NAMES),
        default=None,
        help="default: every available backend (naive always included as the baseline)",
    )
    p.add_argument("--dtype", choices=["complex64", "complex128"], default="complex64")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument("--repeats", type=int, default=3, help="timed calls after one warm-up")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--max-seconds", type=float, default=20.0, help="stop repeating past this")
    p.add_argument("--naive-max-gb", type=float, default=8.0, help="skip naive above this")
    p.add_argument("--no-isolate", action="store_true", help="no subprocesses (no CPU memory)")
    p.add_argument("--out", type=Path, default=Path("bench-results/kernels.json"))
    p.add_argument("--markdown", type=Path, help="print a saved report as a markdown table")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p


# ----------------------------------------------------------------------------- one config


def op_inputs(op: str, H: int, N: int, L: int, dtype: torch.dtype, device: str):
    """S4-shaped inputs: poles with negative real part, z on the imaginary axis (bilinear)."""
    g = torch.Generator().manual_seed(0)
    real = torch.float64
    v = torch.randn(H, N, dtype=dtype, generator=g)
    poles = torch.complex(
        -(0.1 + torch.rand(H, N, generator=g, dtype=real)),
        torch.pi * torch.arange(N, dtype=real).expand(H, N),
    ).to(dtype)
    if op == "cauchy":
        k = torch.arange(L, dtype=real)
        z = (2j * torch.tan(torch.pi * (k + 0.5) / (2 * L + 1))).to(dtype)
        tensors = (v, z, poles)
    elif op == "vandermonde":
        tensors = (v, 1e-3 * poles)
    else:
        tensors = (torch.randn(H, L, dtype=dtype, generator=g), v, 1e-3 * poles)
    return tuple(t.to(device).requires_grad_() for t in tensors)


def _call(op: str, tensors, L: int, backend: str):
    if op == "cauchy":
        return ssm_kernels.cauchy(*tensors, backend=backend)
    if op == "vandermonde":
        return ssm_kernels.vandermonde(*tensors, L, backend=backend)
    return ssm_kernels.vandermonde_transpose(*tensors, L, backend=backend)


def _fwd(op, tensors, L, backend):
    with torch.no_grad():
        return _call(op, tensors, L, backend)


def _fwd_bwd(op, tensors, L, backend):
    out = _call(op, tensors, L, backend)
    loss = out.real.square().sum() if out.is_complex() else out.square().sum()
    return torch.autograd.grad(loss, tensors)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _timed(fn, device: str, repeats: int, budget: float) -> tuple[float, float]:
    """(median, min) wall time of ``fn`` over up to ``repeats`` calls after one warm-up."""
    fn()  # warm-up (compilation, caches)
    _sync(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats and (not times or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def measure(cfg: dict) -> dict:
    """Time and memory of one (op, backend, N, L); run in a fresh process for CPU memory."""
    op, backend, H, N, L = cfg["op"], cfg["backend"], cfg["H"], cfg["N"], cfg["L"]
    device, dtype = cfg["device"], getattr(torch, cfg["dtype"])
    if cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    # a tiny call first so lazy library initialisation is not billed to the measured call
    small = op_inputs(op, 2, 2, 8, dtype, device)
    _fwd_bwd(op, small, 8, backend)
    tensors = op_inputs(op, H, N, L, dtype, device)
    memory: dict[str, float | None] = {"fwd_peak_mb": None, "fwd_bwd_peak_mb": None}
    if device.startswith("cuda"):
        for key, fn in (("fwd_peak_mb", _fwd), ("fwd_bwd_peak_mb", _fwd_bwd)):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            fn(op, tensors, L, backend)
            torch.cuda.synchronize()
            memory[key] = (torch.cuda.max_memory_allocated() - base) / 2**20
    elif cfg.get("isolated"):
        base = _rss_mb()
        _fwd(op, tensors, L, backend)
        memory["fwd_peak_mb"] = _rss_mb() - base
        _fwd_bwd(op, tensors, L, backend)
        memory["fwd_bwd_peak_mb"] = _rss_mb() - base
    budget = cfg["max_seconds"]
    fwd = _timed(lambda: _fwd(op, tensors, L, backend), device, cfg["repeats"], budget)
    both = _timed(lambda: _fwd_bwd(op, tensors, L, backend), device, cfg["repeats"], budget)
    return {
        "status": "ok",
        "fwd_s": fwd[0],
        "fwd_min_s": fwd[1],
        "fwd_bwd_s": both[0],
        "fwd_bwd_min_s": both[1],
        **memory,
    }


def _run_isolated(cfg: dict) -> dict:
    payload = json.dumps({**cfg, "isolated": True})
    run = subprocess.run(
        [sys.executable, "-m", "s4_bench.kernels", "--worker", payload],
        capture_output=True,
        text=True,
    )
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
    if run.returncode != 0 or not lines:
        tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
        return {"status": "failed", "reason": f"exit {run.returncode}: {' | '.join(tail)}"}
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- the suite


def _naive_estimate_gb(op: str, H: int, N: int, L: int, itemsize: int) -> float:
    n_eff = 2 * N if op == "cauchy" else N  # the conj pair doubles Cauchy's terms
    return _NAIVE_TEMPORARIES * H * n_eff * L * itemsize / 1e9


def _default_backends(device: str, dtype: torch.dtype) -> list[str]:
    names = []
    for name, row in ssm_kernels.backends().items():
        if not row.available:
            continue
        if name == "cuda" and (not device.startswith("cuda") or dtype != torch.complex64):
            continue
        names.append(name)
    return names


def _add_ratios(results: list[dict]) -> None:
    base = {
        (r["op"], r["N"], r["L"]): r
        for r in results
        if r["backend"] == "naive" and r["status"] == "ok"
    }
    for r in results:
        ref = base.get((r["op"], r["N"], r["L"]))
        # ratios of the fastest repeat: on a shared machine the minimum is the least noisy
        for key in ("fwd", "fwd_bwd"):
            ok = ref is not None and r["status"] == "ok"
            r[f"speedup_{key}_vs_naive"] = ref[f"{key}_min_s"] / r[f"{key}_min_s"] if ok else None
        for key in ("fwd_peak_mb", "fwd_bwd_peak_mb"):
            ok = ref is not None and r["status"] == "ok" and ref[key] and r[key] is not None
            r[f"{key[:-3]}_fraction_of_naive"] = r[key] / ref[key] if ok else None


def _add_keops_ratios(results: list[dict]) -> None:
    """time / keops time (fastest repeats) per (op, N, L): issue 16's Cauchy target is
    torch fwd+bwd <= 0.5x pykeops; None where keops did not run."""
    keops = {
        (r["op"], r["N"], r["L"]): r
        for r in results
        if r["backend"] == "keops" and r["status"] == "ok"
    }
    for r in results:
        ref = keops.get((r["op"], r["N"], r["L"]))
        for key in ("fwd", "fwd_bwd"):
            ok = ref is not None and r["status"] == "ok"
            r[f"{key}_time_over_keops"] = r[f"{key}_min_s"] / ref[f"{key}_min_s"] if ok else None


def _targets(results: list[dict]) -> dict:
    """The issue's CPU targets at H=256, N=32, L=4096 (evaluated only when those ran)."""

    def find(op, backend, N=32, L=4096):
        for r in results:
            if (r["op"], r["backend"], r["N"], r["L"], r["H"]) == (op, backend, N, L, 256):
                return r if r["status"] == "ok" else None
        return None

    out = {}
    for op in ("cauchy", "vandermonde"):
        t = find(op, "torch")
        if t is None:
            continue
        entry = {"fwd_bwd_min_s": t["fwd_bwd_min_s"], "fwd_bwd_peak_mb": t["fwd_bwd_peak_mb"]}
        if t.get("speedup_fwd_bwd_vs_naive") is not None:
            entry["torch_at_least_naive_speed"] = t["speedup_fwd_bwd_vs_naive"] >= 1
        if t.get("fwd_bwd_peak_fraction_of_naive") is not None:
            entry["torch_peak_at_most_one_eighth"] = t["fwd_bwd_peak_fraction_of_naive"] <= 1 / 8
        limit_s = 0.30 if op == "cauchy" else 0.6
        entry[f"fwd_bwd_within_{limit_s}s"] = t["fwd_bwd_min_s"] <= limit_s
        if op == "cauchy" and t["fwd_bwd_peak_mb"] is not None:
            entry["peak_within_0.5GB"] = t["fwd_bwd_peak_mb"] <= 500
        out[op] = entry
    return out


def _machine(device: str) -> dict:
    return metadata(device)


def _print_table(results: list[dict]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # rich is a dependency, but the JSON is what matters
        for r in results:
            print(r)
        return
    table = Table(title="s4-bench kernels")
    cols = ("op", "backend", "N", "L", "fwd s", "fwd+bwd s", "peak MB", "x naive", "mem/naive")
    for col in cols:
        table.add_column(col, justify="right")
    fmt = lambda x, spec: "-" if x is None else format(x, spec)
    for r in results:
        if r["status"] != "ok":
            table.add_row(
                r["op"],
                r["backend"],
                str(r["N"]),
                str(r["L"]),
                r["status"],
                "",
                "",
                "",
                r.get("reason", "")[:40],
            )
            continue
        table.add_row(
            r["op"],
            r["backend"],
            str(r["N"]),
            str(r["L"]),
            fmt(r["fwd_min_s"], ".4f"),
            fmt(r["fwd_bwd_min_s"], ".4f"),
            fmt(r["fwd_bwd_peak_mb"], ".0f"),
            fmt(r["speedup_fwd_bwd_vs_naive"], ".2f"),
            fmt(r["fwd_bwd_peak_fraction_of_naive"], ".3f"),
        )
    Console(width=132).print(table)


def markdown_table(report: dict) -> str:
    """The results of a saved report as a markdown table (used for docs/kernels.md)."""
    head = "| op | backend | N | L | fwd s | fwd+bwd s | fwd+bwd peak MB | speed-up vs naive "
    head += "(fwd / fwd+bwd) | peak / naive |"
    lines = [head, "|" + " --- |" * 9]
    num = lambda x, spec: "-" if x is None else format(x, spec)
    for r in report["results"]:
        if r["status"] != "ok":
            lines.append(
                f"| {r['op']} | {r['backend']} | {r['N']} | {r['L']} | "
                f"{r['status']}: {r.get('reason', '')} | | | | |"
            )
            continue
        speed = f"{num(r['speedup_fwd_vs_naive'], '.2f')} / "
        speed += num(r["speedup_fwd_bwd_vs_naive"], ".2f")
        lines.append(
            f"| {r['op']} | {r['backend']} | {r['N']} | {r['L']} | {num(r['fwd_min_s'], '.4f')} "
            f"| {num(r['fwd_bwd_min_s'], '.4f')} | {num(r['fwd_bwd_peak_mb'], '.0f')} | {speed} "
            f"| {num(r['fwd_bwd_peak_fraction_of_naive'], '.3f')} |"
        )
    return "\n".join(lines)


def run_suite(args: argparse.Namespace) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    backends = args.backends or _default_backends(args.device, dtype)
    if "naive" not in backends:
        backends = ["naive", *backends]  # the baseline every ratio is measured against
    itemsize = torch.empty((), dtype=dtype).element_size()
    isolate = not args.no_isolate and not args.device.startswith("cuda")
    results = []
    for op in args.ops:
        for N in args.N:
            for L in args.L:
                for backend in backends:
                    cfg = {
                        "op": op,
                        "backend": backend,
                        "H": args.H,
                        "N": N,
                        "L": L,
                        "dtype": args.dtype,
                        "device": args.device,
                        "repeats": args.repeats,
                        "max_seconds": args.max_seconds,
                        "threads": args.threads,
                    }
                    est = _naive_estimate_gb(op, args.H, N, L, itemsize)
                    if backend == "naive" and est > args.naive_max_gb:
                        res = {
                            "status": "skipped",
                            "reason": (
                                f"naive needs ~{est:.1f} GB (> --naive-max-gb {args.naive_max_gb})"
                            ),
                        }
                    elif isolate:
                        res = _run_isolated(cfg)
                    else:
                        try:
                            res = measure(cfg)
                        except Exception as err:  # record and go on with the other configs
                            res = {"status": "failed", "reason": f"{type(err).__name__}: {err}"}
                    row = {k: cfg[k] for k in ("op", "backend", "H", "N", "L", "dtype", "device")}
                    row.update(
                        {
                            "fwd_s": None,
                            "fwd_min_s": None,
                            "fwd_bwd_s": None,
                            "fwd_bwd_min_s": None,
                            "fwd_peak_mb": None,
                            "fwd_bwd_peak_mb": None,
                        }
                    )
                    row.update(res)
                    results.append(row)
                    print(
                        f"{op:22s} {backend:6s} N={N:<4d} L={L:<6d} {row['status']}",
                        file=sys.stderr,
                        flush=True,
                    )
    _add_ratios(results)
    _add_keops_ratios(results)
    memory_method = (
        "torch.cuda.max_memory_allocated growth"
        if args.device.startswith("cuda")
        else "ru_maxrss growth in a fresh subprocess per config"
        if isolate
        else "not measured (--no-isolate)"
    )
    return {
        "suite": "kernels",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(args.device),
        "config": {
            "H": args.H,
            "N": args.N,
            "L": args.L,
            "ops": args.ops,
            "backends": backends,
            "dtype": args.dtype,
            "repeats": args.repeats,
            "memory": memory_method,
            "timing": "*_s: median, *_min_s: fastest of the repeats after one warm-up "
            "call; speed-ups use the fastest (least disturbed by other load)",
            "fwd_bwd": "forward + autograd.grad of sum(Re(out)^2) w.r.t. every input",
        },
        "backends": {
            n: {"available": s.available, "reason": s.reason}
            for n, s in ssm_kernels.backends().items()
        },
        "results": results,
        "targets": _targets(results),
    }


def _check_device(parser: argparse.ArgumentParser, device: str) -> None:
    """--device names a device torch can use here (a clear error, not a CUDA traceback)."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        parser.error(f"--device: expected cpu or cuda[:i], got {device!r}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            parser.error(
                f"--device: expected a CUDA device visible to torch, got {device!r} "
                f"(torch {torch.__version__}: torch.cuda.is_available() is False)"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            parser.error(
                f"--device: expected an index < {torch.cuda.device_count()}, got {device!r}"
            )
    elif dev.type != "cpu":
        parser.error(f"--device: expected cpu or cuda[:i], got {device!r}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.worker and not args.markdown:
        _check_device(parser, args.device)
    if args.worker:
        print(json.dumps(measure(json.loads(args.worker))), flush=True)
        return 0
    if args.markdown:
        print(markdown_table(json.loads(args.markdown.read_text())))
        return 0
    report = run_suite(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    _print_table(report["results"])
    print(f"wrote {args.out}")
    if not args.no_plot:
        plot(report, args.out.with_suffix(".png"))
    return 0


def plot(report: dict, path: Path) -> None:
    """fwd+bwd time and peak memory against L: a line per (op, backend, N), measured rows."""
    ok = [r for r in report["results"] if r.get("status") == "ok" and r.get("fwd_bwd_s")]
    keys = dict.fromkeys((r["op"], r["backend"], r["N"]) for r in ok)
    time_lines, mem_lines = [], []
    for op, backend, N in keys:
        rows = sorted((r for r in ok if (r["op"], r["backend"], r["N"]) == (op, backend, N)),
                      key=lambda r: r["L"])  # fmt: skip
        label = f"{op} {backend} N={N}"
        time_lines.append((label, [r["L"] for r in rows], [r["fwd_bwd_min_s"] for r in rows]))
        mem = [(r["L"], r["fwd_bwd_peak_mb"]) for r in rows if r.get("fwd_bwd_peak_mb")]
        if mem:
            mem_lines.append((label, [m[0] for m in mem], [m[1] for m in mem]))
    panels = [("fwd+bwd seconds (best)", "L", time_lines)]
    if mem_lines:
        panels.append(("fwd+bwd peak memory (MB)", "L", mem_lines))
    H = ok[0]["H"] if ok else "?"
    plot_lines(path, panels, f"s4-bench kernels: H={H}, {report['machine'].get('device', '')}")


if __name__ == "__main__":
    raise SystemExit(main())
