"""Step throughput and short-sequence fwd+bwd of the s4-layers modules (best of N repeats).

    python packages/s4-layers/benchmarks/step_and_short.py [--quick] > out.json

Prints one JSON object: steps/s of ``step`` (no_grad) for S4D, S4Block diag, S4Block dplr
(dense and linear step forms) at B=1 and B=16 (H=256, N=64), and ms per fwd+bwd of S4Block
diag / dplr at short L (B=16, H=64, N=64). Each case runs in a fresh process (the allocator's
history of earlier cases changes step timings by up to 2x). Compare two checkouts by running
it with each on PYTHONPATH in the same session (absolute figures on a shared machine are
noisy: compare ratios).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
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


STEP_LAYERS = {
    "s4d": (lambda H, N: S4D(H, N), None),
    "diag": (lambda H, N: S4Block(H, mode="diag", d_state=N), None),
    "dplr_dense": (lambda H, N: S4Block(H, mode="dplr", d_state=N), "dense"),
    "dplr_linear": (lambda H, N: S4Block(H, mode="dplr", d_state=N), "linear"),
}
CASES = [f"step_{name}_B{B}" for name in STEP_LAYERS for B in (1, 16)] + [
    f"fwdbwd_{mode}_L{L}" for mode in ("diag", "dplr") for L in (64, 256)
]


def run_case(case: str, quick: bool) -> tuple[str, float]:
    torch.manual_seed(0)
    n_inner, repeats = (50, 3) if quick else (200, 5)
    kind, name = case.split("_", 1)
    if kind == "step":
        layer_name, B = name.rsplit("_B", 1)
        make, mode = STEP_LAYERS[layer_name]
        rate = step_rate(make(256, 64), int(B), 256, mode, n_inner, repeats)
        return f"{case}_steps_per_s", rate
    mode, L = name.split("_L")
    layer = S4Block(64, mode=mode, d_state=64)
    return f"{case}_B16_H64_ms", fwd_bwd_ms(layer, 16, 64, int(L), repeats)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--case", choices=CASES, help="run one case in this process")
    args = parser.parse_args()
    if args.case:
        key, value = run_case(args.case, args.quick)
        print(json.dumps({key: round(value, 2)}))
        return
    out: dict[str, float] = {}
    for case in CASES:
        cmd = [sys.executable, __file__, "--case", case] + (["--quick"] if args.quick else [])
        out.update(json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
