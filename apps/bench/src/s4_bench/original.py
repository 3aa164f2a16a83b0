"""``s4-bench original --original-dir DIR``: our layers side by side with the original
state-spaces/s4 standalone layers, at the same shapes, with the same timer, in one process.

``DIR`` holds the original's ``s4.py`` and ``s4d.py`` (``models/s4/`` of a state-spaces/s4
checkout; the original is not part of this project and is only imported, never copied). Every
case runs the original and ours back to back, round after round: a shared CPU's timings drift
by 10-15 % between runs (more on a busy host), so a ratio from one round of one process is the
figure to trust, and the median over rounds is the one reported. Sections (``--sections``):

- ``step``: steps/s of one ``step`` call on a (B, H) input, S4 diag and S4 DPLR (the original's
  ``nplr`` with its dense step, ``setup_step(mode="dense")``) at each ``--batches``; ours also S4D
  and the exact O(N r) DPLR step (the original has no faster DPLR step to set against them).
  The two sides' chunks of 50 steps alternate (:func:`~s4_bench.common.paired_times`) and the
  speedup is the median of the chunk pairs' ratios: a step is ~0.1-0.5 ms, and the host's speed
  moves more between two one-second timings than between two chunks a few ms apart.
- ``layers``: S4Block dplr / diag and S4D forward+backward at (B, H, L); the original once per
  CPU backend in ``--original-backends`` (its ``keops`` and ``naive``), the best of them is the
  one the ratio uses (the original's best CPU backend). Then our dplr and diag layers
  interleaved: ``ours_over_our_diag``, the median of their pairs' time ratios.
- ``cauchy``: Cauchy forward+backward at each length, the original's pykeops (else its naive)
  against our ``torch`` backend (and our ``keops`` one where pykeops compiles).
- ``trainstep``: one training step (forward, cross-entropy, backward, AdamW) of a 4-layer stack.
- ``epoch``: a training epoch plus a validation pass on the synthetic 10-class tasks of
  ``s4-bench train --short`` (S4D L=40 with 4000 series, S4 DPLR L=64 with 1437; batch 64), and
  the original's S4D on ``s4-bench train --npz-task``'s task (batch 32), the plain loop that
  ``s4-train experiment=npz`` is set against.

``trainstep`` and ``epoch`` run both layers in one frame (encoder, prenorm LayerNorm, layer,
residual; mean pool, decoder), so only the layer differs.

Loading the original (and its two CPU adapters) and building either side's layers:
:mod:`s4_bench.original_layers`.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from s4_bench.common import metadata, paired_times, print_table, time_fn, write_report
from s4_bench.original_layers import N_CLASSES, Frame, Layers, _output, load_original

SECTIONS = ("step", "layers", "cauchy", "trainstep", "epoch")
# matched on (section, case); "> 1 is faster" for steps/s, "< 1 is faster" for seconds
COMPARE = {"summary": (("section", "case"), {"ours_steps_per_s": "rate", "ours_s": "time"})}


# ---------------------------------------------------------------------------------------------
# sections: each returns its rows for one round


def _step_label(kind: str, step_mode: str | None) -> str:
    return kind if step_mode is None else f"{kind}-{step_mode}"


def section_step(layers: Layers, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Steps/s of each case; where both sides run, their chunks of steps are interleaved
    (:func:`~s4_bench.common.paired_times`) and ours carries ``paired_speedup``, the median
    over chunk pairs of the original's time / ours."""
    from s4_bench.step import step_chunk

    H, N, chunk = args.d_model, args.d_state, 50
    both, ours_only = ("ours", "original"), ("ours",)
    # (kind, step mode, sides): ours alone for S4D and the O(N r) step (the original has none)
    cases = [("diag", None, both), ("dplr", "dense", both), ("s4d", None, ours_only),
             ("dplr", "linear", ours_only)]  # fmt: skip
    rows = []
    for B in args.batches:
        for kind, step_mode, sides in cases:
            chunks = {}
            for impl in sides:
                torch.manual_seed(0)
                model = layers.build(impl, kind, H, N).eval()
                chunks[impl] = step_chunk(model, step_mode, B, H, chunk, "cpu")
            timing = paired_times(chunks, args.min_time)
            for impl in sides:
                row = {
                    "case": f"{_step_label(kind, step_mode)}@B={B}",
                    "impl": impl,
                    "kind": kind,
                    "step_mode": step_mode,
                    "B": B,
                    "steps_per_s": chunk / timing["median_s"][impl],
                    "pairs": timing["rounds"],
                }
                if impl == "ours" and "original" in sides:
                    row["paired_speedup"] = timing["ratio_to_first"]["original"]
                rows.append(row)
    return rows


