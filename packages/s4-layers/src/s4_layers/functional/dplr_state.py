r"""The DPLR system as a diagonal system with low-rank feedback: the S4 kernel and state
forwarding in conv + O(N L), no (N, N) matrix and no Cauchy sum.

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

The convolution kernel K_l = C Abar^l Bbar is the same system's impulse response (x0 = 0,
u = delta): RHS(z) = beta + z g(z), so with T = G (beta + z g)

    K_l = e_l - sum_{i<=l} kC_{l-i} T_i,    e_m = C_real . Lt^m D2dtB

(:func:`dplr_kernel_feedback`): four Vandermonde sums over the half spectrum (shared exp
factors) and a few FFT products of length L, against the Cauchy route's two-sided Cauchy sum
at L/2 roots of unity and log2 L dense (N, N) squarings for C (I - Abar^L).

Nothing is cancelled (decaying terms only, no I - Abar^L), no (N, N) matrix is formed; the
cost is that of a few Vandermonde sums and FFT convolutions of length L. The state paths run
in float64 (their working precision); the kernel runs its Vandermonde sums and the adjoint of
its series algebra in the input's precision, and the forward series algebra in float64 (see
:func:`dplr_kernel_feedback`). Both return the input's precision.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ssm_kernels import vandermonde, vandermonde_transpose


def _padded(x: torch.Tensor, n: int) -> torch.Tensor:
    """The first n coefficients of x in a (..., 2n) buffer whose upper half is zero: the operand
    of a product that a size-2n FFT does not alias. Why a buffer and not ``rfft(x, n=2n)``:
    that pads by zero-filling and copying into a fresh array, twice this one's memory traffic
    (measured: 5.8 against 4.3 ms for one (256, 4096) float64 transform)."""
    k = min(n, x.shape[-1])
    buf = x.new_empty(*x.shape[:-1], 2 * n)
    buf[..., :k] = x[..., :k]
    buf[..., k:].zero_()
    return buf


def _spectrum(x: torch.Tensor, n: int) -> torch.Tensor:
    """Real FFT of size 2n of the first n coefficients (a product of two stays un-aliased)."""
    return torch.fft.rfft(_padded(x, n))


def _coefficients(f: torch.Tensor, n: int) -> torch.Tensor:
    """The first n coefficients of a product given by its spectrum (inverse of _spectrum)."""
    return torch.fft.irfft(f, n=2 * n)[..., :n]


def _truncated(f: torch.Tensor, n: int) -> torch.Tensor:
    """The first n coefficients of a product given by its spectrum, kept zero-padded in the
    inverse transform's own (..., 2n) buffer: ``rfft`` of it is ``_spectrum`` of them."""
    buf = torch.fft.irfft(f, n=2 * n)
    buf[..., n:].zero_()
    return buf


def _sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """x.sum(dim), or a view when that axis has size 1 (rank 1, one channel: the common case,
    where a reduction would still zero-fill and copy a full spectrum)."""
    return x.squeeze(dim) if x.shape[dim] == 1 else x.sum(dim)


