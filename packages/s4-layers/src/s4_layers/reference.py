"""Float64 brute-force references: the plain twins of every fast path in s4_layers.

Everything is built on the FULL conjugate system of size N (dense (N, N) complex128 matrices),
independently of :mod:`s4_layers.functional` (no Cauchy, no Vandermonde, no Woodbury, no
shortcut of the discretisation):

    Lambda_full = [A, conj A],  P_full = [P, conj P],  B_full = [B, conj B],  C_full = [C, conj C]
    A_full = diag(Lambda_full) - sum_r P_full[r] P_full[r]^*

discretised densely (zoh: matrix exponential, bilinear: dense inverse, dss, forward Euler), and
the recurrence is unrolled one step at a time: x_k = dA x_{k-1} + dB u_k, y_k = Re(C_full x_k).
Inputs are torch tensors (any dtype); outputs are numpy float64 / complex128 arrays.

Use them to check a change::

    from s4_layers import reference
    K_ref = reference.kernel(dt, A, B, C, L, P=P, disc="bilinear")
    assert reference.rel_err(my_kernel, K_ref) < 1e-5
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.linalg
import torch

import hippo_core

__all__ = [
    "full_system",
    "kernel",
    "random_system",
    "recurrence",
    "rel_err",
    "step",
    "tol32",
]


def _np(t):
    return t.detach().cpu().numpy().astype(np.complex128) if torch.is_tensor(t) else t


def full_system(dt, A, B, C, P=None, disc="zoh", L=None):
    """The discretised full system: (dA (H, N, N), dB (H, N), C_full (channels, H, N)),
    complex128 numpy. Shapes in: dt (H,), A (H, N/2), B (H, N/2), C (channels, H, N/2),
    P (rank, H, N/2) or None (diagonal); ``L`` is dss's normalisation length."""
    dt = dt.detach().double().cpu().numpy()
    A, B, C = _np(A), _np(B), _np(C)
    H, N2 = A.shape
    lam = np.concatenate([A, A.conj()], -1)
    Bf = np.concatenate([B, B.conj()], -1)
    Cf = np.concatenate([C, C.conj()], -1)
    Af = np.stack([np.diag(lam[h]) for h in range(H)])
    if P is not None:
        P = _np(P)
        Pf = np.concatenate([P, P.conj()], -1)  # (r, H, N)
        Af = Af - np.einsum("rhi,rhj->hij", Pf, Pf.conj())
    N = 2 * N2
    eye = np.eye(N)
    dA = np.zeros((H, N, N), complex)
    dB = np.zeros((H, N), complex)
    for h in range(H):
        a = Af[h] * dt[h]
        if disc == "bilinear":
            inv = np.linalg.inv(eye - a / 2)
            dA[h] = inv @ (eye + a / 2)
            dB[h] = inv @ (dt[h] * Bf[h])
        elif disc == "forward":
            dA[h] = eye + a
            dB[h] = dt[h] * Bf[h]
        else:
            dA[h] = scipy.linalg.expm(a)
            dB[h] = np.linalg.solve(Af[h], (dA[h] - eye) @ Bf[h])
            if disc == "dss":
                dB[h] = np.linalg.solve(scipy.linalg.expm(a * L) - eye, dB[h])
    return dA, dB, Cf


def kernel(dt, A, B, C, L, P=None, disc="zoh"):
    """K (channels, H, L) float64: K_l = Re(C_full dA^l dB), by unrolling x <- dA x from dB."""
    dA, dB, Cf = full_system(dt, A, B, C, P, disc, L)
    x = dB.copy()
    out = np.zeros((Cf.shape[0], dA.shape[0], L))
    for l in range(L):
        out[..., l] = np.einsum("chn,hn->ch", Cf, x).real
        x = np.einsum("hij,hj->hi", dA, x)
    return out


def _full_state(state, batch, H, N):
    if state is None:
        return np.zeros((batch, H, N), complex)
    s = _np(state)
    return np.concatenate([s, s.conj()], -1)