def _fwd_bwd_call(model: nn.Module, B: int, H: int, L: int) -> Callable[[], None]:
    x = torch.randn(B, H, L, requires_grad=True)

    def run():
        _output(model(x)).sum().backward()

    return run


def section_layers(layers: Layers, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Forward+backward seconds (best of ``--min-time``) of each side's layers. Ours also
    carries ``paired_over_diag`` on its dplr row: our S4Block dplr against our diag layer, the
    two calls interleaved (:func:`~s4_bench.common.paired_times`, at least 8 pairs) and the
    median of the pairs' ratios (issue 16's target, <= 1.2, is that ratio)."""
    H, N, B, L = args.d_model, args.d_state, args.layer_batch, args.length
    rows, our_runs, our_rows = [], {}, {}
    for kind in ("dplr", "diag", "s4d"):
        # the original's S4D has no backend option (it is plain torch)
        sides = [("original", b) for b in (args.original_backends if kind != "s4d" else ["-"])]
        for impl, backend in [*sides, ("ours", "auto")]:
            torch.manual_seed(0)
            model = layers.build(impl, kind, H, N, backend=backend).train()
            run = _fwd_bwd_call(model, B, H, L)
            rows.append(
                {
                    "case": f"{kind}@B={B},L={L}",
                    "impl": impl,
                    "backend": backend,
                    "kind": kind,
                    "B": B,
                    "L": L,
                    "fwd_bwd_s": time_fn(run, args.min_time)["min_s"],
                }
            )
            if impl == "ours":  # kept for the pairing below (the original's are let go)
                our_runs[kind], our_rows[kind] = run, rows[-1]
    timing = paired_times({"diag": our_runs["diag"], "dplr": our_runs["dplr"]}, args.min_time, 8)
    our_rows["dplr"]["paired_over_diag"] = timing["ratio_to_first"]["dplr"]
    our_rows["dplr"]["pairs_over_diag"] = timing["rounds"]
    return rows


def section_cauchy(layers: Layers, args: argparse.Namespace) -> list[dict[str, Any]]:
    import ssm_kernels
    from s4_bench.kernels import op_inputs

    s4 = layers.s4
    if getattr(s4, "has_pykeops", False):
        original = ("original", "keops", s4.cauchy_keops)
    else:
        original = ("original", "naive", s4.cauchy_naive)
    available = ssm_kernels.backends()
    ours = [("ours", b, None) for b in args.ours_cauchy_backends if available[b].available]
    rows = []
    for L in args.cauchy_lengths:
        for impl, backend, fn in [original, *ours]:
            # the inputs of s4-bench kernels' Cauchy op (S4-like poles, bilinear frequencies)
            v, z, w = op_inputs("cauchy", args.d_model, args.cauchy_n, L, torch.complex64, "cpu")
            call = fn or (lambda v, z, w, b=backend: ssm_kernels.cauchy(v, z, w, backend=b))

            def run(call=call, v=v, z=z, w=w):
                torch.view_as_real(call(v, z, w)).sum().backward()

            rows.append(
                {
                    "case": f"N={args.cauchy_n},L={L}",
                    "impl": impl,
                    "backend": backend,
                    "N": args.cauchy_n,
                    "L": L,
                    "fwd_bwd_s": time_fn(run, args.min_time)["min_s"],
                }
            )
    return rows


def section_trainstep(layers: Layers, args: argparse.Namespace) -> list[dict[str, Any]]:
    B, H, L = args.train_batch, args.train_d_model, args.train_length
    rows = []
    for kind in ("dplr", "diag"):
        for impl in ("original", "ours"):
            torch.manual_seed(0)
            net = Frame(partial(layers.build, impl, kind, H, args.d_state), H, H)
            optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
            x, y = torch.randn(B, L, H), torch.randint(0, N_CLASSES, (B,))

            def step(net=net, optimizer=optimizer, x=x, y=y):
                optimizer.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(net(x), y).backward()
                optimizer.step()

            rows.append(
                {
                    "case": f"{kind}@B={B},H={H},L={L}",
                    "impl": impl,
                    "kind": kind,
                    "step_s": time_fn(step, args.min_time)["min_s"],
                }
            )
    return rows


def _epoch_runner(net: nn.Module, data: dict, batch: int) -> Callable[[], None]:
    """A function that runs one training epoch of ``net`` on ``data`` and a no-grad pass over
    its val split (AdamW, shuffled batches in a seeded order)."""

    def loader(split, shuffle):
        x = torch.from_numpy(data[f"x_{split}"])[..., None]
        dataset = torch.utils.data.TensorDataset(x, torch.from_numpy(data[f"y_{split}"]))
        order = torch.Generator().manual_seed(0) if shuffle else None
        return torch.utils.data.DataLoader(dataset, batch, shuffle=shuffle, generator=order)

    train, val = loader("train", True), loader("val", False)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)

    def epoch() -> None:
        net.train()
        for x, y in train:
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            for x, _ in val:
                net(x)

    return epoch


def section_epoch(layers: Layers, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Seconds per epoch (training and a validation pass) of each case. Where both sides run,
    their epochs alternate (:func:`~s4_bench.common.paired_times`: one warm-up epoch each, then
    ``--epochs - 1`` pairs in a rotated order) and ours carries ``paired_speedup``, the median
    over the pairs of the original's epoch time / ours: an epoch is 1-3 s, and the host's speed
    moves by 15-40 % between two epochs a minute apart, less between neighbours."""
    from s4_bench.train_short import write_task

    # (name, kind, L, training series, val/test series each, batch, sides)
    cases = [
        ("s4d-minimal", "s4d", 40, 4000, 500, 64, ("original", "ours")),
        ("s4-dplr", "dplr", 64, 1437, 200, 64, ("original", "ours")),
        ("npz-task", "s4d", 40, 2000, 1000, 32, ("original",)),  # against s4-train's epoch
    ]
    rows = []
    for name, kind, L, n_train, n_eval, batch, sides in cases:
        n_train, n_eval = (max(2, round(n * args.task_scale)) for n in (n_train, n_eval))
        path = write_task(Path(args.data_dir) / f"{name}-L{L}-{n_train}.npz", L, n_train, n_eval)
        with np.load(path) as archive:
            data = {k: archive[k] for k in archive.files}
        runners = {}
        for impl in sides:
            torch.manual_seed(0)
            build = partial(layers.build, impl, kind, args.train_d_model, args.d_state)
            runners[impl] = _epoch_runner(Frame(build, 1, args.train_d_model), data, batch)
        timing = paired_times(runners, min_time=0.0, min_rounds=max(args.epochs - 1, 1))
        seconds = timing["seconds"]
        for impl in sides:
            row = {
                "case": name,
                "impl": impl,
                "kind": kind,
                "L": L,
                "n_train": n_train,
                "batch": batch,
                "epoch_s": min(seconds[impl]),
                "epoch_median_s": statistics.median(seconds[impl]),
                "epochs_s": seconds[impl],  # after the warm-up epoch
            }
            if impl == "ours" and "original" in seconds:
                pairs = [o / t for o, t in zip(seconds["original"], seconds[impl], strict=True)]
                row["paired_speedup"] = statistics.median(pairs)
                row["pair_speedups"] = pairs
            rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# summary and CLI