def _matmul_spectra(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., r, s, H, F) x (..., s, t, H, F) -> (..., r, t, H, F) pointwise in frequency, by
    broadcast products and a sum over s (a complex einsum with batch axes loops on CPU)."""
    return _sum(a.unsqueeze(-3) * b.unsqueeze(-5), -4)


def _series_inverse(h: torch.Tensor, L: int) -> torch.Tensor:
    """G = F^{-1} mod z^L for F = I + z H(z), h (r, r, H, L), by Newton's iteration; returned
    zero-padded, (r, r, H, 2L) (:func:`_padded`), ready for its spectrum.

    If F G_m = I + z^m E (mod z^2m) then G_2m = G_m - z^m G_m E (mod z^2m): the first m
    coefficients never change and each doubling costs FFT products of size 2m (the wrapped
    part of a size-2m circular product lands on coefficients that are not used). The products
    run on -F, so -E and then -G_m E come out with the sign the update needs.
    """
    eye = torch.eye(h.shape[0], dtype=h.dtype, device=h.device)[..., None]
    F_neg = _first_plus_z(eye.expand(h.shape[:-1]), h).neg_()  # -(I + z H)
    G = F_neg.new_zeros(*h.shape[:-1], 2 * L)
    G[..., 0] = eye
    m = 1
    while m < L:
        n = min(2 * m, L)
        # G_m padded by rfft, not read as the zero-topped view G[..., :2m]: autograd (the state
        # paths) keeps rfft's input, and G is written below
        G_f = torch.fft.rfft(G[..., :m], n=2 * m)
        nF_f = torch.fft.rfft(F_neg[..., :n], n=2 * m)
        nFG = torch.fft.irfft(_matmul_spectra(nF_f, G_f), n=2 * m)
        nFG[..., : n - m] = nFG[..., m:n]  # -E, the high half of -F G_m, moved down and padded
        nFG[..., n - m :].zero_()
        nGE = torch.fft.irfft(_matmul_spectra(G_f, torch.fft.rfft(nFG)), n=2 * m)  # -G_m E
        G[..., m:n] = nGE[..., : n - m]
        m = n
    return G


# Channels x L per block of the kernel's series algebra after Newton's iteration (each
# channel's is independent): its (..., 2L) float64 buffers are then ~2 MB. Measured at H = 256,
# L = 4096, kernel fwd+bwd: 88-90 ms in blocks of 32-64 channels, 91-93 in one block, 106-108
# in blocks of 8. Newton's iteration itself runs on all channels at once: its first doublings
# are a dozen ops on short series each, which blocks would repeat per block (-5 % measured).
_SOLVE_BLOCK = 1 << 17


def _channel_blocks(H: int, L: int) -> list[slice]:
    step = max(1, _SOLVE_BLOCK // L)
    return [slice(h0, min(H, h0 + step)) for h0 in range(0, H, step)]


def _solve(sums, G, beta, r, c, K):
    """One block of channels of :class:`_FeedbackSolve`'s forward, given the inverse series G
    (r, r, Hb, 2L) zero-padded: writes K (c, Hb, L), returns the spectra its backward needs,
    G_f (r, r, Hb, F), T_f (r, Hb, F), kC_f (c, r, Hb, F)."""
    L = sums.shape[-1]
    _, g, e, kC = sums.split([r * r, r, c, c * r])
    G_f = torch.fft.rfft(G)
    # rhs = beta + z g(z) and kC, zero-padded in one buffer: one transform for both
    X = sums.new_empty(r + c * r, *sums.shape[1:-1], 2 * L, dtype=torch.float64)
    X[:r, ..., 0] = beta
    X[:r, ..., 1:L] = g[..., : L - 1]
    X[r:, ..., :L] = kC
    X[..., L:].zero_()
    X_f = torch.fft.rfft(X)
    rhs_f, kC_f = X_f[:r, None], X_f[r:].unflatten(0, (c, r))  # (r, 1, Hb, F), (c, r, Hb, F)
    T_f = torch.fft.rfft(_truncated(_matmul_spectra(G_f, rhs_f)[:, 0], L))  # (r, Hb, F)
    torch.sub(e, _coefficients(_sum(kC_f * T_f, 1), L), out=K)
    return G_f, T_f, kC_f


def _solve_adjoint(K_bar, G_f, T_f, kC_f, r, c, grad):
    """One block of channels of :class:`_FeedbackSolve`'s backward: writes the sums' gradient
    into grad (r r + r + c + c r, Hb, L) and returns beta's, (r, Hb)."""
    L = K_bar.shape[-1]
    h_bar, g_bar, e_bar, kC_bar = grad.split([r * r, r, c, c * r])
    e_bar.copy_(K_bar)
    nKb_f = _spectrum(K_bar.flip(-1).neg_(), L)[:, None]  # flip(-Kbar): (c, 1, Hb, F)
    kC_bar.copy_(_coefficients(nKb_f * T_f, L).flip(-1).flatten(0, 1))  # (c r, Hb, L)
    Tb_f = torch.fft.rfft(_truncated(_sum(nKb_f * kC_f, 0), L))[:, None]  # flip(T_bar)
    lam_flipped = _truncated(_sum(Tb_f * G_f, 0), L)  # (s, Hb, 2L): lam_j at L - 1 - j
    nF_flipped = _coefficients(torch.fft.rfft(lam_flipped)[:, None] * T_f[None], L)  # (s,r,Hb,L)
    torch.neg(nF_flipped[..., : L - 1].flip(-1).flatten(0, 1), out=h_bar[..., :-1])
    h_bar[..., -1] = 0
    g_bar[..., :-1] = lam_flipped[..., : L - 1].flip(-1)
    g_bar[..., -1] = 0
    return lam_flipped[..., L - 1]


