r"""Discretisation of diagonal and DPLR state space models.

Conjugate-pair convention: a state of size N is stored as ``N2 = N/2`` complex entries ``x``,
one of each conjugate pair; the full system acts on ``[x, conj x]``. For a DPLR matrix
``A = diag(Lambda) - P P^*`` (full, rank r) the coupling between the halves makes ``A`` *real*
linear (not complex linear) on the half state:

    A x = Lambda * x - sum_r P_r * 2 Re(P_r^H x).

The dense forms below use the interleaved real basis ``x_real = view_as_real(x).reshape(N)``
(``[Re x_0, Im x_0, Re x_1, ...]``), in which the full system is an ordinary real (N, N) one:

    A_real = blockdiag([[a, -b], [b, a]]) - 2 sum_r p_r p_r^T,   p_r = interleave(Re P_r, Im P_r)
    B_real = interleave(Re B, Im B),   C_real = 2 interleave(Re C, -Im C)   (y = C_real x_real).
"""

from __future__ import annotations

import torch

from s4_layers._checks import check_choice

DIAG_DISCS = ("zoh", "bilinear", "dss", "forward")


def expm1_complex(x: torch.Tensor) -> torch.Tensor:
    """exp(x) - 1 for complex x without cancellation when |x| is small.

    Re: expm1(a) cos b - 2 sin^2(b/2);  Im: exp(a) sin b   (x = a + ib).

    torch's own complex ``expm1`` is used where this torch has it (one op against the twelve
    below, with the same accuracy: tested against the formula in float64); the formula is the
    fallback.
    """
    try:
        return torch.expm1(x)
    except (RuntimeError, NotImplementedError):  # pragma: no cover - torch without complex expm1
        return _expm1_complex_parts(x)


def _expm1_complex_parts(x: torch.Tensor) -> torch.Tensor:
    """:func:`expm1_complex` from real ops (the formula of its docstring)."""
    a, b = x.real, x.imag
    re = torch.expm1(a) * torch.cos(b) - 2 * torch.sin(b / 2) ** 2
    im = torch.exp(a) * torch.sin(b)
    return torch.complex(re, im)


