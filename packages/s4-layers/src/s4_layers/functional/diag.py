r"""Diagonal (S4D) kernels and state forwarding.

The discrete diagonal system (per channel h, conjugate-pair convention, real input u):

    x_k = dA * x_{k-1} + dB u_k          x: (N2,) complex, x_{-1} = x0
    y_k = 2 Re(C x_k)                    C: (channels, N2)

unrolls to  y_k = sum_{j<=k} K_{k-j} u_j  +  2 Re(sum_n C_n dA_n^{k+1} x0_n)  with

    K_l = 2 Re(sum_n C_n dB_n dA_n^l) = vandermonde(C dB, log dA, L),

and the state after L steps is  x_L = dA^L x0 + sum_l dA^{L-1-l} dB u_l
(= dA^L x0 + vandermonde_transpose(flip(u), dB, log dA, L)).
Nothing of size (H, N2, L) is materialised (the Vandermonde ops are chunked / fused by the
ssm_kernels backend), except in :func:`diag_all_states`, which returns every state.
"""

from __future__ import annotations

import torch

from s4_layers._checks import check_int, check_signal_bhl, check_system, check_system_state, fail
from s4_layers.functional.discretize import discretize_diag
from s4_layers.functional.zoh import zoh_kernel_weights
from ssm_kernels import vandermonde, vandermonde_transpose


def diag_kernel(
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    L: int,
    disc: str = "zoh",
    backend: str | None = None,
) -> torch.Tensor:
    r"""Convolution kernel ``K (channels, H, L)`` of a diagonal SSM.

    ``K[c, h, l] = C_full Abar^l Bbar`` of the full conjugate system
    ``= 2 Re(sum_n C[c,h,n] dB[h,n] dA[h,n]^l)``.

    Args:
        dt: (H,) positive step sizes.  A: (H, N2) complex.  B: (H, N2).  C: (channels, H, N2).
        L: kernel length.  disc: "zoh" | "bilinear" | "dss" (see :func:`discretize_diag`;
            for dss the normalisation uses this L).  backend: passed to ssm_kernels.
    """
    check_int("L", L)
    check_system(dt, A, B, C)
    if B.dim() != 2:
        raise fail("B", "shape (H, N/2)", B)
    return _diag_kernel(dt, A, B, C, L, disc, backend)


def _diag_kernel(dt, A, B, C, L, disc, backend):
    if disc == "zoh":  # the default: one op with its gradient written out (see functional.zoh)
        v, log_dA = zoh_kernel_weights(dt, A, B, C)
        return vandermonde(v, log_dA, L, backend=backend)
    _, dB, log_dA = discretize_diag(dt, A, B, disc, L)
    v = C * dB
    if disc != "dss":
        return vandermonde(v, log_dA, L, backend=backend)
    # DSS with Re(dt A) > 0: write dA^l = dA^{L-1} dA^{-(L-1-l)} and evaluate the reversed
    # sequence, so no exponential overflows (the DSS paper's trick).
    grow = log_dA.real > 0
    # mask x as well as v: a zero weight times an overflowed exp(x l) would still be NaN
    decay_part = vandermonde(
        torch.where(grow, 0, v), torch.where(grow, 0, log_dA), L, backend=backend
    )
    if not bool(grow.any()):
        return decay_part
    # dB dA^{L-1} = (1 - e^{-dtA}) B / (A (1 - e^{-dtA L})): the growing modes' weights in a
    # form that never overflows (dB itself underflows to 0 once e^{dtA L} overflows). Masked
    # inputs keep the unused branch finite, so gradients stay finite too.
    x_grow = torch.where(grow, log_dA, 1.0)
    A_grow = torch.where(grow, A, 1.0)
    weight = (1 - torch.exp(-x_grow)) / (A_grow * (1 - torch.exp(-x_grow * L)))
    v_rev = torch.where(grow, C * B * weight, 0)
    grow_part = vandermonde(v_rev, torch.where(grow, -log_dA, 0), L, backend=backend)
    return decay_part + grow_part.flip(-1)


def _check_input_and_state(dt, A, B, u, state) -> None:
    """The system, u (batch, H, L) real and state (batch, H, N2) complex or None."""
    H, N2 = check_system(dt, A, B, None)
    check_signal_bhl(u, H)
    if state is not None:
        check_system_state(state, H, N2, u.shape[0])


