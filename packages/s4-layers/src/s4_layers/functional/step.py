r"""Fused recurrent (step) forms: the next state and the output of one step from one pass.

Every step form here computes, for a batch of states x (batch, H, N2) complex (conjugate-pair
convention) and inputs u (batch, H) real,

    x' = dA x + dB u,    y = 2 Re(C x') = C_real . x'_real       (y: (batch, channels, H))

For the DPLR forms, which must contract the old state anyway (with dA itself, or with the
low-rank factors), the output is folded onto the *old* state, so a single real batched matmul
over H reads x once and yields everything that needs a contraction with it:

    y = (C dA) . x + (C . dB) u      (C dA: the output row pulled back through one step)

For the diagonal form the update is elementwise and y is read from the new state (measured:
one more pass over the old state costs more than reading the new one while it is in cache).

On CPU a complex einsum / bmm with a batch axis falls back to a loop over the batch, so all
contractions are real: ``x_real = view_as_real(x)`` interleaved, and a complex row w acts as
``2 Re(w x) = output_to_real(w) . x_real`` (see :mod:`s4_layers.functional.discretize`).
The state (batch, H, N2) is read through its (H, batch, N) transposed real view, which bmm
takes without a copy; a recycled state's views are derived once and held with it.

Given a layer's skip D (channels, H), each form returns y + D u flattened channel-major to
(batch, channels * H), what the layer computes next: on CPU every view op costs ~2 us, so
the (batch, channels, H) view and the flatten between are left out where the layout allows.

The plain twins (reference forms, used by the tests): :func:`~s4_layers.functional.
discretize.dplr_linear_step` (linear), the dense matrices of
:func:`~s4_layers.functional.discretize.dplr_bilinear_dense`, and ``dA x + dB u`` for diag.
"""

from __future__ import annotations

import torch

from s4_layers._checks import complex_dtype_of
from s4_layers._step_cache import StateBuffers
from s4_layers.functional.discretize import (
    complex_to_real,
    dplr_linear_step_terms,
    output_to_real,
)


def _by_channel(rows: torch.Tensor) -> torch.Tensor:
    """(channels, H, N) output rows -> (H, N, channels) right factor of a bmm over H."""
    return rows.permute(1, 2, 0).contiguous()