def recurrence(dt, A, B, C, u, P=None, disc="zoh", state=None, L_norm=None):
    """Unrolled recurrence from ``state`` (batch, H, N/2) or zero, over u (batch, H, L).

    Returns y (batch, channels, H, L), the last state x_L (batch, H, N/2) and every state
    (batch, H, N/2, L) (the first half of the full state: the stored convention)."""
    u = u.detach().double().cpu().numpy()
    batch, H, L = u.shape
    dA, dB, Cf = full_system(dt, A, B, C, P, disc, L_norm or L)
    N = dA.shape[-1]
    x = _full_state(state, batch, H, N)
    ys = np.zeros((batch, Cf.shape[0], H, L))
    states = np.zeros((batch, H, N // 2, L), complex)
    for k in range(L):
        x = np.einsum("hij,bhj->bhi", dA, x) + dB[None] * u[:, :, k, None]
        ys[..., k] = np.einsum("chn,bhn->bch", Cf, x).real
        states[..., k] = x[..., : N // 2]
    return ys, x[..., : N // 2], states


def step(dt, A, B, C, u, state, P=None, disc="zoh", L_norm=None):
    """One step x' = dA x + dB u, y = Re(C_full x'): u (batch, H), state (batch, H, N/2) ->
    (y (batch, channels, H), x' (batch, H, N/2))."""
    ys, x, _ = recurrence(dt, A, B, C, u.unsqueeze(-1), P, disc, state, L_norm)
    return ys[..., 0], x


def rel_err(out, ref) -> float:
    """||out - ref|| / ||ref|| in float64 (tensors or arrays)."""
    if torch.is_tensor(out) and out.is_complex():
        out = out.detach().to(torch.complex128).cpu().numpy()
    elif torch.is_tensor(out):
        out = out.detach().double().cpu().numpy()
    if torch.is_tensor(ref):
        ref = ref.detach().cpu().numpy()
    ref = np.asarray(ref)
    return float(np.linalg.norm(out - ref) / np.linalg.norm(ref))


def random_system(
    init, N, H=3, channels=2, rank=1, dtype=torch.float64, seed=0, dt_range=(1e-3, 1e-1), **kw
):
    """Parameters from a hippo_core init plus random C and log-uniform dt (fresh, non-zero):
    a namespace with dt (H,), A (H, N/2), P (rank, H, N/2), B (H, N/2), C (channels, H, N/2)."""
    g = torch.Generator().manual_seed(seed)
    sys_ = hippo_core.dplr(init, N, rank=rank, H=H, seed=seed, **kw)
    cdt = torch.complex128 if dtype == torch.float64 else torch.complex64
    A = torch.as_tensor(sys_.Lambda)
    # The layers clamp Re(Lambda) <= -1e-4 (fout / legt have purely imaginary Lambda, one of
    # them 0, where zoh's (exp(dtA) - 1) / A and the k=0 Cauchy pole are undefined): do the same.
    A = torch.complex(A.real.clamp(max=-1e-4), A.imag).to(cdt)
    P = torch.as_tensor(sys_.P).to(cdt)
    B = torch.as_tensor(sys_.B).to(cdt)
    C = torch.randn(channels, H, N // 2, 2, generator=g, dtype=torch.float64)
    C = torch.view_as_complex(C).to(cdt)
    lo, hi = np.log(dt_range[0]), np.log(dt_range[1])
    dt = torch.exp(lo + (hi - lo) * torch.rand(H, generator=g, dtype=torch.float64)).to(dtype)
    return SimpleNamespace(dt=dt, A=A, P=P, B=B, C=C)


def tol32(dt, A, L, power=False) -> float:
    """float32 tolerance: 1e-5, relaxed to 1e-4 where float32 itself cannot do better.

    Rounding dt*A to float32 (relative 6e-8) shifts the phase of mode n at step l by
    l |dt A_n| 6e-8 per rounding (dt*A, the discretisation, x*l: about four); a mode matters
    for about min(L, 1/|Re dt A_n|) steps. When that bound exceeds 1e-5 (long kernels, large
    |Im A| at large dt, or barely damped modes) no float32 algorithm can promise 1e-5, and the
    bound is relaxed to 1e-4 (3e-4 in the extreme case).
    """
    dtA = (dt.double().unsqueeze(-1) * A.to(torch.complex128)).abs()
    life = torch.clamp(1 / (dt.double().unsqueeze(-1) * A.real.double()).abs(), max=L)
    kappa = float((2.4e-7 * dtA * life).max())  # ~4 roundings of 6e-8 each
    if power:
        # DPLR: Abar^L by repeated squaring carries relative error ~ L eps |Abar^L|, which
        # reaches K through Ctilde = C (I - Abar^L) when the slowest mode has not decayed.
        slowest = float((dt.double().unsqueeze(-1) * A.real.double()).abs().min())
        kappa = max(kappa, 6e-8 * L * np.exp(-slowest * L))
    if kappa < 1e-5:
        return 1e-5
    # S4D-Inv at N=64 has |Im A| ~ 1300, so |dt A| ~ 130 at dt = 0.1 (kappa ~ 6e-4): the only
    # family here whose bound exceeds 3e-4; every other relaxed case stays within 1e-4.
    return 1e-4 if kappa < 3e-4 else 3e-4
