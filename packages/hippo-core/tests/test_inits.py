"""S4 / S4D initialisations: formulas, diagonal parts, options and errors."""

import math

import numpy as np
import pytest

from hippo_core import DPLR_INITS, dplr, nplr


@pytest.mark.parametrize("init", DPLR_INITS)
def test_shapes_and_dtypes(init):
    rank = 2 if init == "legt" else 1
    out = dplr(init, 8, rank=rank, H=3, seed=0)
    assert out.Lambda.shape == (3, 4) and out.Lambda.dtype == np.complex128
    assert out.P.shape == (rank, 3, 4) and out.B.shape == (3, 4)
    # the full (conjugate-pair) system decays: no eigenvalue with a positive real part
    Lf = np.concatenate([out.Lambda[0], out.Lambda[0].conj()])
    Pf = np.concatenate([out.P[:, 0], out.P[:, 0].conj()], axis=-1)
    A = np.diag(Lf) - Pf.T @ Pf.conj()
    assert np.linalg.eigvals(A).real.max() <= 1e-9
    if init.startswith("diag-"):
        assert not np.any(out.P)
        assert np.all(out.Lambda.real < 0)


@pytest.mark.parametrize("N", [2, 16, 64])
def test_s4d_lin_formula(N):
    Lambda = dplr("lin", N).Lambda[0]
    for n in range(N // 2):
        assert Lambda[n] == pytest.approx(complex(-0.5, math.pi * n), abs=1e-12)


@pytest.mark.parametrize("N", [2, 16, 64])
def test_s4d_inv_formula(N):
    Lambda = dplr("diag-inv", N).Lambda[0]
    for n in range(N // 2):
        expected = complex(-0.5, N / math.pi * (N / (2 * n + 1) - 1))
        assert Lambda[n] == pytest.approx(expected, rel=1e-12)


def test_s4d_real_formula():
    np.testing.assert_array_equal(dplr("real", 10).Lambda[0], -(np.arange(5) + 1.0))


def test_s4d_legs_is_the_diagonal_part_of_legs_nplr():
    form = nplr("legs", 32)
    diag = dplr("diag-legs", 32, H=2)
    full = dplr("legs", 32, H=2)
    for h in range(2):
        np.testing.assert_allclose(diag.Lambda[h], form.Lambda, atol=1e-14)
        np.testing.assert_allclose(diag.B[h], form.B, atol=1e-14)
        np.testing.assert_allclose(full.P[:, h], form.P, atol=1e-14)
    assert not np.any(diag.P)


def test_options_real_value_and_imag_scale():
    Lambda = dplr("lin", 16, real_value=0.1, imag_scale=0.5).Lambda[0]
    np.testing.assert_allclose(Lambda.real, -0.1)
    np.testing.assert_allclose(Lambda.imag, 0.5 * np.pi * np.arange(8))
    legs = dplr("legs", 16, imag_scale=2.0).Lambda[0]
    np.testing.assert_allclose(legs.imag, 2 * nplr("legs", 16).Lambda.imag)


def test_diagonal_of_skew_measures_gets_a_decay():
    np.testing.assert_array_equal(nplr("fout", 8).Lambda.real, 0.0)
    np.testing.assert_allclose(dplr("diag-fout", 8, real_value=0.3).Lambda.real, -0.3)
    np.testing.assert_allclose(
        dplr("diag-legt", 8, rank=2).Lambda.imag[0], nplr("legt", 8, 2).Lambda.imag
    )


def test_rand_is_seeded_and_differs_per_channel():
    a = dplr("rand", 16, H=2, seed=3).Lambda
    b = dplr("rand", 16, H=2, seed=3).Lambda
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])
    assert np.all((a.imag >= 0) & (a.imag <= np.pi * 8))


def test_p_scale_gives_random_low_rank_term():
    P = dplr("lin", 16, rank=2, P_scale=0.3, seed=1).P
    assert P.shape == (2, 1, 8) and 0.05 < np.abs(P).std() < 1.0


def test_legt_needs_rank_two():
    with pytest.raises(ValueError, match="needs rank >= 2"):
        dplr("legt", 8)
    assert dplr("legt", 8, rank=2).P.shape == (2, 1, 4)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"init": "s4d-lin"}, "unknown init 's4d-lin'; expected one of: legs"),
        ({"N": 7}, "N must be even"),
        ({"N": 0}, "N must be an int >= 1"),
        ({"rank": 0}, "rank must be an int >= 1"),
        ({"H": 2.5}, "H must be an int"),
        ({"real_value": -1.0}, "real_value must be > 0"),
        ({"imag_scale": -1.0}, "imag_scale must be >= 0"),
        ({"real_part": 0.5}, r"unknown option\(s\) \['real_part'\]"),
    ],
)
def test_errors(kwargs, match):
    args = {"init": "lin", "N": 8} | kwargs
    with pytest.raises(ValueError, match=match):
        dplr(**args)
