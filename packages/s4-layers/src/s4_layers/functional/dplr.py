r"""DPLR (S4) kernel: generating function at roots of unity, Woodbury, Cauchy, inverse FFT.

System (full conjugate form, bilinear discretisation, per channel h):

    A = diag(Lambda) - P P^*,  Abar = (I - dt/2 A)^{-1} (I + dt/2 A),  Bbar = (I - dt/2 A)^{-1} dt B
    K_l = C Abar^l Bbar,  l = 0..L-1.

Derivation (docs/s4.md tells it at length):

1. Truncated generating function:
   Khat(z) = sum_{l<L} K_l z^l = C (I - Abar^L z^L)(I - Abar z)^{-1} Bbar.
2. At the L-th roots of unity z_k = exp(-2 pi i k / L), z^L = 1, so with the corrected output
   matrix Ctilde = C (I - Abar^L):  Khat(z_k) = Ctilde (I - Abar z_k)^{-1} Bbar, and
   Khat(z_k) is exactly the DFT of K: K = irfft(Khat) (only k = 0..L/2 are needed: K is real).
3. Bilinear algebra: (I - Abar z)^{-1} Bbar = 2/(1+z) (g(z) - A)^{-1} B with
   g(z) = 2/dt (1-z)/(1+z) = 2i/dt tan(pi k/L) and 2/(1+z) = 1 + i tan(pi k/L).
   At z = -1 (k = L/2, L even) the limit is (I + Abar)^{-1} Bbar = dt/2 B, used directly.
4. Woodbury: (g - Lambda + P P^*)^{-1} = R - R P (I + P^* R P)^{-1} P^* R,  R = (g - Lambda)^{-1}.
   So Khat = 2/(1+z) [k_{Ct,B} - k_{Ct,P} (I + k_{P,P})^{-1} k_{P,B}] with the Cauchy sums
   k_{a,b}(g) = sum_n a_n b_n / (g - Lambda_n) over the full system (both halves): one
   ``ssm_kernels.cauchy`` call with conj=True evaluates all (channels + r) x (1 + r) of them.
5. Ctilde is computed on the fly from the stored, true C for the L in use, so the kernel is
   exact for every length (changing L redoes the correction exactly). C (Abar^L - I) and
   S_L Bbar (for z = 1) come from near-identity doubling of the dense (H, N, N) real
   discretised matrix: log2 L matrix squarings, everything else matrix-vector
   (``power_products_near_identity``).

State forwarding (same machinery, see :func:`dplr_state_output` and :func:`dplr_next_state`).

This is the S4 paper's algorithm (``method="cauchy"``). The default ``method="feedback"``
computes the same kernel as the impulse response of the diagonal system with low-rank
feedback (:func:`~s4_layers.functional.dplr_state.dplr_kernel_feedback`): Vandermonde sums
and power-series algebra instead of Cauchy sums and dense (N, N) squarings, 1.7-4.7x faster
(docs/benchmarks) and as accurate; both are tested against the unrolled recurrence and
against each other in float64.
"""

from __future__ import annotations

import math

import torch

from s4_layers._checks import (
    check_choice,
    check_int,
    check_signal_bhl,
    check_system,
    check_system_state,
    check_tensor,
    fail,
)
from s4_layers.functional.discretize import (
    complex_to_real,
    dplr_bilinear_dense,
    dplr_bilinear_terms,
    dplr_forward_half,
    output_to_real,
    power_products_near_identity,
    real_to_complex,
)
from s4_layers.functional.dplr_state import (
    _promote,
    dplr_forward_state_feedback,
    dplr_kernel_feedback,
)
from ssm_kernels import cauchy

DPLR_DISCS = ("bilinear",)
DPLR_KERNEL_METHODS = ("feedback", "cauchy")


def _check_dplr(dt, A, P, B, C, disc):
    check_choice("disc", disc, DPLR_DISCS)
    H, N2 = check_system(dt, A, B, C)
    check_tensor("P", P, 3, complex_=True)
    if tuple(P.shape[1:]) != (H, N2):
        raise fail("P", f"shape (rank, H, N/2) = (*, {H}, {N2})", P)
    return H, N2


