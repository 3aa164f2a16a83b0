"""The first HiPPO basis functions of LegS, LegT and FouT on the memory window [0, 1]."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import hippo_core as hc

OUT = Path(__file__).resolve().parents[1] / "generated"
OUT.mkdir(exist_ok=True)

x = np.linspace(0, 1, 300)
fig, axes = plt.subplots(1, 3, figsize=(12, 3), sharey=True)
for ax, measure in zip(axes, ["legs", "legt", "fout"]):
    basis = hc.hippo_basis(measure, 6, x)  # (len(x), N)
    for n in range(basis.shape[1]):
        ax.plot(x, basis[:, n], lw=1.2, label=f"n={n}")
    ax.set_title(measure)
    ax.set_xlabel("position in the window (0 = oldest, 1 = now)")
axes[0].legend(fontsize=7, ncol=2)
fig.tight_layout()
fig.savefig(OUT / "hippo_basis.png", dpi=110)
