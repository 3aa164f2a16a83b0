"""Every transition matrix against its closed-form entries, written out entry by entry."""

import math

import numpy as np
import pytest
from scipy import special

from hippo_core import MEASURES, transition

SIZES = [1, 2, 5, 16]


def legs_entry(n, k):
    if n > k:
        return -math.sqrt(2 * n + 1) * math.sqrt(2 * k + 1)
    if n == k:
        return -(n + 1.0)
    return 0.0


def legt_entry(n, k, theta):
    sign = 1.0 if n < k else (-1.0) ** (n - k)
    return -sign * math.sqrt((2 * n + 1) * (2 * k + 1)) / theta


def lmu_entry(n, k, theta):
    sign = 1.0 if n < k else (-1.0) ** (n - k)
    return -sign * (2 * n + 1) / theta


def fourier_parts(N):
    """b (basis at s = 0) and the skew rotation S, from the basis layout [1, sin1, cos1, ...]."""
    b = np.array([1.0 if i == 0 else (math.sqrt(2) if i % 2 == 0 else 0.0) for i in range(N)])
    S = np.zeros((N, N))
    for i in range(1, N):
        freq = (i + 1) // 2
        if i % 2 == 1 and i + 1 < N:  # sine row: d/dt sin-coef = -2 pi j cos-coef
            S[i, i + 1] = -2 * math.pi * freq
        if i % 2 == 0:  # cosine row
            S[i, i - 1] = 2 * math.pi * freq
    return b, S


@pytest.mark.parametrize("N", SIZES)
def test_legs_entries(N):
    A, B = transition("legs", N)
    expected = np.array([[legs_entry(n, k) for k in range(N)] for n in range(N)])
    np.testing.assert_allclose(A, expected, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(B, [math.sqrt(2 * n + 1) for n in range(N)], rtol=1e-14)


@pytest.mark.parametrize("N", SIZES)
@pytest.mark.parametrize("theta", [1.0, 0.37])
def test_legt_and_lmu_entries(N, theta):
    A, B = transition("legt", N, theta=theta)
    expected = np.array([[legt_entry(n, k, theta) for k in range(N)] for n in range(N)])
    np.testing.assert_allclose(A, expected, rtol=1e-14)
    np.testing.assert_allclose(B, [(-1) ** n * math.sqrt(2 * n + 1) / theta for n in range(N)])
    A, B = transition("lmu", N, theta=theta)
    expected = np.array([[lmu_entry(n, k, theta) for k in range(N)] for n in range(N)])
    np.testing.assert_allclose(A, expected, rtol=1e-14)
    np.testing.assert_allclose(B, [(-1) ** n * (2 * n + 1) / theta for n in range(N)])


@pytest.mark.parametrize("N", SIZES)
def test_lmu_is_legt_in_unnormalised_basis(N):
    A_legt, B_legt = transition("legt", N)
    A_lmu, B_lmu = transition("lmu", N)
    D = np.diag(np.sqrt(2 * np.arange(N) + 1.0))  # c_legt = D^{-1} c_lmu
    np.testing.assert_allclose(np.linalg.inv(D) @ A_lmu @ D, A_legt, atol=1e-12)
    np.testing.assert_allclose(np.linalg.inv(D) @ B_lmu, B_legt, atol=1e-12)


@pytest.mark.parametrize("N", SIZES)
def test_lagt_entries(N):
    beta = 1.7
    A, B = transition("lagt", N, beta=beta)
    expected = np.array([[-beta if n >= k else 0.0 for k in range(N)] for n in range(N)])
    np.testing.assert_array_equal(A, expected)
    np.testing.assert_array_equal(B, np.full(N, beta))


@pytest.mark.parametrize("N", SIZES)
@pytest.mark.parametrize("alpha,beta", [(0.0, 0.01), (0.5, 0.3), (-0.4, 1.0)])
def test_glagt_entries(N, alpha, beta):
    A, B = transition("glagt", N, alpha=alpha, beta=beta)
    for n in range(N):
        for k in range(N):
            base = (1 + beta) / 2 if n == k else (1.0 if k < n else 0.0)
            norm_n = math.sqrt(math.gamma(n + alpha + 1) / math.factorial(n))
            norm_k = math.sqrt(math.gamma(k + alpha + 1) / math.factorial(k))
            assert A[n, k] == pytest.approx(-base * norm_k / norm_n, rel=1e-12, abs=1e-14)
        norm_n = math.sqrt(math.gamma(n + alpha + 1) / math.factorial(n))
        assert B[n] == pytest.approx(special.binom(n + alpha, n) / norm_n, rel=1e-12)


def test_glagt_reduces_to_lagt():
    np.testing.assert_allclose(
        transition("glagt", 9, alpha=0.0, beta=1.0)[0], transition("lagt", 9)[0]
    )


@pytest.mark.parametrize("N", SIZES)
def test_fout_and_fourier_entries(N):
    b, S = fourier_parts(N)
    A, B = transition("fout", N)
    np.testing.assert_allclose(A, S - 2 * np.outer(b, b), atol=1e-13)
    np.testing.assert_allclose(B, 2 * b)
    A, B = transition("fourier", N)
    np.testing.assert_allclose(A, S - 0.5 * np.eye(N), atol=1e-13)
    np.testing.assert_allclose(B, 2 * b)


@pytest.mark.parametrize("measure", MEASURES)
def test_stable_sign_convention(measure):
    """x' = A x decays: every eigenvalue has a negative (or, for pure rotations, zero) real part."""
    A, B = transition(measure, 12)
    assert A.dtype == np.float64 and B.dtype == np.float64
    assert A.shape == (12, 12) and B.shape == (12,)
    assert np.linalg.eigvals(A).real.max() < 1e-9


def test_fourier_eigenvalues_match_s4d_lin_spacing():
    eig = np.linalg.eigvals(transition("fourier", 9)[0])
    imag = np.sort(np.abs(eig.imag))
    np.testing.assert_allclose(eig.real, -0.5, atol=1e-12)
    np.testing.assert_allclose(
        imag, np.sort(np.r_[0, 2 * np.pi * np.repeat([1, 2, 3, 4], 2)]), atol=1e-9
    )


@pytest.mark.parametrize(
    "args,match",
    [
        (("legx", 4), "unknown measure 'legx'; expected one of: legs, legt"),
        (("legs", 0), "N must be an int >= 1, got 0"),
        (("legs", 4.0), "N must be an int >= 1, got 4.0"),
        (("legs", True), "N must be an int"),
    ],
)
def test_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        transition(*args)


def test_bad_measure_parameters():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['thetta'\]; expected: theta"):
        transition("legt", 4, thetta=2.0)
    with pytest.raises(ValueError, match="theta must be > 0"):
        transition("legt", 4, theta=-1.0)
    with pytest.raises(ValueError, match="alpha > -1"):
        transition("glagt", 4, alpha=-2.0)
