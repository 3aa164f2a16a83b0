"""The short tables of the real-output Vandermonde (ssm_kernels.vandermonde_short); the
Function that uses them is tested with the two-table path in test_blocked and test_backends."""

import pytest
import torch

from ssm_kernels import blocked, vandermonde_short


@pytest.mark.parametrize("L", [1, 7, 24, 40, 300])
def test_short_tables_are_the_block_powers(L, refs):
    """The short tables: running products in float64 of exp(conj x) and exp(x Lc), so
    Ejc2[b, j, n] = 2 conj(exp(x_n j)) and P[b, q, n] = exp(x_n q Lc) equal torch's complex
    exp in float64 (to 1e-11: both round the phases x s, ~|x s| eps) and to one float32
    rounding in complex64 (no error growth over the Q + Lc products); L = 24 has more blocks
    than the block length (Q = 6, Lc = 4)."""
    x = refs.block_power_inputs(L)
    lc, Q = blocked._vdm_split(L)
    for dtype, rtol in ((torch.complex128, 1e-11), (torch.complex64, 2 * 2.0**-24)):
        xd = x.to(dtype)
        Ejc2, P = vandermonde_short.short_tables(xd, lc, Q)
        P_ref, E = refs.block_powers(xd, L)
        assert Ejc2.dtype == P.dtype == dtype
        assert Ejc2.shape == (5, lc, 9) and P.shape == (5, Q, 9)
        Ejc2_ref = 2 * E.conj().transpose(1, 2)
        # + a subnormal-sized floor: complex64 keeps the products' underflow (not flushed)
        floor = 4 * torch.finfo(xd.real.dtype).tiny
        assert ((Ejc2.cdouble() - Ejc2_ref).abs() <= rtol * Ejc2_ref.abs() + floor).all()
        assert ((P.cdouble() - P_ref).abs() <= rtol * P_ref.abs() + floor).all()
