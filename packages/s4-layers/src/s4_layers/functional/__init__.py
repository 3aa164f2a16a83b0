"""Functional core of S4 / S4D: discretisation, convolution kernels, state forwarding.

Kernels (the DESIGN.md contract):

- :func:`diag_kernel` ``(dt, A, B, C, L, disc="zoh") -> K (channels, H, L)``
- :func:`dplr_kernel` ``(dt, A, P, B, C, L, disc="bilinear", method="feedback")``
  ``-> K (channels, H, L)``

State forwarding (continuing from an initial state ``x0`` (batch, H, N/2) complex):

- ``*_state_output``: the output contribution ``C Abar^{k+1} x0`` -> (batch, channels, H, L);
  add it to the convolution output.
- ``*_next_state``: the state after the input, ``Abar^L x0 + sum_l Abar^{L-1-l} Bbar u_l``.
- :func:`diag_all_states`: every intermediate state (batch, H, N/2, L).

Discretisation (every formula once, in :mod:`s4_layers.functional.discretize`):
:func:`discretize_diag` (zoh / bilinear / dss / forward Euler) and the DPLR bilinear terms
:func:`dplr_bilinear_dense` (dense real basis), ``dplr_forward_half`` and
``dplr_linear_step`` (the O(N r) bilinear step: forward half, then Woodbury). The zoh kernel's
inputs ``(C Bbar, log Abar)`` as one op with its gradient written out:
:func:`s4_layers.functional.zoh.zoh_kernel_weights`. The float64 brute-force twins of
everything here are in :mod:`s4_layers.reference`.

Step (RNN) mode: the fused real step forms of :mod:`s4_layers.functional.step` (diag, DPLR
dense, DPLR linear), each ``(terms, x, u) -> (y, x')`` with its ``*_terms`` builder.
"""

from s4_layers.functional import discretize, step
from s4_layers.functional.conv import fft_conv
from s4_layers.functional.diag import (
    diag_all_states,
    diag_kernel,
    diag_next_state,
    diag_state_output,
)
from s4_layers.functional.discretize import DIAG_DISCS, discretize_diag, dplr_bilinear_dense
from s4_layers.functional.dplr import (
    DPLR_DISCS,
    dplr_forward_state,
    dplr_kernel,
    dplr_next_state,
    dplr_state_output,
)

__all__ = [
    "DIAG_DISCS",
    "DPLR_DISCS",
    "diag_all_states",
    "diag_kernel",
    "diag_next_state",
    "diag_state_output",
    "discretize",
    "discretize_diag",
    "dplr_bilinear_dense",
    "dplr_forward_state",
    "dplr_kernel",
    "dplr_next_state",
    "dplr_state_output",
    "fft_conv",
    "step",
]