def zoh_gain(dtA: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """``W = (exp(dt A) - 1) / A``, zoh's input gain (``dB = W B``), without cancellation."""
    return expm1_complex(dtA) / A


def discretize_diag(
    dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, disc: str = "zoh", L: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Diagonal discretisation: returns ``(dA, dB, log_dA)``, each (H, N2) complex.

    Shapes: dt (H,), A (H, N2), B (..., H, N2). ``disc`` is one of :data:`DIAG_DISCS`
    (the formulas are written above the lines computing them); ``L`` is dss's normalisation
    length.
    """
    check_choice("disc", disc, DIAG_DISCS)
    dtA = dt.unsqueeze(-1) * A
    if disc == "bilinear":
        # dA = (1 + dt A/2) / (1 - dt A/2),  dB = dt B / (1 - dt A/2),
        # log dA = 2 atanh(dt A / 2)   (no cancellation for small dt A)
        dA = (1 + dtA / 2) / (1 - dtA / 2)
        dB = B * (dt.unsqueeze(-1) / (1 - dtA / 2))
        return dA, dB, 2 * torch.atanh(dtA / 2)
    if disc == "forward":
        # forward Euler: dA = 1 + dt A,  dB = dt B,
        # log dA = log|1 + dt A| + i arg(1 + dt A)  (log1p form: exact for small dt A)
        a, b = dtA.real, dtA.imag
        log_dA = torch.complex(0.5 * torch.log1p(2 * a + a * a + b * b), torch.atan2(b, 1 + a))
        return 1 + dtA, B * dt.unsqueeze(-1), log_dA
    dA = torch.exp(dtA)
    if disc == "zoh":
        # dA = exp(dt A),  dB = (exp(dt A) - 1) / A * B
        return dA, B * zoh_gain(dtA, A), dtA
    if L is None:
        raise ValueError("disc='dss': expected the kernel length L (int), got None")
    # dss: dA = exp(dt A),  dB = (exp(dt A) - 1) / (A (exp(dt A L) - 1)) * B
    # (the DSS exp-sum normalisation, which depends on the kernel length L)
    return dA, B * (expm1_complex(dtA) / (A * expm1_complex(dtA * L))), dtA


# ---------------------------------------------------------------------------------------------
# Dense real forms of the DPLR system (interleaved real basis, see the module docstring)


def complex_to_real(x: torch.Tensor) -> torch.Tensor:
    """(..., N2) complex -> (..., N) real interleaved [Re x_0, Im x_0, ...]."""
    return torch.view_as_real(x.resolve_conj()).flatten(-2)


def real_to_complex(x: torch.Tensor) -> torch.Tensor:
    """(..., N) real interleaved -> (..., N2) complex (inverse of :func:`complex_to_real`)."""
    return torch.view_as_complex(x.unflatten(-1, (-1, 2)).contiguous())


def output_to_real(C: torch.Tensor) -> torch.Tensor:
    """C (..., N2) complex -> C_real (..., N) with ``2 Re(C x) == C_real . complex_to_real(x)``."""
    return 2 * complex_to_real(C.conj())


def dplr_real_matrix(A: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """A (H, N2) complex, P (rank, H, N2) complex -> A_real (H, N, N) of diag(A) - P P^*."""
    H, N2 = A.shape
    a, b = A.real, A.imag
    blocks = torch.stack([torch.stack([a, -b], -1), torch.stack([b, a], -1)], -2)  # (H,N2,2,2)
    eye = torch.eye(N2, dtype=a.dtype, device=a.device)
    # block-diagonal (H, N2, 2, N2, 2) -> (H, N, N)
    dense = (blocks.unsqueeze(-2) * eye.view(N2, 1, N2, 1)).reshape(H, 2 * N2, 2 * N2)
    p = complex_to_real(P)  # (rank, H, N)
    return dense - 2 * torch.einsum("rhi,rhj->hij", p, p)


def dplr_bilinear_dense(
    dt: torch.Tensor, A: torch.Tensor, P: torch.Tensor, B: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Bilinear discretisation of the full DPLR system in the real basis, as ``(E, dB)``:

        dA = (I - dt/2 A)^{-1} (I + dt/2 A) = I + E,   E = dt (I - dt/2 A)^{-1} A   (H, N, N)
        dB = (I - dt/2 A)^{-1} dt B                                                  (H, N)

    E is returned instead of dA: for small dt, dA is within ~dt|A| of I, and storing dA itself
    in float32 would lose the digits of E that decide dA^L (relative error eps/(dt|A|)).
    B may carry leading batch axes (..., H, N2) -> dB (..., H, N).
    """
    A_real = dplr_real_matrix(A, P)
    N = A_real.shape[-1]
    eye = torch.eye(N, dtype=A_real.dtype, device=A_real.device)
    # one batched inverse serves both (much faster on CPU than solve with N + 1 right sides)
    inv = torch.linalg.inv(eye - (dt / 2).view(-1, 1, 1) * A_real)
    E = dt.view(-1, 1, 1) * (inv @ A_real)
    dB = (inv @ (dt.view(-1, 1) * complex_to_real(B)).unsqueeze(-1)).squeeze(-1)
    return E, dB


def dplr_bilinear_terms(
    dt: torch.Tensor, A: torch.Tensor, P: torch.Tensor, B: torch.Tensor, L: int
) -> dict[str, torch.Tensor]:
    r"""Everything the DPLR kernel and state forwarding need from the dense system (real basis).

    Returns dA = Abar = I + E, dB = Bbar (see :func:`dplr_bilinear_dense`), power = Abar^L,
    S = sum_{j<L} Abar^j and one_minus_power = I - Abar^L, all powers kept as I + E_m
    (see :func:`power_sum_near_identity`).
    """
    E, dB = dplr_bilinear_dense(dt, A, P, B)
    eye = torch.eye(E.shape[-1], dtype=E.dtype, device=E.device)
    E_L, S = power_sum_near_identity(E, L)
    return {"dA": eye + E, "dB": dB, "power": eye + E_L, "S": S, "one_minus_power": -E_L}


def dplr_forward_terms(dt: torch.Tensor, A: torch.Tensor, P: torch.Tensor) -> dict:
    r"""Terms of the forward (explicit) half of the bilinear step (see :func:`dplr_forward_half`):
    ``a = 1 + dt/2 Lambda`` (H, N2), ``p = interleave(Re P, Im P)`` and ``p_dt = dt p``
    (r, H, N)."""
    p = complex_to_real(P)
    return {"a": 1 + dt.unsqueeze(-1) / 2 * A, "p": p, "p_dt": dt.unsqueeze(-1) * p}


def dplr_forward_half(dt: torch.Tensor, A: torch.Tensor, P: torch.Tensor, x: torch.Tensor):
    r"""The forward (explicit) half of the bilinear step, ``(I + dt/2 A) x``, in O(N r).

    (I + dt/2 A) x = (1 + dt/2 Lambda) x - dt/2 sum_r P_r 2 Re(P_r^H x)   (half representation)
    Shapes: dt (H,), A (H, N2), P (r, H, N2), x (..., H, N2) -> (..., H, N2).
    """
    return dplr_forward_apply(dplr_forward_terms(dt, A, P), x)


def dplr_forward_apply(terms: dict, x: torch.Tensor) -> torch.Tensor:
    """:func:`dplr_forward_half` from precomputed :func:`dplr_forward_terms`. The low-rank
    products are real contractions of the interleaved views (2 Re(P^H x) = 2 p . x_real):
    complex batched matmuls fall back to per-batch loops on CPU."""
    coupling = torch.einsum("...hn,rhn->...rh", complex_to_real(x), terms["p_dt"])
    out = (terms["a"] * x).contiguous()  # contiguous: updated in place on its real view
    complex_to_real(out).sub_(torch.einsum("...rh,rhn->...hn", coupling, terms["p"]))
    return out


def dplr_backward_terms(dt: torch.Tensor, A: torch.Tensor, P: torch.Tensor) -> dict:
    r"""The backward (implicit) half of the bilinear step by Woodbury:

        (I - dt/2 A)^{-1} = 2/dt [D - D P W P^* D],   D = (2/dt - Lambda)^{-1}   (H, N2)
        W = (I + Q)^{-1},  Q = P^* D P = 2 Re(sum_n conj(P_r) D P_s)   (H, r, r) real
    (real r x r, because the conjugate halves pair up). Returned for
    :func:`dplr_linear_step` as ``D2 = 2/dt D``, ``W``, ``p_dt = dt p`` and
    ``D2P = interleave(2/dt D P)`` (r, H, N).
    """
    D = 1 / (2 / dt.unsqueeze(-1) - A)  # (H, N2)
    Q = 2 * (P.conj().unsqueeze(1) * D * P.unsqueeze(0)).sum(-1).real  # (r, s, H)
    eye = torch.eye(Q.shape[0], dtype=Q.dtype, device=Q.device)
    D2 = 2 / dt.unsqueeze(-1) * D
    return {
        "D2": D2,
        "W": torch.linalg.inv(eye + Q.permute(2, 0, 1)),
        "p_dt": dt.unsqueeze(-1) * complex_to_real(P),
        "D2P": complex_to_real(D2 * P),
    }


def dplr_linear_step_terms(
    dt: torch.Tensor, A: torch.Tensor, P: torch.Tensor, B: torch.Tensor
) -> dict[str, torch.Tensor]:
    r"""Terms of the O(N r) bilinear step :func:`dplr_linear_step`, from the two halves
    (:func:`dplr_forward_terms`, :func:`dplr_backward_terms`) and
    ``M[h, r, s] = dt p_r . D2P_s`` (H, r, r), ``D2dtB = interleave(2/dt D dt B)`` (H, N2, 2)."""
    fwd, bwd = dplr_forward_terms(dt, A, P), dplr_backward_terms(dt, A, P)
    return {
        "D2a": bwd["D2"] * fwd["a"],
        "D2dtB": torch.view_as_real(bwd["D2"] * (dt.unsqueeze(-1) * B)),
        "p_dt": fwd["p_dt"],
        "D2P": bwd["D2P"],
        "W": bwd["W"],
        "M": torch.einsum("rhn,shn->hrs", fwd["p_dt"], bwd["D2P"]),
    }


def dplr_linear_step(terms: dict, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    r"""One bilinear step ``x' = (I - dt/2 A)^{-1} [(I + dt/2 A) x + dt B u]`` in O(N r).

    Forward half: v = a x - sum_r c_r P_r + dt B u with c_r = dt Re(P_r^H x) = p_dt_r . x_real.
    Backward half (Woodbury): x' = D2 v - sum_r (W s)_r D2P_r, s = P^* D v = dt p . (D2 v)_real.
    With x1 = D2 a x + D2 dt B u, D2 v = x1 - sum_r c_r D2P_r, so s = p_dt . x1_real - M c and
    x' = x1 - sum_r (c + W s)_r D2P_r: two passes over the state, real contractions only.
    Shapes: x (batch, H, N2) complex, u (batch, H) real -> x' (batch, H, N2).
    """
    c = torch.einsum("...hn,rhn->...rh", complex_to_real(x), terms["p_dt"])  # (batch, r, H)
    x1 = (terms["D2a"] * x).contiguous()  # contiguous: updated in place on its real view
    torch.view_as_real(x1).addcmul_(terms["D2dtB"], u[..., None, None])
    s = torch.einsum("...hn,rhn->...rh", complex_to_real(x1), terms["p_dt"])
    s = s - torch.einsum("hrs,...sh->...rh", terms["M"], c)  # P^* D v
    t = c + torch.einsum("hrs,...sh->...rh", terms["W"], s)
    complex_to_real(x1).sub_(torch.einsum("...rh,rhn->...hn", t, terms["D2P"]))
    return x1


def power_sum_near_identity(E: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For M = I + E: (M^n - I, sum_{j<n} M^j), by binary doubling (about 3 log2 n matmuls).

    With M^m = I + E_m:  E_{2m} = 2 E_m + E_m E_m,  S_{2m} = S_m (I + M^m) = 2 S_m + S_m E_m,
    E_{m+1} = E_m + E + E_m E,  S_{m+1} = S_m + I + E_m.  The identity is never added to a
    small quantity and subtracted again, so E_n keeps full relative precision.
    """
    eye = torch.eye(E.shape[-1], dtype=E.dtype, device=E.device)
    E_m, S = torch.zeros_like(E), torch.zeros_like(E)
    for bit in bin(n)[2:]:
        S = 2 * S + S @ E_m
        E_m = 2 * E_m + E_m @ E_m
        if bit == "1":
            S = S + eye + E_m
            E_m = E_m + E + E_m @ E
    return E_m, S


def power_products_near_identity(
    E: torch.Tensor, n: int, rows: torch.Tensor, cols: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""For M = I + E (H, N, N): ``(rows (M^n - I), S_n cols)`` with S_n = sum_{j<n} M^j,
    for row vectors ``rows`` (..., H, N) and column vectors ``cols`` (..., H, N).

    The same near-identity doubling as :func:`power_sum_near_identity`, but only the squarings
    E_{2j} = 2 E_j + E_j E_j (log2 n matmuls) are matrix products; the vectors accumulate the
    set bits of n (LSB first; powers of M commute):
        rows (M^{m+j} - I) = r_m + r_m E_j + rows E_j        (r_m = rows (M^m - I))
        S_{m+j} cols = t_j + s_m + E_j s_m                    (s_m = S_m cols, t_j = S_j cols)
        t_{2j} = 2 t_j + E_j t_j                              (t_1 = cols)
    """
    r_acc, s_acc = torch.zeros_like(rows), torch.zeros_like(cols)
    E_j, t_j = E, cols
    bits = bin(n)[2:][::-1]
    for k, bit in enumerate(bits):
        if bit == "1":
            rE = torch.einsum("...hi,hij->...hj", rows, E_j)
            r_acc = r_acc + torch.einsum("...hi,hij->...hj", r_acc, E_j) + rE
            s_acc = t_j + s_acc + torch.einsum("hij,...hj->...hi", E_j, s_acc)
        if k + 1 < len(bits):  # the next power of two (not needed after the top bit)
            t_j = 2 * t_j + torch.einsum("hij,...hj->...hi", E_j, t_j)
            E_j = torch.baddbmm(E_j, E_j, E_j, beta=2.0)  # 2 E_j + E_j E_j in one product
    return r_acc, s_acc
