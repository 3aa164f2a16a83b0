"""Step throughput and short-sequence fwd+bwd of the s4-layers modules (best of N repeats).

    python packages/s4-layers/benchmarks/step_and_short.py [--quick] > out.json

Prints one JSON object: steps/s of ``step`` (no_grad) for S4D, S4Block diag, S4Block dplr
(dense and linear step forms) at B=1 and B=16, and ms per fwd+bwd of S4Block diag / dplr at
short L. Compare two checkouts by running it with each on PYTHONPATH in the same session
(absolute figures on a shared machine are noisy: compare ratios).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from s4_layers import S4D, S4Block


def best_rate(fn, n_inner: int, repeats: int) -> float:
    """Calls per second of the fastest of ``repeats`` runs of ``n_inner`` calls."""
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n_inner):
            fn()
        best = min(best, time.perf_counter() - t0)
    return n_inner / best


def step_rate(layer, B: int, H: int, mode: str | None, n_inner: int, repeats: int) -> float:
    layer.setup_step(mode=mode) if mode else layer.setup_step()
    state = layer.default_state(B)
    x = torch.randn(B, H)
    holder = [state]

    def one():
        _, holder[0] = layer.step(x, holder[0])

    with torch.no_grad():
        return best_rate(one, n_inner, repeats)


def fwd_bwd_ms(layer, B: int, H: int, L: int, repeats: int) -> float:
    x = torch.randn(B, H, L)

    def one():
        layer.zero_grad(set_to_none=True)
        y, _ = layer(x)
        y.square().mean().backward()

    return 1e3 / best_rate(one, 3, repeats)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    H, N = 256, 64
    n_inner, repeats = (50, 3) if args.quick else (200, 5)
    out: dict[str, float] = {}
    layers = {
        "s4d": (lambda: S4D(H, N), None),
        "diag": (lambda: S4Block(H, mode="diag", d_state=N), None),
        "dplr_dense": (lambda: S4Block(H, mode="dplr", d_state=N), "dense"),
        "dplr_linear": (lambda: S4Block(H, mode="dplr", d_state=N), "linear"),
    }
    for name, (make, mode) in layers.items():
        for B in (1, 16):
            out[f"step_{name}_B{B}_steps_per_s"] = step_rate(make(), B, H, mode, n_inner, repeats)
    for mode in ("diag", "dplr"):
        for L in (64, 256):
            layer = S4Block(64, mode=mode, d_state=64)
            out[f"fwdbwd_{mode}_B16_H64_L{L}_ms"] = fwd_bwd_ms(layer, 16, 64, L, repeats)
    print(json.dumps({k: round(v, 2) for k, v in out.items()}, indent=1))


if __name__ == "__main__":
    main()