def _state_views(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """state (batch, H, N2) complex -> its real views x_real (batch, H, N), x_cols (H, N, batch)
    and x_rows (H, batch, N) (no copy for a contiguous state: bmm takes the strided ones as
    they are). Derived once per recycled state (:class:`~s4_layers._step_cache.StateBuffers`)."""
    x_real = complex_to_real(x)
    return x_real, x_real.permute(1, 2, 0), x_real.transpose(0, 1)


def _needs_graph(*tensors: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _pool(terms: dict) -> StateBuffers:
    """The ``terms``' recycled states (a fresh 1 MB tensor each step costs page faults)."""
    pool = terms.get("states")
    if pool is None:
        pool = terms["states"] = StateBuffers(views=_state_views)
    return pool


def _old_state_views(terms: dict, x: torch.Tensor) -> tuple:
    """:func:`_state_views` of a step's input state: held by the pool when it is one of its
    states (the state of the step before), else derived."""
    pool = terms.get("states")
    return _state_views(x) if pool is None else pool.views_of(x)


def _decayed_state(terms: dict, a: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
    """a * x (a (H, N2), x (batch, H, N2) complex) with unit stride along N2 (the callers
    update its real view in place) and its :func:`_state_views`: written into a recycled state
    when no graph is recorded."""
    if _needs_graph(a, x) or x.shape[1:] != a.shape:
        x = a * x
        x = x if x.stride(-1) == 1 else x.contiguous()
        return x, _state_views(x)
    dtype = a.dtype if x.dtype == a.dtype else torch.result_type(a, x)  # (an op: skip if equal)
    x_new, views = _pool(terms).empty_with_views(x.shape, dtype, x.device)
    return torch.mul(a, x, out=x_new), views


def _flat_skip(y: torch.Tensor, D: torch.Tensor, u: torch.Tensor, order: str) -> torch.Tensor:
    r"""y (H, channels, batch) (``order`` "hcb") or (H, batch, channels) ("hbc"), contiguous as
    a bmm writes it, D (channels, H), u (batch, H) -> y + D u as (batch, channels * H),
    channel-major.

    One channel (the usual case) is a single strided view, y_{b h} at h * batch + b, so the
    addition reads y where the bmm wrote it: each view op costs ~2 us here, a step at B = 1
    ~100 us."""
    H, batch = y.shape[0], u.shape[0]
    if D.shape[0] == 1:
        # kept H-major: the Linear after it is faster on this layout than on a contiguous copy
        # (measured in a B = 4 and 16 S4Block step: 4-6 % and 1-4 %)
        return torch.addcmul(y.as_strided((batch, H), (1, batch)), D, u)
    y = y.permute(2, 1, 0) if order == "hcb" else y.permute(1, 2, 0)  # (batch, channels, H)
    return torch.addcmul(y, D, u.unsqueeze(1)).flatten(1, 2)


# ---------------------------------------------------------------------------------------------
# diagonal


def diag_step_terms(dA: torch.Tensor, dB: torch.Tensor, C: torch.Tensor) -> dict:
    r"""Terms of :func:`diag_step` from dA, dB (H, N2) complex and C (channels, H, N2):
    dA, dB's real view (H, N), C_real = output_to_real(C) (channels, H, N) and its
    by-feature rows C_rows (H, channels, N), the left factor of the output's bmm over H."""
    C_real = output_to_real(C).contiguous()
    # rows with the plain strides (channels N, N, 1): MKL's bmm takes a (H, 1, N) left factor
    # whose size-1 axis has stride 1 (what .contiguous() keeps) by a ~4x slower path (measured)
    C_rows = torch.empty(C_real.shape[1], C_real.shape[0], C_real.shape[2], dtype=C_real.dtype,
                         device=C_real.device).copy_(C_real.transpose(0, 1))  # fmt: skip
    return {
        "dA": dA.contiguous(),
        "dB_real": complex_to_real(dB.contiguous()),
        "C_real": C_real,
        "C_rows": C_rows,
    }


def diag_step(
    terms: dict, x: torch.Tensor, u: torch.Tensor, D: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""x' = dA x + dB u,  y = 2 Re(C x') = C_real . x'_real  (+ D u).

    x (batch, H, N2) complex, u (batch, H) real in the working dtype ->
    (y (batch, channels, H), x' (batch, H, N2) contiguous); with the skip D (channels, H),
    y + D u flattened channel-major to (batch, channels * H) (what a layer's step computes
    next, without the views between: see :func:`_flat_skip`).

    Three passes over the state (at B=16, H=256, N2=32 complex64 it is 1 MB, half of this
    CPU's 2 MB L2, so every pass and every temporary counts): the complex product, the
    addition of dB u in place on its real view, and one bmm over H,
    y_h (channels, batch) = C_rows_h (channels, N) @ x'_h^T (N, batch), reading x'_real through
    its (H, N, batch) view. The bmm writes only (H, channels, batch); the elementwise product
    C_real * x'_real it replaces wrote a 1 MB temporary that evicted the state. This
    orientation of the bmm is MKL's fast one at channels 1-2 (B=16: 27 us against 66 us for
    x'_h (batch, N) @ C_h (N, channels); B=1 and 4: within 1 us).
    """
    x, (x_real, x_cols, _) = _decayed_state(terms, terms["dA"], x)  # new: no conjugate bit
    # + dB u in place on the real view (a complex dB * u temporary is one more pass)
    x_real.addcmul_(terms["dB_real"], u.unsqueeze(-1))
    y = torch.bmm(terms["C_rows"], x_cols)  # (H, channels, batch)
    if D is not None:
        return _flat_skip(y, D, u, "hcb"), x
    # y stays in the bmm's layout, viewed as (batch, channels, H): the layer's elementwise ops
    # keep that layout, and on it GELU runs torch's own kernel instead of oneDNN's, which
    # costs ~30 us a call more at B=16 once the state has swept the cache (measured; the two
    # agree to 1 ulp). FFTConv.step makes its output contiguous for the Linear.
    return y.permute(2, 1, 0), x


# ---------------------------------------------------------------------------------------------
# DPLR, dense (N, N) real matrices


def dplr_dense_step_terms(E: torch.Tensor, dB: torch.Tensor, C: torch.Tensor) -> dict:
    r"""Terms of :func:`dplr_dense_step` from dA = I + E (H, N, N), dB (H, N) (real basis, see
    :func:`~s4_layers.functional.discretize.dplr_bilinear_dense`) and C (channels, H, N2):

        G = [dA^T | dA^T C_real^T] (H, N, N + channels),  cB = dB . C_real (H, 1, channels).
    """
    eye = torch.eye(E.shape[-1], dtype=E.dtype, device=E.device)
    dA_T = (eye + E).transpose(1, 2)
    C_real = _by_channel(output_to_real(C))  # (H, N, channels)
    return {
        "G": torch.cat([dA_T, dA_T @ C_real], dim=-1).contiguous(),
        "dB": dB,
        "cB": (dB.unsqueeze(1) @ C_real),
    }


def dplr_dense_step(
    terms: dict, x: torch.Tensor, u: torch.Tensor, D: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""x'_real = dA x_real + dB u,  y = C_real . x'_real = x_real (dA^T C_real^T) + u cB.

    One real bmm over H yields [x' - dB u, y - cB u]; the addition of dB u writes the new state
    in its (batch, H, N) layout. Shapes (and the skip D) as :func:`diag_step`.
    """
    G = terms["G"]
    N = G.shape[1]
    z = torch.bmm(_old_state_views(terms, x)[2], G)  # (H, batch, N + channels)
    y = torch.addcmul(z[..., N:], u.t().unsqueeze(-1), terms["cB"])  # (H, batch, channels)
    xz = z[..., :N].transpose(0, 1)  # (batch, H, N)
    ud = u.unsqueeze(-1)
    if _needs_graph(xz, ud, terms["dB"]):
        x_real = torch.addcmul(xz, terms["dB"], ud).contiguous()
        x = torch.view_as_complex(x_real.unflatten(-1, (-1, 2)))
    else:  # out=: the transposing copy and the addition in one pass, into a recycled state
        x, (x_real, _, _) = _pool(terms).empty_with_views(
            x.shape, complex_dtype_of(xz.dtype), x.device
        )
        torch.addcmul(xz, terms["dB"], ud, out=x_real)
    if D is not None:
        return _flat_skip(y, D, u, "hbc"), x
    # y contiguous (batch, channels, H): the layer's ops after the kernel are slower on the
    # strided view (measured at B = 4)
    return y.permute(1, 2, 0).contiguous(), x


# ---------------------------------------------------------------------------------------------
# DPLR, exact O(N r) step


def dplr_linear_fused_terms(
    dt: torch.Tensor, A: torch.Tensor, P: torch.Tensor, B: torch.Tensor, C: torch.Tensor
) -> dict:
    r"""Terms of :func:`dplr_linear_fused_step` (notation of
    :func:`~s4_layers.functional.discretize.dplr_linear_step`):

        x1 = D2a x + D2dtB u,  c = p_dt . x_real,  s = p_dt . x1_real - M c,  t = c + W s,
        x' = x1 - sum_r t_r D2P_r,  y = C_real . x'_real.
    Everything read from x is one bmm with G = [p_dt | q | g] (H, N, 2r + channels):
        p_dt . x1_real = q . x_real + pB u,   q_r = interleave(conj(D2a) p_dt_r)
        C_real . x1_real = g . x_real + cB u, g = interleave(conj(D2a) Cc),  Cc = C_real as complex
    so y = g . x_real + cB u - sum_r t_r (C_real . D2P_r).
    """
    lin = dplr_linear_step_terms(dt, A, P, B)
    D2a, p_dt, D2P = lin["D2a"], lin["p_dt"], lin["D2P"]
    D2dtB = lin["D2dtB"].flatten(-2)  # (H, N)
    C_real = output_to_real(C)  # (channels, H, N)

    def pulled_back(rows: torch.Tensor) -> torch.Tensor:
        # rows . (D2a x)_real = interleave(conj(D2a) rows_c) . x_real  (rows_c: rows as complex)
        rows_c = torch.view_as_complex(rows.unflatten(-1, (-1, 2)).contiguous())
        return complex_to_real(D2a.conj() * rows_c)

    G = torch.cat([p_dt, pulled_back(p_dt), pulled_back(C_real)])  # (2r + channels, H, N)
    return {
        "D2a": D2a.contiguous(),  # the product D2a * x takes the layout of its operands
        "D2dtB_real": lin["D2dtB"].flatten(-2).contiguous(),  # (H, N)
        "G": _by_channel(G),
        "pB": torch.einsum("rhn,hn->hr", p_dt, D2dtB).unsqueeze(1),  # (H, 1, r)
        "cB": torch.einsum("chn,hn->hc", C_real, D2dtB).unsqueeze(1),  # (H, 1, channels)
        "M_T": lin["M"].transpose(1, 2).contiguous(),  # (H, r, r)
        "W_T": lin["W"].transpose(1, 2).contiguous(),  # (H, r, r)
        "CD2P_T": torch.einsum("chn,rhn->hrc", C_real, D2P),  # (H, r, channels)
        "D2P": D2P.contiguous(),  # (r, H, N)
    }


def dplr_linear_fused_step(
    terms: dict, x: torch.Tensor, u: torch.Tensor, D: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The exact O(N r) bilinear step and its output (formulas in
    :func:`dplr_linear_fused_terms`): one bmm reads x, the new state is written by one complex
    product, one addcmul and one rank-r update. Shapes (and the skip D) as :func:`diag_step`."""
    r = terms["M_T"].shape[-1]
    z = torch.bmm(_old_state_views(terms, x)[2], terms["G"])  # (H, batch, 2r + channels)
    ut = u.t().unsqueeze(-1)  # (H, batch, 1)
    c = z[..., :r]
    s = torch.baddbmm(torch.addcmul(z[..., r : 2 * r], ut, terms["pB"]), c, terms["M_T"], alpha=-1)
    t = torch.baddbmm(c, s, terms["W_T"])
    y = torch.baddbmm(torch.addcmul(z[..., 2 * r :], ut, terms["cB"]), t, terms["CD2P_T"], alpha=-1)
    x, (x_real, _, _) = _decayed_state(terms, terms["D2a"], x)  # updated in place below
    x_real.addcmul_(terms["D2dtB_real"], u.unsqueeze(-1))
    # x' = x1 - sum_r t_r D2P_r in place, one elementwise update per rank (an in-place
    # baddbmm on the strided view is a per-matrix loop); views, never reshape: a copy would
    # drop the update
    t_b = t.permute(2, 1, 0).unsqueeze(-1)  # (r, batch, H, 1)
    for k in range(r):
        x_real.addcmul_(t_b[k], terms["D2P"][k], value=-1)
    if D is not None:
        return _flat_skip(y, D, u, "hbc"), x
    return y.permute(1, 2, 0).contiguous(), x  # contiguous: see dplr_dense_step


__all__ = [
    "diag_step",
    "diag_step_terms",
    "dplr_dense_step",
    "dplr_dense_step_terms",
    "dplr_linear_fused_step",
    "dplr_linear_fused_terms",
]