_METRIC = {
    "step": "steps_per_s",
    "layers": "fwd_bwd_s",
    "cauchy": "fwd_bwd_s",
    "trainstep": "step_s",
    "epoch": "epoch_s",
}


def summarise(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per (section, case): the median over rounds of ours (the ``torch`` backend for Cauchy)
    and of the original (its best backend in each round), and ``speedup`` = how many times
    faster ours is: the median over rounds of ``paired_speedup`` where the rows have it (step:
    interleaved chunks), else original time / ours, or ours steps/s / original's; the layers'
    dplr entry also has ``ours_over_our_diag``, the median over rounds of ``paired_over_diag``."""
    out = []
    for section in SECTIONS:
        metric = _METRIC[section]
        rate = metric == "steps_per_s"
        best = max if rate else min
        per_case: dict[str, dict[str, dict[int, float]]] = {}
        for row in report.get(section, []):
            if section == "cauchy" and row["impl"] == "ours" and row["backend"] != "torch":
                continue
            rounds = per_case.setdefault(row["case"], {}).setdefault(row["impl"], {})
            value = row[metric]
            rounds[row["round"]] = best(rounds.get(row["round"], value), value)
        paired: dict[str, list[float]] = {}
        over_diag: dict[str, list[float]] = {}
        for row in report.get(section, []):
            if "paired_speedup" in row:
                paired.setdefault(row["case"], []).append(row["paired_speedup"])
            if "paired_over_diag" in row:
                over_diag.setdefault(row["case"], []).append(row["paired_over_diag"])
        for case, sides in per_case.items():
            ours = statistics.median(sides["ours"].values()) if "ours" in sides else None
            orig = statistics.median(sides["original"].values()) if "original" in sides else None
            entry: dict[str, Any] = {"section": section, "case": case}
            entry["ours_steps_per_s" if rate else "ours_s"] = ours
            entry["original_steps_per_s" if rate else "original_s"] = orig
            if case in paired:  # interleaved chunks: the median of their ratios
                entry["speedup"] = statistics.median(paired[case])
            elif ours and orig:
                entry["speedup"] = ours / orig if rate else orig / ours
            if case in over_diag:  # layers: our dplr / our diag, paired, median over rounds
                entry["ours_over_our_diag"] = statistics.median(over_diag[case])
            out.append(entry)
    return out


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="s4-bench original", description=__doc__.split("\n")[0])
    p.add_argument(
        "--original-dir",
        required=True,
        help="folder with the original's s4.py and s4d.py (state-spaces/s4 models/s4)",
    )
    p.add_argument("--out", default="bench-results/original.json")
    p.add_argument(
        "--sections", default=",".join(SECTIONS), help="comma list of " + ", ".join(SECTIONS)
    )
    p.add_argument("--rounds", type=int, default=2, help="original / ours alternations per case")
    p.add_argument("--min-time", type=float, default=1.0, help="seconds measured per timing")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--d-model", type=int, default=256, help="H of step, layers and cauchy")
    p.add_argument("--d-state", type=int, default=64)
    p.add_argument("--batches", type=_ints, default=[1, 16], help="step batches, e.g. 1,16")
    p.add_argument("--layer-batch", type=int, default=16)
    p.add_argument("--length", type=int, default=4096, help="L of the layers section")
    p.add_argument(
        "--original-backends",
        default="keops,naive",
        help="the original's CPU backends to time in the layers section",
    )
    p.add_argument(
        "--ours-cauchy-backends",
        default="torch,keops",
        help="our backends in the cauchy section (the ratio uses torch; keops where it compiles)",
    )
    p.add_argument("--cauchy-n", type=int, default=32, help="poles per Cauchy sum (N/2)")
    p.add_argument("--cauchy-lengths", type=_ints, default=[4096, 16384])
    p.add_argument("--train-d-model", type=int, default=64, help="H of trainstep and epoch")
    p.add_argument("--train-batch", type=int, default=64)
    p.add_argument("--train-length", type=int, default=64)
    p.add_argument("--epochs", type=int, default=5, help="epochs per epoch case (first: warm-up)")
    p.add_argument("--task-scale", type=float, default=1.0, help="fraction of the tasks' series")
    p.add_argument("--data-dir", default="bench-results/original-data")
    args = p.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        p.error(f"--sections: expected names from {SECTIONS}, got {unknown}")
    args.original_backends = [b.strip() for b in args.original_backends.split(",") if b.strip()]
    bad = sorted(set(args.original_backends) - {"keops", "naive"})
    if bad or not args.original_backends:
        p.error(f"--original-backends: expected keops and/or naive, got {bad or 'nothing'}")
    args.ours_cauchy_backends = [b.strip() for b in args.ours_cauchy_backends.split(",")]
    if "torch" not in args.ours_cauchy_backends or not set(args.ours_cauchy_backends) <= {
        "torch",
        "keops",
    }:
        p.error(
            "--ours-cauchy-backends: expected torch, optionally with keops, "
            f"got {args.ours_cauchy_backends}"
        )
    if args.rounds < 1 or args.epochs < 1 or not 0 < args.task_scale <= 1:
        p.error("--rounds and --epochs: expected >= 1; --task-scale: expected a value in (0, 1]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    s4, s4d = load_original(args.original_dir)
    if not getattr(s4, "has_pykeops", False) and "keops" in args.original_backends:
        args.original_backends = ["naive"]  # its keops backend needs pykeops
    layers = Layers(s4, s4d)
    report: dict[str, Any] = {
        "suite": "original",
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": metadata("cpu"),
        "original": {
            "dir": str(Path(args.original_dir).resolve()),
            "has_pykeops": bool(getattr(s4, "has_pykeops", False)),
        },
    }
    for r in range(args.rounds):
        for section in args.sections:
            rows = globals()[f"section_{section}"](layers, args)
            for row in rows:
                row["round"] = r
            report.setdefault(section, []).extend(rows)
    report["summary"] = summarise(report)
    cols = [
        "section",
        "case",
        "ours_s",
        "original_s",
        "ours_steps_per_s",
        "original_steps_per_s",
        "speedup",
        "ours_over_our_diag",
    ]
    print_table(
        f"s4-bench original: ours against the original, median of {args.rounds} round(s) "
        "(speedup > 1: ours faster)",
        report["summary"],
        cols,
    )
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
