r"""DPLR state forwarding as a diagonal system with low-rank feedback: conv + O(N L).

The exact O(N r) bilinear step (:func:`~s4_layers.functional.step.dplr_linear_fused_step`,
notation of :func:`~s4_layers.functional.discretize.dplr_linear_step`) is a *diagonal* system
driven by the input u and by r feedback signals t:

    x_{j+1} = Lt x_j + D2dtB u_j - sum_r t_{j,r} D2P_r,     t_j = alpha . x_j + beta u_j

with Lt = D2a = (1 + dt/2 Lambda) / (1 - dt/2 Lambda) (diagonal, log Lt = 2 atanh(dt Lambda / 2)),
alpha = (I - W M) p_dt + W q (r, N) real rows acting on x_real, q_r = interleave(conj(Lt) p_dt_r),
beta = W pB. Unrolling x_j = Lt^j x0 + sum_{i<j} Lt^{j-1-i} (D2dtB u_i - D2P t_i) gives a causal
Volterra equation for t alone,

    t_j + sum_{i<j} h_{j-1-i} t_i = a_j + beta u_j + sum_{i<j} g_{j-1-i} u_i,
    a_j = alpha . Lt^j x0,  g_m = alpha . Lt^m D2dtB,  h_m = alpha . Lt^m D2P  (r x r),

i.e. (I + z H(z)) T(z) = RHS(z) mod z^L: T is RHS times the power-series inverse of I + z H,
by Newton's iteration G <- G (2I - F G) (log2 L FFT products of r x r series). Every
``alpha . Lt^m w`` = Re(sum_n conj(alpha_n) w_n Lt_n^m) is a Vandermonde sum. Then

    x_L = Lt^L x0 + sum_i Lt^{L-1-i} (D2dtB u_i - D2P t_i)           (reversed power sums)
    y_state[l] = C_real . x0_{l+1} = 2 Re(sum_n C_n x0_n Lt_n^{l+1}) - sum_{i<=l} kC_{l-i} t0_i,
    kC_m = 2 Re(sum_n C_n D2P_n Lt_n^m),  t0 = T with u = 0.

Nothing is cancelled (decaying terms only, no I - Abar^L), no (N, N) matrix is formed; the
cost is that of a few Vandermonde sums and FFT convolutions of length L. Computed in float64
(the working precision of the state paths), returned in the input's precision.
"""

from __future__ import annotations

import torch

from s4_layers.functional.discretize import complex_to_real, dplr_linear_step_terms, real_to_complex
from ssm_kernels import vandermonde, vandermonde_transpose


def _spectrum(x: torch.Tensor, n: int) -> torch.Tensor:
    """Real FFT of size 2n of the first n coefficients (a product of two stays un-aliased)."""
    return torch.fft.rfft(x[..., :n], n=2 * n)


def _coefficients(f: torch.Tensor, n: int) -> torch.Tensor:
    """The first n coefficients of a product given by its spectrum (inverse of _spectrum)."""
    return torch.fft.irfft(f, n=2 * n)[..., :n]


