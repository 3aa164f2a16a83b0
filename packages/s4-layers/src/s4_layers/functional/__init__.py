"""Functional core of S4 / S4D: discretisation, convolution kernels, state forwarding, steps.

Kernels (the DESIGN.md contract):

- :func:`diag_kernel` ``(dt, A, B, C, L, disc="zoh") -> K (channels, H, L)``
- :func:`dplr_kernel` ``(dt, A, P, B, C, L, disc="bilinear") -> K (channels, H, L)``

State forwarding (continuing from an initial state ``x0`` (batch, H, N/2) complex):

- ``*_state_output``: the output contribution ``C Abar^{k+1} x0`` -> (batch, channels, H, L);
  add it to the convolution output.
- ``*_next_state``: the state after the input, ``Abar^L x0 + sum_l Abar^{L-1-l} Bbar u_l``.
- :func:`diag_all_states`: every intermediate state (batch, H, N/2, L).
"""

from s4_layers.functional.conv import fft_conv
from s4_layers.functional.diag import (
    diag_all_states,
    diag_kernel,
    diag_next_state,
    diag_state_output,
)
from s4_layers.functional.discretize import (
    DIAG_DISCS,
    complex_to_real,
    discretize_diag,
    dplr_bilinear_dense,
    dplr_bilinear_terms,
    dplr_real_matrix,
    expm1_complex,
    matrix_power,
    output_to_real,
    power_sum_near_identity,
    real_to_complex,
)
from s4_layers.functional.dplr import (
    DPLR_DISCS,
    corrected_output,
    dplr_forward_state,
    dplr_kernel,
    dplr_next_state,
    dplr_power,
    dplr_state_output,
)

__all__ = [
    "DIAG_DISCS",
    "DPLR_DISCS",
    "complex_to_real",
    "corrected_output",
    "diag_all_states",
    "diag_kernel",
    "diag_next_state",
    "diag_state_output",
    "discretize_diag",
    "dplr_bilinear_dense",
    "dplr_bilinear_terms",
    "dplr_forward_state",
    "dplr_kernel",
    "dplr_next_state",
    "dplr_power",
    "dplr_real_matrix",
    "dplr_state_output",
    "expm1_complex",
    "fft_conv",
    "matrix_power",
    "output_to_real",
    "power_sum_near_identity",
    "real_to_complex",
]