class _FeedbackSolve(torch.autograd.Function):
    """K = e - kC * T with (I + z H) T = beta + z g (mod z^L): the series algebra of the DPLR
    kernel, differentiated by its adjoint instead of through Newton's iteration, in blocks of
    channels (:func:`_solve`, :func:`_solve_adjoint`).

    Inputs: ``sums`` (r r + r + c + c r, H, L), the rows h (r, r), g (r), e (c), kC (c, r)
    stacked as the one Vandermonde call returns them (so their gradient is one tensor, not a
    concatenation), in the Vandermonde's precision; beta (r, H) float64. K comes out float64.

    Precision: the forward runs in float64 (K's terms e and kC * T nearly cancel, see
    :func:`dplr_kernel_feedback`); the sums are read into its float64 buffers by copies the
    algebra makes anyway. The adjoint runs in the sums' precision, and its spectra are saved in
    it: its output, the sums' gradient, goes on into the Vandermonde backward in that
    precision, whose rounding is of the same order. Measured, float32 against float64
    gradients on the same inputs at L = 4096, max over 4 seeds: dt and A 1e-3 - 2e-3 with
    either adjoint on legt and lagt (the barely damped measures), P, B, C 2e-5 against 1e-5;
    it saves ~12 % of the kernel's fwd+bwd (H = 256).

    With G = (I + z H)^{-1}, rhs = beta + z g and the correlation
    (a star b)_j = sum_{l>=j} a_l b_{l-j}:
        T_bar = -sum_c Kbar_c star kC_c,   lam = G^T star T_bar  (= rhs_bar),
        kC_bar = -Kbar star T,   F_bar = -lam star T,   h_bar_m = F_bar_{m+1},
        g_bar_m = lam_{m+1},   beta_bar = lam_0.
    A correlation is a product read backwards, flip(a star b) = first L of flip(a) * b: the
    backward transforms flip(-Kbar) once, and each result comes out flipped, which is the
    operand the next correlation needs (only the gradients are flipped back).
    """

    @staticmethod
    def forward(ctx, sums, beta, r, c):  # type: ignore[override]
        H, L = sums.shape[1:]
        K = sums.new_empty(c, H, L, dtype=torch.float64)
        saved = []
        G = _series_inverse(sums[: r * r].unflatten(0, (r, r)), L)
        adjoint = torch.complex64 if sums.dtype == torch.float32 else torch.complex128
        for blk in _channel_blocks(H, L):
            spectra = _solve(sums[:, blk], G[:, :, blk], beta[:, blk], r, c, K[:, blk])
            saved += [f.to(adjoint) for f in spectra]
        ctx.save_for_backward(*saved)
        ctx.shape, ctx.sums_dtype = (r, c), sums.dtype
        return K

    @staticmethod
    @once_differentiable
    def backward(ctx, K_bar):  # type: ignore[override]
        saved = ctx.saved_tensors
        r, c = ctx.shape
        H, L = K_bar.shape[1:]
        grad = K_bar.new_empty(r * r + r + c + c * r, H, L, dtype=ctx.sums_dtype)
        beta_bar = K_bar.new_empty(r, H)
        for i, blk in enumerate(_channel_blocks(H, L)):
            G_f, T_f, kC_f = saved[3 * i : 3 * i + 3]
            K_bar_blk = K_bar[:, blk].to(ctx.sums_dtype)
            beta_bar[:, blk] = _solve_adjoint(K_bar_blk, G_f, T_f, kC_f, r, c, grad[:, blk])
        return grad, beta_bar, None, None


