"""S4 / S4D initialisations: the original's formulas, combinations, options and errors."""

import math

import numpy as np
import pytest

from hippo_core import COMBINATIONS, DPLR_INITS, INIT_ALIASES, INITS, dplr, nplr


def rank_for(init):
    return 2 if "legt" in init else 1


@pytest.mark.parametrize("init", INITS)
def test_shapes_dtypes_and_stability(init):
    rank = rank_for(init)
    out = dplr(init, 8, rank=rank, H=4, seed=0)
    assert out.Lambda.shape == (4, 4) and out.Lambda.dtype == np.complex128
    assert out.P.shape == (rank, 4, 4) and out.B.shape == (4, 4)
    assert np.all(np.isfinite(out.Lambda)) and np.all(np.isfinite(out.B))
    for h in range(4):  # the full (conjugate-pair) system decays
        Lf = np.concatenate([out.Lambda[h], out.Lambda[h].conj()])
        Pf = np.concatenate([out.P[:, h], out.P[:, h].conj()], axis=-1)
        assert np.linalg.eigvals(np.diag(Lf) - Pf.T @ Pf.conj()).real.max() <= 1e-9
    if init.startswith("diag"):
        assert not np.any(out.P) and np.all(out.Lambda.real < 0)


@pytest.mark.parametrize("alias,target", sorted(INIT_ALIASES.items()))
def test_aliases_build_the_same_system(alias, target):
    a, b = dplr(alias, 8, H=2, seed=1), dplr(target, 8, H=2, seed=1)
    for x, y in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("N", [2, 16, 64])
def test_eigenvalue_formulas(N):
    n = np.arange(N // 2)
    cases = {
        "diag-lin": -0.5 + 1j * math.pi * n,
        "diag-inv": -0.5 + 1j * N / math.pi * (N / (2 * n + 1) - 1),
        "diag-inv2": -0.5 + 1j * N / math.pi * (N / (n + 1) - 1),
        "diag-quad": -0.5 + 1j * (2 * n + 1) ** 2 / math.pi,
        "diag-real": -(n + 1.0) + 0j,
    }
    for init, expected in cases.items():
        Lambda = dplr(init, N).Lambda[0]
        for got, want in zip(Lambda, expected):
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), init
        np.testing.assert_array_equal(dplr(init.removeprefix("diag-"), N).Lambda[0], Lambda)


def test_rand_draws_exp_of_a_normal():
    Lambda = dplr("diag-rand", 8, H=3, seed=7).Lambda
    rng = np.random.default_rng(7)
    np.testing.assert_allclose(Lambda, -0.5 + 1j * np.exp(rng.standard_normal((3, 4))))


def test_b_init_options():
    N, n = 8, np.arange(4)
    np.testing.assert_array_equal(dplr("diag-lin", N).B[0], 1.0)
    np.testing.assert_array_equal(dplr("diag-lin", N, B_init="alternating").B[0], [1, -1, 1, -1])
    cw = dplr("diag-lin", N, B_init="unit-cw").B[0]
    np.testing.assert_allclose(cw, np.exp(2j * np.pi * n / N))  # conj of exp(-2 pi i n / N)
    ccw = dplr("diag-lin", N, B_init="unit-ccw", B_scale=3.0).B[0]
    np.testing.assert_allclose(ccw, 3 * np.exp(-2j * np.pi * n / N))
    B = dplr("diag-lin", N, H=2, B_init="random", seed=2).B
    rng = np.random.default_rng(2)
    z = (rng.standard_normal((2, 4)) + 1j * rng.standard_normal((2, 4))) / np.sqrt(2)
    np.testing.assert_allclose(B, z)


