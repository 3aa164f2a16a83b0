"""``s4-bench generate``: autoregressive sampling speed, step mode versus recomputing.

Models (``--models``): ``sashimi`` (SaShiMi backbone, S4D blocks, pool [4, 4]) and ``s4-lm``
(SequenceModel of S4 (DPLR) blocks), each between a 256-token embedding and a linear head.

- ``sample``: samples/s at each ``--batches`` (default 1 and 16) of (a) step mode: one
  ``step()`` per new token, O(1) each, and (b) recomputing the whole convolution over the
  context (``--context`` tokens so far) for every new token, as a model without a recurrent
  form must; reported with ``speedup`` = step / recompute.
- ``warmup``: a ``--prefix``-token prompt through forward-with-state (one convolution) versus
  a step loop over the prompt, with ``speedup`` = loop time / forward time.

All figures come from one run (ratios are meaningful on a loaded machine, absolute rates are
not). Writes JSON (default ``bench-results/generate.json``), prints a table and plots
samples/s against batch (one line per model and method) beside the JSON.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

from s4_bench.common import metadata, plot_lines, time_fn, write_report
from s4_layers import SaShiMi, SequenceModel

MODELS = ("sashimi", "s4-lm")
VOCAB = 256


class _LM(nn.Module):
    """embedding -> backbone (B, L, H) -> linear head."""

    def __init__(self, backbone: nn.Module, d_model: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        self.backbone = backbone
        self.head = nn.Linear(d_model, VOCAB)


def build(name: str, d_model: int, n_layers: int, d_state: int) -> _LM:
    if name == "sashimi":
        layer = {"mode": "diag", "d_state": d_state}
        backbone: nn.Module = SaShiMi(d_model, n_layers=n_layers, pool=[4, 4], layer=layer)
    elif name == "s4-lm":
        backbone = SequenceModel(
            d_model, n_layers=n_layers, layer={"mode": "dplr", "d_state": d_state}
        )
    else:
        raise ValueError(f"--models: expected names from {list(MODELS)}, got {name!r}")
    return _LM(backbone, d_model).eval()


def _chunk(model: _LM) -> int:
    return int(getattr(model.backbone, "chunk", 1))


def _timed(fn) -> float:
    """Median seconds of one call of ``fn`` (the suites' one timing method)."""
    return time_fn(fn, min_time=0.1)["median_s"]


@torch.no_grad()
def step_rate(model: _LM, batch: int, n_new: int) -> float:
    """samples/s of step mode (greedy next token)."""
    model.backbone.setup_step()
    state = model.backbone.default_state(batch)
    token = torch.zeros(batch, dtype=torch.long)

    def loop() -> None:
        nonlocal state, token
        for _ in range(n_new):
            y, state = model.backbone.step(model.embed(token), state)
            token = model.head(y).argmax(-1)

    return batch * n_new / _timed(loop)


@torch.no_grad()
def recompute_rate(model: _LM, batch: int, context: int, n_new: int) -> float:
    """samples/s when every new token reruns the convolution over the whole context."""
    chunk = _chunk(model)
    tokens = torch.zeros(batch, context, dtype=torch.long)

    def loop() -> None:
        nonlocal tokens
        for _ in range(n_new):
            L = tokens.shape[1]
            padded = -(-L // chunk) * chunk  # causal: right padding changes nothing before L
            x = torch.nn.functional.pad(tokens, (0, padded - L))
            y, _ = model.backbone(model.embed(x))
            nxt = model.head(y[:, L - 1]).argmax(-1)
            tokens = torch.cat([tokens, nxt[:, None]], 1)

    return batch * n_new / _timed(loop)


@torch.no_grad()
def warmup_times(model: _LM, batch: int, prefix: int) -> tuple[float, float]:
    """(seconds of forward-with-state over the prompt, seconds of a step loop over it)."""
    prompt = torch.randint(0, VOCAB, (batch, prefix))
    h = model.embed(prompt)
    backbone = model.backbone
    conv = _timed(lambda: backbone(h, state=backbone.default_state(batch)))
    backbone.setup_step()

    def loop() -> None:
        state = backbone.default_state(batch)
        for t in range(prefix):
            _, state = backbone.step(h[:, t], state)

    return conv, _timed(loop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="s4-bench generate", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--n-layers", type=int, default=2)
    parser.add_argument("--d-state", type=int, default=32)
    parser.add_argument("--context", type=int, default=1024, help="tokens before each new one")
    parser.add_argument("--new", type=int, default=64, help="new tokens timed in step mode")
    parser.add_argument("--recompute-new", type=int, default=8, help="new tokens, recompute")
    parser.add_argument("--prefix", type=int, default=1024, help="prompt length for warm-up")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-results/generate.json")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    for name in ("context", "prefix"):
        if getattr(args, name) % 16:
            parser.error(
                f"--{name}: expected a multiple of 16 (SaShiMi's prod(pool)), got "
                f"{getattr(args, name)}"
            )
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    samples: list[dict[str, Any]] = []
    warmups: list[dict[str, Any]] = []
    for name in args.models:
        model = build(name, args.d_model, args.n_layers, args.d_state)
        for batch in args.batches:
            step = step_rate(model, batch, args.new)
            recompute = recompute_rate(model, batch, args.context, args.recompute_new)
            samples.append(
                {
                    "model": name,
                    "batch": batch,
                    "context": args.context,
                    "step_samples_per_s": step,
                    "recompute_samples_per_s": recompute,
                    "speedup": step / recompute,
                }
            )
        conv, loop = warmup_times(model, 1, args.prefix)
        warmups.append(
            {
                "model": name,
                "batch": 1,
                "prefix": args.prefix,
                "forward_with_state_s": conv,
                "step_loop_s": loop,
                "speedup": loop / conv,
            }
        )
    report = {
        "suite": "generate",
        "machine": metadata("cpu"),
        "config": vars(args),
        "sample": samples,
        "warmup": warmups,
        "note": "one run; compare the ratios (speedup), not absolute rates, on a shared machine",
    }
    for row in samples:
        print(
            f"{row['model']:<8} B={row['batch']:<3} step {row['step_samples_per_s']:9.0f}/s  "
            f"recompute@{row['context']} {row['recompute_samples_per_s']:8.1f}/s  "
            f"x{row['speedup']:.0f}"
        )
    for row in warmups:
        print(
            f"{row['model']:<8} warm-up {row['prefix']}: forward-with-state "
            f"{row['forward_with_state_s'] * 1e3:.1f} ms, step loop {row['step_loop_s'] * 1e3:.1f}"
            f" ms  x{row['speedup']:.0f}"
        )
    out = write_report(report, args.out)
    if not args.no_plot:
        plot(report, out.with_suffix(".png"))
    return 0


def plot(report: dict[str, Any], path) -> None:
    """samples/s against batch: step mode and recomputation, one line each per model."""
    lines = []
    for name in dict.fromkeys(r["model"] for r in report["sample"]):
        rows = [r for r in report["sample"] if r["model"] == name]
        for key, method in (
            ("step_samples_per_s", "step"),
            ("recompute_samples_per_s", "recompute"),
        ):
            lines.append((f"{name} {method}", [r["batch"] for r in rows], [r[key] for r in rows]))
    context = report["config"]["context"]
    plot_lines(
        path,
        [("samples / s", "batch B", lines)],
        f"s4-bench generate: step mode vs recomputing over {context} tokens, "
        f"{report['machine']['device']}",
    )