def _matmul_spectra(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., r, s, H, F) x (..., s, t, H, F) -> (..., r, t, H, F) pointwise in frequency, by
    broadcast products and a sum (a complex einsum with batch axes loops on CPU)."""
    if a.shape[-3] == 1:  # s = 1 (rank 1): a plain broadcast product, no reduction pass
        return a.unsqueeze(-3).squeeze(-4) * b.squeeze(-4).unsqueeze(-4)
    return (a.unsqueeze(-3) * b.unsqueeze(-5)).sum(-4)


def _series_inverse(F: torch.Tensor, L: int) -> torch.Tensor:
    """G with F G = I mod z^L for F (r, r, H, L) with F_0 = I, by Newton: G <- G (2I - F G)."""
    r = F.shape[0]
    eye = torch.eye(r, dtype=F.dtype, device=F.device)[..., None]  # (r, r, 1)
    G = torch.zeros_like(F)
    G[..., 0] = eye
    n = 1
    while n < L:
        n = min(2 * n, L)
        E = -_coefficients(_matmul_spectra(_spectrum(F, n), _spectrum(G, n)), n)
        E[..., 0] = E[..., 0] + 2 * eye
        G_n = _coefficients(_matmul_spectra(_spectrum(G, n), _spectrum(E, n)), n)
        G = torch.nn.functional.pad(G_n, (0, L - n))
    return G


def _causal(x: torch.Tensor, shift: bool) -> torch.Tensor:
    """x_j -> x_{j-1} (zero at j = 0) when ``shift``, else x."""
    return torch.nn.functional.pad(x[..., :-1], (1, 0)) if shift else x


def dplr_forward_state_feedback(
    dt: torch.Tensor,
    A: torch.Tensor,
    P: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    u: torch.Tensor,
    state: torch.Tensor,
    backend: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(y_state (batch, channels, H, L), x_L (batch, H, N2))`` of the DPLR system from the
    initial state (see the module docstring): the same quantities as
    :func:`~s4_layers.functional.dplr.dplr_forward_state`. Inputs are trusted (checked by the
    public functions); dt (H,), A (H, N2), P (r, H, N2), B (H, N2), C (channels, H, N2),
    u (batch, H, L) real, state (batch, H, N2) complex."""
    out_real, out_complex = u.dtype, state.dtype
    f64, c128 = torch.float64, torch.complex128
    dt, u = dt.to(f64), u.to(f64)
    A, P, B, C, x0 = (t.to(c128) for t in (A, P, B, C, state))
    L = u.shape[-1]
    lin = dplr_linear_step_terms(dt, A, P, B)
    log_lt = 2 * torch.atanh(dt.unsqueeze(-1) * A / 2)  # log Lt: (H, N2)
    lt = lin["D2a"]  # Lt (H, N2)
    p_dt, W, M = lin["p_dt"], lin["W"], lin["M"]  # (r, H, N), (H, r, r), (H, r, r)
    D2P = real_to_complex(lin["D2P"])  # (r, H, N2)
    D2dtB = torch.view_as_complex(lin["D2dtB"].contiguous())  # (H, N2)
    r = p_dt.shape[0]

    # t_j = alpha . x_j + beta u_j  (alpha (r, H, N) real rows, beta (H, r))
    q = complex_to_real(lt.conj() * real_to_complex(p_dt))
    eye = torch.eye(r, dtype=f64, device=dt.device)
    alpha = torch.einsum("hrs,shn->rhn", eye - W @ M, p_dt) + torch.einsum("hrs,shn->rhn", W, q)
    beta = torch.einsum("hrs,shn,hn->hr", W, p_dt, lin["D2dtB"].flatten(-2))
    alpha_c = real_to_complex(alpha).conj()  # alpha . w_real = Re(sum_n alpha_c w)

    # every forward sum Re(sum_n v_n Lt_n^m) in one Vandermonde call (its exp factors shared)
    rows = [
        alpha_c[:, None] * D2P[None],  # h (r, s): alpha . Lt^m D2P_s
        alpha_c[None] * D2dtB,  # g (1, r): alpha . Lt^m D2dtB
        alpha_c[None] * x0[:, None],  # a (batch, r): alpha . Lt^m x0
        2 * C[None] * (lt * x0)[:, None],  # (batch, channels): C_real . Lt^{m+1} x0
        2 * C[:, None] * D2P[None],  # kC (channels, r): C_real . Lt^m D2P
    ]
    sizes = [v.shape[0] * v.shape[1] for v in rows]
    sums = vandermonde(torch.cat([v.flatten(0, 1) for v in rows]), log_lt, L, backend=backend)
    h, g, a, e, kC = (
        part.unflatten(0, v.shape[:2]) / 2 for part, v in zip(sums.split(sizes), rows)
    )
    g = g[0]

    # (I + z H(z)) T = RHS (mod z^L) with RHS = a + (beta + z g) * u: T = G a + Q u, G the
    # inverse series, Q = G (beta + z g); the output needs kC * t0 = (kC G) a. G, Q, kC G
    # do not depend on the batch: per batch element only a and u are transformed.
    F = _causal(h, shift=True)
    F[..., 0] = torch.eye(r, dtype=f64, device=dt.device)[..., None]
    G_f = _spectrum(_series_inverse(F, L), L)  # (r, s, H, F)
    bg = _causal(g, shift=True)
    bg[..., 0] = beta.t()
    Q_f = _spectrum(_coefficients(_matmul_spectra(G_f, _spectrum(bg, L)[:, None]), L), L)
    KG_f = _spectrum(_coefficients(_matmul_spectra(_spectrum(kC, L), G_f), L), L)  # (c, s, H, F)

    a_f = _spectrum(a, L).unsqueeze(-3)  # (batch, s, 1, H, F)
    u_f = _spectrum(u, L)[:, None, None]  # (batch, 1, 1, H, F)
    t_f = _matmul_spectra(G_f, a_f) + _matmul_spectra(Q_f, u_f)
    t = _coefficients(t_f.squeeze(-3), L)  # (batch, r, H, L)

    # x_L = Lt^L x0 + sum_i Lt^{L-1-i} (D2dtB u_i - D2P t_i): one transposed Vandermonde call
    f = torch.cat([u.unsqueeze(1), t], dim=1).flip(-1).to(c128)  # (batch, 1 + r, H, L)
    S = vandermonde_transpose(f, torch.ones_like(lt), log_lt, L, backend=backend)
    x_L = torch.exp(log_lt * L) * x0 + D2dtB * S[:, 0] - (D2P * S[:, 1:]).sum(1)

    # y_state[l] = 2 Re(sum_n C_n Lt_n^{l+1} x0_n) - sum_{i<=l} kC_{l-i} t0_i,  t0 = G a
    y = e - _coefficients(_matmul_spectra(KG_f, a_f).squeeze(-3), L)
    return y.to(out_real), x_L.to(out_complex)


__all__ = ["dplr_forward_state_feedback"]