def test_s4d_legs_is_the_diagonal_part_of_legs_nplr_with_clipped_b():
    form = nplr("legs", 64)  # B_clip = 2.0
    diag = dplr("diag-legs", 64, H=2)
    full = dplr("legs", 64, H=2)
    assert np.abs(nplr("legs", 64, B_clip=None).B.imag).max() > 2
    for h in range(2):
        np.testing.assert_allclose(diag.Lambda[h], form.Lambda, atol=1e-13)
        np.testing.assert_allclose(diag.B[h], form.B, atol=1e-14)
        np.testing.assert_allclose(full.P[:, h], form.P, atol=1e-14)
        assert np.abs(full.B[h].imag).max() <= 2.0
    assert not np.any(diag.P)
    unclipped = dplr("legs", 64, B_clip=None).B[0]
    np.testing.assert_allclose(unclipped, nplr("legs", 64, B_clip=None).B)


def test_dplr_prefix_draws_a_random_p_with_unit_scale():
    out = dplr("dplr-lin", 64, rank=2, H=8, seed=3)
    np.testing.assert_allclose(out.Lambda, dplr("diag-lin", 64, H=8).Lambda)
    assert 0.9 < np.mean(np.abs(out.P) ** 2) < 1.1  # CN(0, 1): E|P|^2 = 1
    half = dplr("dplr-lin", 64, rank=2, H=8, seed=3, P_scale=0.5)
    np.testing.assert_allclose(half.P, 0.5 * out.P)
    legs = dplr("dplr-legs", 16, seed=0)
    np.testing.assert_allclose(legs.B[0], nplr("legs", 16).B)
    assert np.any(legs.P)


def test_diag_of_skew_measures_gets_the_real_value():
    np.testing.assert_array_equal(nplr("fout", 8).Lambda.real, 0.0)
    np.testing.assert_allclose(dplr("diag-fout", 8, real_value=0.3).Lambda.real, -0.3)
    np.testing.assert_allclose(dplr("diag-legt", 8).Lambda.imag[0], nplr("legt", 8, 2).Lambda.imag)


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_combinations_split_the_copies(name):
    parts = COMBINATIONS[name]
    H = 2 * len(parts)
    out = dplr(name, 16, H=H, seed=0)
    for i, part in enumerate(parts):
        single = dplr(part, 16, H=2, seed=0)
        np.testing.assert_allclose(out.Lambda[2 * i : 2 * i + 2], single.Lambda)
        np.testing.assert_allclose(out.B[2 * i : 2 * i + 2], single.B)
    assert out.V is None
    with pytest.raises(ValueError, match=f"H: expected a multiple of {len(parts)}"):
        dplr(name, 16, H=len(parts) + 1)


def test_options_real_value_and_imag_scale():
    Lambda = dplr("lin", 16, real_value=0.1, imag_scale=0.5).Lambda[0]
    np.testing.assert_allclose(Lambda.real, -0.1)
    np.testing.assert_allclose(Lambda.imag, 0.5 * np.pi * np.arange(8))
    legs = dplr("legs", 16, imag_scale=2.0).Lambda[0]
    np.testing.assert_allclose(legs.imag, 2 * nplr("legs", 16).Lambda.imag)


def test_random_draws_are_seeded_and_differ_per_channel():
    a = dplr("dplr-rand", 16, H=2, seed=3)
    b = dplr("dplr-rand", 16, H=2, seed=3)
    np.testing.assert_array_equal(a.Lambda, b.Lambda)
    np.testing.assert_array_equal(a.P, b.P)
    assert not np.allclose(a.Lambda[0], a.Lambda[1])


def test_legt_needs_rank_two_except_without_p():
    with pytest.raises(ValueError, match="rank: expected for measure 'legt' rank >= 2"):
        dplr("legt", 8)
    assert dplr("legt", 8, rank=2).P.shape == (2, 1, 4)
    assert dplr("diag-legt", 8).P.shape == (1, 1, 4)


def test_every_canonical_init_is_listed_once():
    assert len(set(DPLR_INITS)) == len(DPLR_INITS)
    assert not set(INIT_ALIASES) & set(DPLR_INITS)
