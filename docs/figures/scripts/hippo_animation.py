"""Animation (GIF): the LegT memory of a signal, read back as time goes on.

At each frame t the N = 32 coefficients c(t) are decoded into the last window of the signal.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter

import hippo_core as hc

OUT = Path(__file__).resolve().parents[1] / "generated"
OUT.mkdir(exist_ok=True)

L, N, theta = 1000, 32, 0.25
t = np.arange(1, L + 1) / L
f = np.sin(14 * t) * np.cos(37 * t**2) + 0.3 * np.sin(90 * t)
memory = hc.HiPPO("legt", N=N, dt=1 / L, theta=theta)
coefs = memory.project(f)
x = np.linspace(0, 1, 200)

fig, ax = plt.subplots(figsize=(6, 2.8))
ax.plot(t, f, color="0.8", lw=1)
(line,) = ax.plot([], [], color="C3", lw=2)
ax.set_xlim(0, 1)
ax.set_ylim(f.min() - 0.3, f.max() + 0.3)
ax.set_xlabel("t")
ax.set_title(f"LegT memory (N={N}, window {theta})")
frames = range(int(theta * L), L, 10)


def draw(k: int):
    line.set_data(t[k] - theta + theta * x, memory.reconstruct(coefs[k], x))
    return (line,)


animation = FuncAnimation(fig, draw, frames=frames, blit=True)
animation.save(OUT / "hippo_legt_memory.gif", writer=PillowWriter(fps=20), dpi=70)