def _first_plus_z(first: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The series first + z x(z) (mod z^L) in float64: x shifted by one step, ``first``
    (x.shape[:-1]) as its coefficient 0. Forms F = I + z H and the right-hand side beta + z g
    (the kernel's x are its float32 Vandermonde sums: the shift is their conversion too)."""
    y = x.new_empty(x.shape, dtype=torch.float64)
    y[..., 1:] = x[..., :-1]
    y[..., 0] = first
    return y


def _feedback_terms(dt, A, P, B) -> dict[str, torch.Tensor]:
    r"""The diagonal system and its feedback rows (module docstring), in the inputs' precision:
    ``lt`` = Lt and ``log_lt`` (H, N2), ``D2P`` (r, H, N2), ``D2dtB`` (H, N2) complex,
    ``alpha_c`` (r, H, N2) with alpha . w_real = Re(sum_n alpha_c w), ``beta`` (H, r).

        D2 = 2 / (2 - dt Lambda),   Lt = D2 (1 + dt/2 Lambda),   D2P = D2 P,   D2dtB = D2 dt B
        G_rs = dt Re sum_n conj(P_r) D2 P_s,   W = (I + G)^{-1}                     (H, r, r)
        alpha_c_r = 2 dt D2 sum_s W_rs conj(P_s),   beta_r = dt sum_s W_rs Re sum_n conj(P_s) D2dtB

    These are the O(N r) step's terms (:func:`~s4_layers.functional.discretize.
    dplr_linear_step_terms`) simplified: its Woodbury matrix Q = P^* D P and its M = p_dt . D2P
    are both G, so I - W M = W and alpha = (I - W M) p_dt + W q = W dt (1 + conj Lt) P, with
    1 + Lt = 2 D2 (tested against the step's terms)."""
    dt_ = dt.unsqueeze(-1)  # (H, 1)
    dtA = dt_ * A
    D2 = 2 / (2 - dtA)  # (H, N2)
    D2P = D2 * P  # (r, H, N2)
    D2dtB = D2 * (dt_ * B)
    Pc = P.conj()
    G = (Pc.unsqueeze(1) * D2P.unsqueeze(0)).sum(-1).real * dt  # (r, s, H)
    r = P.shape[0]
    if r == 1:  # W = 1 / (1 + G): no batched LAPACK call for 1 x 1 inverses
        W = (1 / (1 + G)).permute(2, 0, 1)  # (H, 1, 1)
    else:
        W = torch.linalg.inv(torch.eye(r, dtype=G.dtype, device=G.device) + G.permute(2, 0, 1))
    W_rsh = W.permute(1, 2, 0)  # (r, s, H)
    alpha_c = 2 * dt_ * D2 * (W_rsh.unsqueeze(-1) * Pc.unsqueeze(0)).sum(1)  # (r, H, N2)
    b = (Pc * D2dtB).sum(-1).real * dt  # (s, H): p_dt_s . D2dtB
    return {
        "lt": D2 * (1 + dtA / 2),
        "log_lt": 2 * torch.atanh(dtA / 2),  # log Lt
        "D2P": D2P,
        "D2dtB": D2dtB,
        "alpha_c": alpha_c,
        "beta": (W_rsh * b.unsqueeze(0)).sum(1).t(),  # (H, r)
    }


def dplr_kernel_feedback(
    dt: torch.Tensor,
    A: torch.Tensor,
    P: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    L: int,
    backend: str | None = None,
) -> torch.Tensor:
    r"""Convolution kernel ``K (channels, H, L)``, ``K_l = C_full Abar^l Bbar``, as the impulse
    response of the diagonal system with low-rank feedback (module docstring):

        K = e - kC * T,   T = (I + z H(z))^{-1} (beta + z g(z))   (mod z^L)

    the same quantity as the Cauchy route of :func:`~s4_layers.functional.dplr.dplr_kernel`,
    returned in the inputs' precision. Inputs are trusted (checked by the public function):
    dt (H,), A (H, N2), P (r, H, N2), B (H, N2), C (channels, H, N2).

    Precision: the Vandermonde sums (the O(N L) work) run in the inputs' precision; the O(N)
    terms and the O(L log L) series algebra run in float64. The sums e and kC * T nearly
    cancel where the low-rank feedback damps barely damped diagonal modes (legt, fout), so
    float32 there would lose up to three digits (measured: 1e-3 at L=4096 against 4e-6). The
    algebra's adjoint runs in the inputs' precision (see :class:`_FeedbackSolve`).
    """
    work_real, work_complex = C.real.dtype, C.dtype
    dt, A, P, B, C = _promote(dt, A, P, B, C)
    fb = _feedback_terms(dt, A, P, B)
    D2P, D2dtB, alpha_c = fb["D2P"], fb["D2dtB"], fb["alpha_c"]
    r, c = D2P.shape[0], C.shape[0]
    # h_m = alpha . Lt^m D2P (r, s), g_m = alpha . Lt^m D2dtB (r), e_m (c), kC_m (c, r): one
    # Vandermonde call, its exp factors shared by all the rows (it returns 2 Re(sum): each
    # row carries half of its weight)
    half_alpha = alpha_c / 2
    rows = [
        (half_alpha[:, None] * D2P[None]).flatten(0, 1),
        half_alpha * D2dtB,
        C * D2dtB,
        (C[:, None] * D2P[None]).flatten(0, 1),
    ]
    weights, log_lt = torch.cat(rows).to(work_complex), fb["log_lt"].to(work_complex)
    sums = vandermonde(weights, log_lt, L, backend=backend)
    K = _FeedbackSolve.apply(sums, fb["beta"].t(), r, c)
    return K.to(work_real)


def _promote(*tensors):
    """float64 / complex128 copies (the working precision of the O(N) and series algebra)."""
    return [t.to(torch.complex128 if t.is_complex() else torch.float64) for t in tensors]


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
    dt, u, A, P, B, C, x0 = _promote(dt, u, A, P, B, C, state)
    L = u.shape[-1]
    fb = _feedback_terms(dt, A, P, B)
    lt, log_lt, D2P, D2dtB = fb["lt"], fb["log_lt"], fb["D2P"], fb["D2dtB"]
    alpha_c, beta = fb["alpha_c"], fb["beta"]

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
    G_f = torch.fft.rfft(_series_inverse(h, L))  # (r, s, H, F)
    bg = _first_plus_z(beta.t(), g)
    Q_f = _spectrum(_coefficients(_matmul_spectra(G_f, _spectrum(bg, L)[:, None]), L), L)
    KG_f = _spectrum(_coefficients(_matmul_spectra(_spectrum(kC, L), G_f), L), L)  # (c, s, H, F)

    a_f = _spectrum(a, L).unsqueeze(-3)  # (batch, s, 1, H, F)
    u_f = _spectrum(u, L)[:, None, None]  # (batch, 1, 1, H, F)
    t_f = _matmul_spectra(G_f, a_f) + _matmul_spectra(Q_f, u_f)
    t = _coefficients(t_f.squeeze(-3), L)  # (batch, r, H, L)

    # x_L = Lt^L x0 + sum_i Lt^{L-1-i} (D2dtB u_i - D2P t_i): one transposed Vandermonde call
    f = torch.cat([u.unsqueeze(1), t], dim=1).flip(-1).to(x0.dtype)  # (batch, 1 + r, H, L)
    S = vandermonde_transpose(f, torch.ones_like(lt), log_lt, L, backend=backend)
    x_L = torch.exp(log_lt * L) * x0 + D2dtB * S[:, 0] - (D2P * S[:, 1:]).sum(1)

    # y_state[l] = 2 Re(sum_n C_n Lt_n^{l+1} x0_n) - sum_{i<=l} kC_{l-i} t0_i,  t0 = G a
    y = e - _coefficients(_matmul_spectra(KG_f, a_f).squeeze(-3), L)
    return y.to(out_real), x_L.to(out_complex)


__all__ = ["dplr_forward_state_feedback", "dplr_kernel_feedback"]
