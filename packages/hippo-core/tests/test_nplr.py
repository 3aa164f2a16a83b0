"""NPLR forms: A + P^T P normal, exact reconstruction, conjugate-pair bookkeeping."""

import numpy as np
import pytest

from hippo_core import MIN_RANK, NPLR_MEASURES, nplr, rank_correction, transition

CASES = [(m, MIN_RANK[m]) for m in NPLR_MEASURES] + [("legs", 3), ("legt", 3)]
SIZES = [2, 8, 32, 64]


def full(x, axis=-1):
    return np.concatenate([x, x.conj()], axis=axis)


def is_normal(M, tol=1e-10):
    comm = M @ M.conj().T - M.conj().T @ M
    return np.linalg.norm(comm) <= tol * np.linalg.norm(M) ** 2


@pytest.mark.parametrize("measure,rank", CASES)
@pytest.mark.parametrize("N", SIZES)
def test_rank_correction_makes_a_normal(measure, rank, N):
    A, _ = transition(measure, N)
    P = rank_correction(measure, N, rank)
    assert P.shape == (rank, N)
    assert is_normal(A + P.T @ P)


@pytest.mark.parametrize("measure,rank", CASES)
@pytest.mark.parametrize("N", SIZES)
def test_nplr_reconstructs_a_and_b(measure, rank, N):
    A, B = transition(measure, N)
    Lambda, P, Bc, V = nplr(measure, N, rank, B_clip=None)
    assert Lambda.shape == (N // 2,) and P.shape == (rank, N // 2)
    assert Bc.shape == (N // 2,) and V.shape == (N, N // 2)
    Vf, Pf = full(V), full(P)
    unitary_error = np.linalg.norm(Vf.conj().T @ Vf - np.eye(N))
    assert unitary_error < 1e-10
    A_rec = Vf @ (np.diag(full(Lambda)) - Pf.T @ Pf.conj()) @ Vf.conj().T
    assert np.linalg.norm(A_rec - A) / np.linalg.norm(A) < 1e-10
    assert np.linalg.norm(Vf @ full(Bc) - B) / np.linalg.norm(B) < 1e-10


@pytest.mark.parametrize("measure,rank", CASES)
def test_one_of_each_conjugate_pair(measure, rank):
    N = 16
    A, _ = transition(measure, N)
    P = rank_correction(measure, N, rank)
    Lambda = nplr(measure, N, rank).Lambda
    assert np.all(Lambda.imag >= -1e-12)
    expected = np.sort_complex(np.round(np.linalg.eigvals(A + P.T @ P), 8))
    got = np.sort_complex(np.round(full(Lambda), 8))
    np.testing.assert_allclose(got, expected, atol=1e-7)


def test_legs_real_part_is_minus_half():
    np.testing.assert_allclose(nplr("legs", 64).Lambda.real, -0.5, atol=1e-12)


def test_corrections_in_closed_form():
    N = 8
    n = np.arange(N)
    r = np.sqrt(2 * n + 1.0)
    b = np.array([1, 0, np.sqrt(2), 0, np.sqrt(2), 0, np.sqrt(2), 0])
    even = (n % 2 == 0).astype(float)
    # the original's legt correction: R (even, odd rows) / sqrt(2) ("halve the rank correction")
    legt = np.stack([r * even, r * (1 - even)]) / np.sqrt(2)
    np.testing.assert_allclose(rank_correction("legt", N, 2), legt)
    np.testing.assert_allclose(rank_correction("fout", N), b[None])
    np.testing.assert_allclose(rank_correction("fourier2", N), np.sqrt(2) * b[None])
    np.testing.assert_allclose(rank_correction("fourier_decay", N), b[None] / np.sqrt(2))
    np.testing.assert_allclose(rank_correction("lagt", N), np.full((1, N), np.sqrt(0.5)))
    np.testing.assert_array_equal(rank_correction("foud", N), 0.0)
    np.testing.assert_array_equal(rank_correction("legsd", N), 0.0)


@pytest.mark.parametrize(
    "measure,real",
    [
        ("legs", -0.5),
        ("legsd", -0.5),
        ("legt", 0.0),
        ("lagt", 0.0),
        ("tlagt", -0.5),
        ("fout", 0.0),
        ("foud", -0.5),
    ],
)
def test_real_parts_of_the_normal_part(measure, real):
    np.testing.assert_allclose(nplr(measure, 16, MIN_RANK[measure]).Lambda.real, real, atol=1e-12)


def test_legsd_normal_part_is_legs_normal_part():
    legs, legsd = nplr("legs", 16, B_clip=None), nplr("legsd", 16, B_clip=None)
    np.testing.assert_allclose(legsd.Lambda, legs.Lambda, atol=1e-12)
    np.testing.assert_allclose(np.abs(legsd.B), np.abs(legs.B) / 2, atol=1e-12)


def test_b_clip_clips_the_imaginary_part_only():
    exact = nplr("legs", 64, B_clip=None).B
    clipped = nplr("legs", 64).B  # default 2.0, as the original
    assert np.abs(exact.imag).max() > 2.0  # the clip binds for LegS at N = 64
    np.testing.assert_allclose(clipped.real, exact.real)
    np.testing.assert_allclose(clipped.imag, np.clip(exact.imag, -2.0, 2.0))
    np.testing.assert_allclose(nplr("legs", 64, B_clip=0.5).B.imag, np.clip(exact.imag, -0.5, 0.5))


def test_conjugate_half_order_and_fourier_zero_pair():
    # the original sorts Im ascending and keeps the first half (Im <= 0): conjugated, that is
    # Im >= 0 descending, the zero pair last with V = (e0 - i e1) / sqrt2
    Lambda, _, _, V = nplr("fout", 8)
    assert np.all(np.diff(Lambda.imag) < 0) and abs(Lambda[-1]) < 1e-12
    np.testing.assert_allclose(V[:, -1], np.r_[1, -1j, 0, 0, 0, 0, 0, 0] / np.sqrt(2))


def test_errors():
    with pytest.raises(ValueError, match="rank: expected for measure 'legt' rank >= 2"):
        rank_correction("legt", 8, rank=1)
    with pytest.raises(ValueError, match="rank: expected an int >= 1, got 0"):
        rank_correction("legs", 8, rank=0)
    with pytest.raises(ValueError, match=r"measure: expected one of legs, .*got 'lmu'"):
        nplr("lmu", 8)
    with pytest.raises(ValueError, match=r"normal-plus-low-rank form.*use 'legt'"):
        rank_correction("lmu", 8)
    with pytest.raises(ValueError, match="N: expected an even size"):
        nplr("legs", 7)
    with pytest.raises(ValueError, match="measure: expected one of"):
        nplr("leg", 8)
    with pytest.raises(ValueError, match="alpha: expected 0 for an NPLR form"):
        nplr("glagt", 8, alpha=0.5)
    with pytest.raises(ValueError, match="B_clip: expected a number > 0"):
        nplr("legs", 8, B_clip=-1.0)
