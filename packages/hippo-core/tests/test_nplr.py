"""NPLR forms: A + P^T P normal, exact reconstruction, conjugate-pair bookkeeping."""

import numpy as np
import pytest

from hippo_core import MIN_RANK, NPLR_MEASURES, nplr, rank_correction, transition

CASES = [(m, MIN_RANK[m]) for m in NPLR_MEASURES] + [("legs", 3), ("legt", 3)]


def full(x, axis=-1):
    return np.concatenate([x, x.conj()], axis=axis)


def is_normal(M, tol=1e-10):
    comm = M @ M.conj().T - M.conj().T @ M
    return np.linalg.norm(comm) <= tol * np.linalg.norm(M) ** 2


@pytest.mark.parametrize("measure,rank", CASES)
@pytest.mark.parametrize("N", [2, 8, 32, 64])
def test_rank_correction_makes_a_normal(measure, rank, N):
    A, _ = transition(measure, N)
    P = rank_correction(measure, N, rank)
    assert P.shape == (rank, N)
    assert is_normal(A + P.T @ P)


@pytest.mark.parametrize("measure,rank", CASES)
@pytest.mark.parametrize("N", [2, 8, 32, 64])
def test_nplr_reconstructs_a_and_b(measure, rank, N):
    A, B = transition(measure, N)
    Lambda, P, Bc, V = nplr(measure, N, rank)
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


def test_errors():
    with pytest.raises(ValueError, match="'legt' needs rank >= 2"):
        rank_correction("legt", 8, rank=1)
    with pytest.raises(ValueError, match="rank must be an int >= 1, got 0"):
        rank_correction("legs", 8, rank=0)
    with pytest.raises(ValueError, match="no normal-plus-low-rank form"):
        nplr("lmu", 8)
    with pytest.raises(ValueError, match="N must be even"):
        nplr("legs", 7)
    with pytest.raises(ValueError, match="unknown measure 'leg'"):
        nplr("leg", 8)
    with pytest.raises(ValueError, match="alpha = 0"):
        nplr("glagt", 8, alpha=0.5)