def _roots(L: int, dt: torch.Tensor, all_bins: bool) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """g_k (H, F) and 2/(1+z_k) (F,) at the roots z_k = exp(-2 pi i k/L), k=0 and Nyquist excluded.

    Bins are k = 1..L//2 (rfft) or k = 1..L-1 (``all_bins``); returns whether L is even (the
    excluded k = L/2 bin is then handled by the caller, as is k = 0).
    k = 0 (z = 1, g = 0) is left out of the Cauchy sums because Lambda may sit on or next to
    g = 0 (fout has Lambda = 0 up to the -1e-4 clamp), where Woodbury cancels catastrophically;
    there (I - Abar)^{-1} Bbar = -A^{-1} B is solved densely instead.
    """
    even = L % 2 == 0
    k = torch.arange(1, L if all_bins else L // 2 + 1, dtype=torch.float64, device=dt.device)
    if even:
        k = k[k != L // 2]
    t = torch.tan(math.pi * k / L).to(dt.dtype)
    g = torch.complex(torch.zeros_like(t), t) * (2 / dt).unsqueeze(-1)  # (H, F)
    factor = torch.complex(torch.ones_like(t), t)  # (F,)
    return g, factor, even


def _generating(
    A: torch.Tensor,
    P: torch.Tensor,
    left: torch.Tensor,
    right: torch.Tensor,
    g: torch.Tensor,
    backend: str | None,
) -> torch.Tensor:
    """left (c, H, N2), right (m, H, N2) -> (c, m, H, F): left (g - A_full)^{-1} right."""
    c, m, r = left.shape[0], right.shape[0], P.shape[0]
    lv = torch.cat([left, P.conj().to(left.dtype)])
    rv = torch.cat([right, P.to(right.dtype)])
    k = cauchy(lv.unsqueeze(1) * rv.unsqueeze(0), g, A, conj=True, backend=backend)
    k00, k01, k10, k11 = k[:c, :m], k[:c, m:], k[c:, :m], k[c:, m:]
    if r == 1:
        return k00 - k01 * (k10 / (1 + k11))
    eye = torch.eye(r, dtype=k.dtype, device=k.device)
    lhs = eye + k11.permute(2, 3, 0, 1)  # (H, F, r, r)
    x = torch.linalg.solve(lhs, k10.permute(2, 3, 0, 1)).permute(2, 3, 0, 1)  # (r, m, H, F)
    return k00 - torch.einsum("crhf,rmhf->cmhf", k01, x)


def corrected_output(C: torch.Tensor, one_minus_power: torch.Tensor) -> torch.Tensor:
    """Ctilde = C (I - Abar^L) in the conjugate-pair convention: (channels, H, N2) complex."""
    ct_real = torch.einsum("chi,hij->chj", output_to_real(C), one_minus_power)
    return real_to_complex(ct_real / 2).conj()


def _kernel_from_ctilde(dt, A, P, right_real, right, C, terms, L, backend):
    """(c, m, H, L): K_l = C Abar^l v for the vectors v = right_real (m, H, N) (real basis),
    given also as right (m, H, N2) complex: v = (I - dt/2 A)^{-1} dt right."""
    Ct = corrected_output(C, terms["one_minus_power"])
    Sv = torch.einsum("hij,mhj->mhi", terms["S"], right_real)
    return _kernel_at_roots(dt, A, P, right, C, Ct, Sv, L, backend)


def _kernel_at_roots(dt, A, P, right, C, Ct, Sv, L, backend):
    """Steps 2-4 of the module docstring given Ct (c, H, N2) and Sv = S_L v (m, H, N)."""
    g, factor, even = _roots(L, dt, all_bins=False)
    # z = 1: Khat = Ct (I - Abar)^{-1} v = C S_L v, S_L = sum_{j<L} Abar^j (no cancellation)
    k0 = torch.einsum("chn,mhn->cmh", output_to_real(C), Sv)
    parts = [k0.unsqueeze(-1).to(Ct.dtype)]
    if g.shape[-1]:
        parts.append(_generating(A, P, Ct, right, g, backend) * factor)
    khat = torch.cat(parts, dim=-1)
    if even:  # z = -1: Ct (I + Abar)^{-1} Bbar = dt/2 Ct_full b_full
        nyq = dt.view(-1) * (Ct.unsqueeze(1) * right.unsqueeze(0)).sum(-1).real
        khat = torch.cat([khat, nyq.unsqueeze(-1).to(khat.dtype)], dim=-1)
    return torch.fft.irfft(khat, n=L)


def dplr_kernel(
    dt: torch.Tensor,
    A: torch.Tensor,
    P: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    L: int,
    disc: str = "bilinear",
    backend: str | None = None,
    method: str = "feedback",
) -> torch.Tensor:
    r"""Convolution kernel ``K (channels, H, L)`` of the DPLR system ``A - P P^*`` (full form).

    ``K[c, h, l] = C_full Abar^l Bbar`` exactly (bilinear discretisation), for any L (no
    stored Ctilde), by the diagonal-with-feedback route (``method="feedback"``, the default)
    or the S4 paper's Cauchy route described in the module docstring (``"cauchy"``).

    Args:
        dt: (H,) real.  A (Lambda): (H, N2) complex.  P: (rank, H, N2) complex.
        B: (H, N2) complex.  C: (channels, H, N2) complex (the true output matrix).
        L: kernel length.  disc: only "bilinear".  backend: passed to ssm_kernels
        (``vandermonde`` for "feedback", ``cauchy`` for "cauchy").  method: see above.
    """
    check_int("L", L)
    check_choice("method", method, DPLR_KERNEL_METHODS)
    _check_dplr(dt, A, P, B, C, disc)
    if B.dim() != 2:
        raise fail("B", "shape (H, N/2)", B)
    if method == "cauchy":
        return _dplr_kernel_cauchy(dt, A, P, B, C, L, backend)
    return dplr_kernel_feedback(dt, A, P, B, C, L, backend)


def _dplr_kernel_cauchy(dt, A, P, B, C, L, backend):
    E, dB = dplr_bilinear_dense(dt, A, P, B)  # Abar = I + E, Bbar
    # C (Abar^L - I) and S_L Bbar by doubling: log2 L matmuls, the rest matrix-vector
    C_real = output_to_real(C)
    CE_L, SdB = power_products_near_identity(E, L, C_real, dB.unsqueeze(0))
    Ct = real_to_complex(-CE_L / 2).conj()  # Ctilde = C (I - Abar^L), conjugate-pair form
    K = _kernel_at_roots(dt, A, P, B.unsqueeze(0), C, Ct, SdB, L, backend)
    return K[:, 0]


def dplr_state_output(
    dt: torch.Tensor,
    A: torch.Tensor,
    P: torch.Tensor,
    C: torch.Tensor,
    state: torch.Tensor,
    L: int,
    backend: str | None = None,
) -> torch.Tensor:
    r"""Output contribution of an initial state, ``C Abar^{k+1} x0``: (batch, channels, H, L).

    Abar x0 = (I - dt/2 A)^{-1} dt B' with B' = (I + dt/2 A) x0 / dt, so it is the kernel of
    :func:`dplr_kernel` with B replaced by the batch of vectors B'.
    """
    check_int("L", L)
    H, N2 = _check_dplr(dt, A, P, None, C, "bilinear")
    check_system_state(state, H, N2)
    return _dplr_state_output(dt, A, P, C, state, L, backend)


def _dplr_state_output(dt, A, P, C, state, L, backend, _terms=None):
    if state.shape[0] == 0:  # an empty batch: MKL's FFT refuses empty inputs
        return dt.new_zeros(0, C.shape[0], A.shape[0], L)
    out_dtype = dt.dtype
    # The truncated generating function cancels in slowly decaying directions (Abar^L ~ I):
    # a random state excites all of them, so this path always runs in float64.
    dt, A, P, C, state = _promote(dt, A, P, C, state)
    terms = _terms or dplr_bilinear_terms(dt, A, P, torch.zeros_like(A), L)
    v = torch.einsum("hij,bhj->bhi", terms["dA"], complex_to_real(state))  # Abar x0
    right = dplr_forward_half(dt, A, P, state) / dt.unsqueeze(-1)  # v = (I-dt/2 A)^{-1} dt right
    y = _kernel_from_ctilde(dt, A, P, v, right, C, terms, L, backend).transpose(0, 1)
    return y.to(out_dtype)


def dplr_next_state(
    dt: torch.Tensor,
    A: torch.Tensor,
    P: torch.Tensor,
    B: torch.Tensor,
    u: torch.Tensor,
    state: torch.Tensor | None = None,
    backend: str | None = None,
) -> torch.Tensor:
    r"""State after the whole input: ``x_L = Abar^L x0 + sum_l Abar^{L-1-l} Bbar u_l``.

    With F(z) = sum_j Abar^j Bbar z^j = (I - Abar^L)(I - Abar z)^{-1} Bbar at the roots z_k and
    U = fft(u):  sum_l Abar^{L-1-l} Bbar u_l = (I - Abar^L) w,
    w = 1/L sum_k z_k U_k (I - Abar z_k)^{-1} Bbar = 1/L sum_k z_k U_k 2/(1+z_k)(g_k - A)^{-1} B.
    The half components of (g_k - A)^{-1} B = R B - R P c_k (Woodbury, c_k = (I + P^*RP)^{-1}
    P^*RB) summed over k are two "transposed" Cauchy sums sum_k V_k / (g_k - Lambda_n).
    Shapes: u (batch, H, L) real; state (batch, H, N2) complex or None. Returns (batch, H, N2).
    """
    H, N2 = _check_dplr(dt, A, P, B, None, "bilinear")
    check_signal_bhl(u, H)
    if state is not None:
        check_system_state(state, H, N2, u.shape[0])
    return _dplr_next_state(dt, A, P, B, u, state, backend)


def _dplr_next_state(dt, A, P, B, u, state, backend, _terms=None):
    if u.shape[0] == 0:  # an empty batch
        return A.new_zeros(0, *A.shape)
    H, N2 = A.shape
    L = u.shape[-1]
    out_dtype = A.dtype
    if state is not None:
        (state,) = _promote(state)
    dt, A, P, B, u = _promote(dt, A, P, B, u)  # float64 working precision (see state_output)
    terms = _terms or dplr_bilinear_terms(dt, A, P, B, L)
    g, factor, even = _roots(L, dt, all_bins=True)
    U = torch.fft.fft(u, dim=-1)
    k = torch.arange(L, device=u.device)
    regular = k != L // 2 if even else torch.ones(L, dtype=torch.bool, device=u.device)
    regular[0] = False  # k = 0 handled with S_L below
    z = torch.exp(-2j * math.pi * k[regular].double() / L).to(A.dtype)
    W = U[..., regular] * (z * factor)  # (batch, H, F)
    r = P.shape[0]
    w = torch.zeros(u.shape[0], H, N2, dtype=A.dtype, device=u.device)
    if g.shape[-1]:
        rv = torch.cat([B.unsqueeze(0), P]).unsqueeze(0)
        kPB = cauchy(P.conj().unsqueeze(1) * rv, g, A, conj=True, backend=backend)  # (r,1+r,H,F)
        if r == 1:
            coef = kPB[:, 0] / (1 + kPB[:, 1])  # (1, H, F)
        else:
            eye = torch.eye(r, dtype=kPB.dtype, device=kPB.device)
            lhs = eye + kPB[:, 1:].permute(2, 3, 0, 1)
            rhs = kPB[:, :1].permute(2, 3, 0, 1)
            coef = torch.linalg.solve(lhs, rhs)[..., 0].permute(2, 0, 1)  # (r, H, F)
        V = torch.cat([W.unsqueeze(1), W.unsqueeze(1) * coef.unsqueeze(0)], dim=1)  # (b,1+r,H,F)
        T = -cauchy(V, A, g, conj=False, backend=backend)  # sum_k V_k/(g_k - A_n): (b,1+r,H,N2)
        w = w + (B * T[:, 0] - (P.unsqueeze(0) * T[:, 1:]).sum(1)) / L
    if even:  # z = -1: (I - Abar z)^{-1} Bbar = dt/2 B
        w = w - (U[..., L // 2] * dt / (2 * L)).unsqueeze(-1) * B
    x_real = torch.einsum("hij,bhj->bhi", terms["one_minus_power"], complex_to_real(w))
    # z = 1: (I - Abar^L)(I - Abar)^{-1} Bbar U_0 / L = S_L Bbar U_0 / L (no cancellation)
    SB = torch.einsum("hij,hj->hi", terms["S"], terms["dB"])
    x_real = x_real + (U[..., 0].real / L).unsqueeze(-1) * SB
    if state is not None:
        x_real = x_real + torch.einsum("hij,bhj->bhi", terms["power"], complex_to_real(state))
    return real_to_complex(x_real).to(out_dtype)


def dplr_forward_state(
    dt: torch.Tensor,
    A: torch.Tensor,
    P: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    u: torch.Tensor,
    state: torch.Tensor,
    backend: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both state-forwarding terms (float64):
    ``(dplr_state_output(...) (batch, channels, H, L), dplr_next_state(...) (batch, H, N2))``,
    computed together as a diagonal system with low-rank feedback (conv + O(N L), no dense
    (N, N) powers: :mod:`s4_layers.functional.dplr_state`)."""
    H, N2 = _check_dplr(dt, A, P, B, C, "bilinear")
    check_signal_bhl(u, H)
    check_system_state(state, H, N2, u.shape[0])
    return _dplr_forward_state(dt, A, P, B, C, u, state, backend)


def _dplr_forward_state(dt, A, P, B, C, u, state, backend):
    if u.shape[0] == 0:  # an empty batch: MKL's FFT refuses empty inputs
        return dt.new_zeros(0, C.shape[0], A.shape[0], u.shape[-1]), A.new_zeros(0, *A.shape)
    return dplr_forward_state_feedback(dt, A, P, B, C, u, state, backend)
