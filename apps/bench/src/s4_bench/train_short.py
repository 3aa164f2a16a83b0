"""Short-sequence training cases of ``s4-bench train --short`` (issue 16's regime: L <= 256,
small d_model), each measured without Lightning so that only the layers' own cost shows:

- ``epoch`` rows: a training epoch (plus a validation pass) of an s4-train backbone on a
  synthetic 10-class task, trained by :func:`s4_bench.plain_loop.plain_loop` on the same network,
  optimiser and schedule s4-train would build: ``s4d-minimal`` (L=40, 4000 training series)
  and ``s4-dplr`` (the S4 backbone, L=64, 1437 training sequences); d_model 64, 4 layers,
  batch 64. Best and median epoch after the first (warm-up) epoch.
- ``step`` rows: one training step (forward, cross-entropy, backward, AdamW step) of a 4-layer
  ``s4_layers.SequenceModel`` of S4Blocks (B=64, H=64, N=64, L=64), for mode dplr and diag,
  timed by :func:`s4_bench.common.time_fn`; ``kernel_share`` is the part of the step spent
  computing the 4 SSM kernels (forward and backward of ``kernel(L)`` alone), the DPLR
  kernel's dense ``Abar^L`` work included.

Synthetic data: per class c, ``x_t = sin(2 pi f_c t + phase) + noise`` (a task the models learn
in a few epochs; only time is reported here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

# name -> (model overrides, L, training series, val/test series each)
EPOCH_CASES: dict[str, tuple[list[str], int, int, int]] = {
    "s4d-minimal": (["model=s4d_minimal"], 40, 4000, 500),
    "s4-dplr": (["model=s4"], 64, 1437, 200),
}
N_CLASSES = 10
SHARED = ["model.d_model=64", "model.n_layers=4", "loader.batch_size=64", "train.seed=0"]


def write_task(path: Path, L: int, n_train: int, n_eval: int, seed: int = 0) -> Path:
    """A 10-class .npz (x_train/y_train/x_val/y_val/x_test/y_test, x (n, L) float32)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("val", n_eval), ("test", n_eval)):
        y = rng.integers(0, N_CLASSES, n)
        t = np.arange(L)
        phase = rng.uniform(0, 2 * np.pi, (n, 1))
        x = np.sin(2 * np.pi * 0.05 * (y[:, None] + 1) * t + phase)
        arrays[f"x_{split}"] = (x + 0.5 * rng.standard_normal((n, L))).astype(np.float32)
        arrays[f"y_{split}"] = y
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def epoch_case(name: str, folder: Path, epochs: int) -> dict[str, Any]:
    from s4_bench.plain_loop import plain_loop

    model, L, n_train, n_eval = EPOCH_CASES[name]
    path = write_task(folder / f"{name}-L{L}.npz", L, n_train, n_eval)
    overrides = ["experiment=npz", f"dataset.path={path}", *model, *SHARED]
    result = plain_loop(overrides, epochs)
    return {"case": name, "L": L, "n_train": n_train, "B": 64, "H": 64, **result}


def _sequence_model(mode: str, H: int, N: int, n_layers: int) -> torch.nn.Module:
    from s4_layers import SequenceModel

    return SequenceModel(
        H, n_layers=n_layers, layer={"mode": mode, "d_state": N}, dropout=0.0, prenorm=True
    )


def step_case(mode: str, B: int, H: int, N: int, L: int, min_time: float) -> dict[str, Any]:
    from s4_bench.common import time_fn

    torch.manual_seed(0)
    backbone = _sequence_model(mode, H, N, 4)
    head = torch.nn.Linear(H, N_CLASSES)
    params = [*backbone.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    x = torch.randn(B, L, H)
    y = torch.randint(0, N_CLASSES, (B,))

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        out, _ = backbone(x)
        loss = torch.nn.functional.cross_entropy(head(out.mean(1)), y)
        loss.backward()
        optimizer.step()

    kernels = [m for m in backbone.modules() if hasattr(m, "family")]

    def kernels_only() -> None:
        total = sum(k(L).sum() for k in kernels)
        total.backward()

    step = time_fn(train_step, min_time)
    kernel = time_fn(kernels_only, min_time)
    return {
        "case": f"step-{mode}",
        "mode": mode,
        "B": B,
        "H": H,
        "N": N,
        "L": L,
        "n_layers": 4,
        "step_s": step["median_s"],
        "step_min_s": step["min_s"],
        "kernels_s": kernel["median_s"],
        "kernel_share": kernel["min_s"] / step["min_s"],
    }


def run(folder: Path, epochs: int, min_time: float) -> dict[str, list[dict[str, Any]]]:
    """Every case: {"epoch": [...], "step": [...]}."""
    epoch_rows = [epoch_case(name, folder, epochs) for name in EPOCH_CASES]
    step_rows = [step_case(mode, 64, 64, 64, 64, min_time) for mode in ("dplr", "diag")]
    return {"epoch": epoch_rows, "step": step_rows}
