"""HiPPO online function approximation: a signal and what each measure's memory reads back.

LegS remembers the whole history (x = 0 is the start), the translated measures (LegT, FouT)
their window (theta = 1/2 for LegT; FouT's window is 1); N = 64 coefficients each.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import hippo_core as hc

OUT = Path(__file__).resolve().parents[1] / "generated"
OUT.mkdir(exist_ok=True)

L, N = 2000, 64
t = np.arange(1, L + 1) / L  # samples at t_k = (k + 1) dt, dt = 1/L
rng = np.random.default_rng(0)
freqs, phases = rng.uniform(1, 12, 6), rng.uniform(0, 2 * np.pi, 6)
f = sum(np.sin(2 * np.pi * w * t + p) / (1 + i) for i, (w, p) in enumerate(zip(freqs, phases)))

fig, axes = plt.subplots(1, 3, figsize=(13, 3.2), sharey=True)
for ax, (measure, theta, title) in zip(
    axes,
    [
        ("legs", 1.0, "LegS: the whole history"),
        ("legt", 0.5, "LegT: the last 0.5"),
        ("fout", 1.0, "FouT: the last 1 (its window)"),
    ],
):
    memory = hc.HiPPO(measure, N=N, dt=1 / L, theta=theta)
    coefs = memory.project(f)
    x = np.linspace(0, 1, 400)
    f_hat = memory.reconstruct(coefs[-1], x)
    window_t = x if measure == "legs" else 1 - theta + theta * x
    truth = np.interp(window_t, t, f)
    err = np.linalg.norm(f_hat - truth) / np.linalg.norm(truth)
    ax.plot(t, f, color="0.75", lw=1, label="signal")
    ax.plot(window_t, f_hat, color="C3", lw=1.5, label=f"reconstruction (rel. err {err:.1e})")
    ax.set_title(f"{title}, N={N}")
    ax.set_xlabel("t")
    ax.legend(fontsize=7, loc="lower left")
fig.tight_layout()
fig.savefig(OUT / "hippo_approximation.png", dpi=110)