def diag_state_output(
    dt: torch.Tensor,
    A: torch.Tensor,
    C: torch.Tensor,
    state: torch.Tensor,
    L: int,
    disc: str = "zoh",
    backend: str | None = None,
) -> torch.Tensor:
    r"""Output contribution of an initial state: ``(batch, channels, H, L)``.

    ``y_state[b, c, h, k] = 2 Re(sum_n C[c,h,n] dA[h,n]^{k+1} state[b,h,n])``.
    Shapes: state (batch, H, N2) complex. Only dA is needed, so disc="dss" equals zoh here.
    """
    check_int("L", L)
    H, N2 = check_system(dt, A, None, C)
    check_system_state(state, H, N2)
    return _diag_state_output(dt, A, C, state, L, disc, backend)


def _diag_state_output(dt, A, C, state, L, disc, backend):
    disc_ = "zoh" if disc == "dss" else disc
    dA, _, log_dA = discretize_diag(dt, A, torch.ones_like(A), disc_)
    v = C.unsqueeze(0) * (dA * state).unsqueeze(1)  # (batch, channels, H, N2)
    return vandermonde(v, log_dA, L, backend=backend)


def diag_next_state(
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    u: torch.Tensor,
    state: torch.Tensor | None = None,
    disc: str = "zoh",
    L_norm: int | None = None,
    backend: str | None = None,
) -> torch.Tensor:
    r"""State after the whole input: ``x_L = dA^L x0 + sum_l dA^{L-1-l} dB u_l``, (batch, H, N2).

    Shapes: u (batch, H, L) real; state (batch, H, N2) complex or None (zero).
    ``L_norm`` is the dss normalisation length (default: L).
    """
    _check_input_and_state(dt, A, B, u, state)
    return _diag_next_state(dt, A, B, u, state, disc, L_norm, backend)


def _diag_next_state(dt, A, B, u, state, disc, L_norm, backend):
    L = u.shape[-1]
    _, dB, log_dA = discretize_diag(dt, A, B, disc, L_norm or L)
    x = vandermonde_transpose(u.flip(-1), dB, log_dA, L, backend=backend)
    if state is not None:
        x = x + torch.exp(log_dA * L) * state
    return x


def diag_all_states(
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    u: torch.Tensor,
    state: torch.Tensor | None = None,
    disc: str = "zoh",
    L_norm: int | None = None,
    max_chunk_bytes: int = 2**28,
) -> torch.Tensor:
    r"""Every intermediate state ``x_k``, k = 0..L-1: (batch, H, N2, L) complex.

    ``x_k = sum_{j<=k} dA^{k-j} dB u_j + dA^{k+1} x0``, computed as one FFT convolution per
    block of state entries. Memory: the output itself is batch*H*N2*L complex numbers
    (8 bytes each in float32); the FFT buffers add about 4x that for the block being processed,
    and blocks of state entries are chosen so a block's buffers stay under ``max_chunk_bytes``.
    """
    _check_input_and_state(dt, A, B, u, state)
    return _diag_all_states(dt, A, B, u, state, disc, L_norm, max_chunk_bytes)


def _diag_all_states(dt, A, B, u, state, disc, L_norm, max_chunk_bytes):
    batch, H, L = u.shape
    N2 = A.shape[-1]
    dA, dB, log_dA = discretize_diag(dt, A, B, disc, L_norm or L)
    ell = torch.arange(L, device=u.device, dtype=dt.dtype)
    u_f = torch.fft.fft(u.to(dB.dtype), n=2 * L).unsqueeze(2)  # (batch, H, 1, 2L)
    per_entry = 4 * batch * H * 2 * L * (16 if dB.dtype == torch.complex128 else 8)
    block = max(1, min(N2, max_chunk_bytes // max(per_entry, 1)))
    out = []
    for start in range(0, N2, block):
        sl = slice(start, start + block)
        powers = torch.exp(log_dA[:, sl, None] * ell)  # (H, n, L)
        k_f = torch.fft.fft(dB[:, sl, None] * powers, n=2 * L)
        xs = torch.fft.ifft(u_f * k_f, n=2 * L)[..., :L]
        if state is not None:
            xs = xs + (state[:, :, sl, None] * dA[:, sl, None]) * powers
        out.append(xs)
    return torch.cat(out, dim=2)
