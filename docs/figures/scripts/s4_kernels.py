"""Convolution kernels K (one channel) of S4 and S4D layers at initialisation, by init."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from s4_layers import SSMKernelDiag, SSMKernelDPLR

OUT = Path(__file__).resolve().parents[1] / "generated"
OUT.mkdir(exist_ok=True)

L = 1024
torch.manual_seed(0)
cases = [
    ("S4 (DPLR), legs", SSMKernelDPLR(4, 64, init="legs", dt_min=1e-2, dt_max=1e-2)),
    ("S4D-LegS (diag-legs)", SSMKernelDiag(4, 64, init="diag-legs", dt_min=1e-2, dt_max=1e-2)),
    ("S4D-Lin", SSMKernelDiag(4, 64, init="diag-lin", dt_min=1e-2, dt_max=1e-2)),
    ("S4D-Inv", SSMKernelDiag(4, 64, init="diag-inv", dt_min=1e-2, dt_max=1e-2)),
]
fig, axes = plt.subplots(len(cases), 1, figsize=(8, 1.8 * len(cases)), sharex=True)
for ax, (title, kernel) in zip(axes, cases):
    with torch.no_grad():
        K = kernel(L)[0, 0]  # (channels, H, L) -> one channel of one feature
    ax.plot(K.numpy(), lw=1)
    ax.set_title(f"{title}: dt = 0.01, N = 64", fontsize=9)
axes[-1].set_xlabel("lag l")
fig.tight_layout()
fig.savefig(OUT / "s4_kernels.png", dpi=110)
