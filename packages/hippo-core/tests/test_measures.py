"""Every transition matrix against its closed-form entries, written out entry by entry.

The entries are those of the original state-spaces/s4 ``transition`` (stable convention).
"""

import math

import numpy as np
import pytest
from scipy import special

from hippo_core import FOURIER_MEASURES, MEASURES, transition

SIZES = [1, 2, 5, 16]
EVEN_SIZES = [2, 4, 16]


def r(n):
    return math.sqrt(2 * n + 1)


def legs_entry(n, k):
    if n > k:
        return -r(n) * r(k)
    if n == k:
        return -(n + 1.0)
    return 0.0


def legt_entry(n, k, theta):
    sign = 1.0 if n >= k else (-1.0) ** (n - k)
    return -sign * r(n) * r(k) / theta


def lmu_entry(n, k, theta):
    sign = 1.0 if n < k else (-1.0) ** (n - k)
    return -sign * (2 * n + 1) / theta


def fourier_b(N):
    """(1, 0, sqrt2, 0, sqrt2, 0, ...)."""
    return np.array([1.0 if i == 0 else (math.sqrt(2) if i % 2 == 0 else 0.0) for i in range(N)])


def fourier_S(N, omega):
    """S[2m+1, 2m] = omega m, S[2m, 2m+1] = -omega m, m = 1 .. N/2 - 1."""
    S = np.zeros((N, N))
    for i in range(N):
        for j in range(N):
            if i % 2 == 1 and j == i - 1 and j >= 2:
                S[i, j] = omega * (j // 2)
            if i % 2 == 0 and j == i + 1 and i >= 2:
                S[i, j] = -omega * (i // 2)
    return S


@pytest.mark.parametrize("N", SIZES)
def test_legs_and_legsd_entries(N):
    A, B = transition("legs", N)
    expected = np.array([[legs_entry(n, k) for k in range(N)] for n in range(N)])
    np.testing.assert_allclose(A, expected, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(B, [r(n) for n in range(N)], rtol=1e-14)
    A, B = transition("legsd", N)
    for n in range(N):
        for k in range(N):
            want = -0.5 if n == k else (-0.5 if n > k else 0.5) * r(n) * r(k)
            assert A[n, k] == pytest.approx(want, abs=1e-13)
        assert B[n] == pytest.approx(r(n) / 2)


@pytest.mark.parametrize("N", SIZES)
def test_legt_default_is_the_originals_halved_legt(N):
    # the original: A = -R pattern R / 2, B = R / 2 ("halve again for timescale correctness")
    A, B = transition("legt", N)
    expected = np.array([[legt_entry(n, k, 2.0) for k in range(N)] for n in range(N)])
    np.testing.assert_allclose(A, expected, rtol=1e-14)
    np.testing.assert_allclose(B, [r(n) / 2 for n in range(N)], rtol=1e-14)


@pytest.mark.parametrize("N", SIZES)
@pytest.mark.parametrize("theta", [1.0, 0.37])
def test_legt_and_lmu_entries_with_theta(N, theta):
    A, B = transition("legt", N, theta=theta)
    expected = np.array([[legt_entry(n, k, theta) for k in range(N)] for n in range(N)])
    np.testing.assert_allclose(A, expected, rtol=1e-14)
    np.testing.assert_allclose(B, [r(n) / theta for n in range(N)])
    A, B = transition("lmu", N, theta=theta)
    expected = np.array([[lmu_entry(n, k, theta) for k in range(N)] for n in range(N)])
    np.testing.assert_allclose(A, expected, rtol=1e-14)
    np.testing.assert_allclose(B, [(-1) ** n * (2 * n + 1) / theta for n in range(N)])


@pytest.mark.parametrize("N", SIZES)
def test_lmu_is_legt_in_unnormalised_sign_flipped_basis(N):
    A_legt, B_legt = transition("legt", N, theta=1.0)
    A_lmu, B_lmu = transition("lmu", N)
    # c_lmu = D c_legt with D = diag((-1)^n sqrt(2n+1))
    D = np.diag((-1.0) ** np.arange(N) * np.sqrt(2 * np.arange(N) + 1.0))
    np.testing.assert_allclose(np.linalg.inv(D) @ A_lmu @ D, A_legt, atol=1e-12)
    np.testing.assert_allclose(np.linalg.inv(D) @ B_lmu, B_legt, atol=1e-12)


@pytest.mark.parametrize("N", SIZES)
@pytest.mark.parametrize("beta", [1.0, 1.7])
def test_lagt_and_tlagt_entries(N, beta):
    A, B = transition("lagt", N, beta=beta)
    expected = [[-0.5 if n == k else (-1.0 if n > k else 0.0) for k in range(N)] for n in range(N)]
    np.testing.assert_array_equal(A, expected)
    np.testing.assert_array_equal(B, np.full(N, beta))
    A, B = transition("tlagt", N, beta=beta)
    diag = (1 - beta) / 2 - 1
    expected = [[diag if n == k else (-1.0 if n > k else 0.0) for k in range(N)] for n in range(N)]
    np.testing.assert_allclose(A, expected, atol=1e-15)
    np.testing.assert_array_equal(B, np.full(N, beta))


@pytest.mark.parametrize("N", SIZES)
@pytest.mark.parametrize("alpha,beta", [(0.0, 0.01), (0.5, 0.3), (-0.4, 1.0)])
def test_glagt_entries(N, alpha, beta):
    A, B = transition("glagt", N, alpha=alpha, beta=beta)
    for n in range(N):
        norm_n = math.sqrt(math.gamma(n + alpha + 1) / math.factorial(n))
        for k in range(N):
            base = (1 + beta) / 2 if n == k else (1.0 if k < n else 0.0)
            norm_k = math.sqrt(math.gamma(k + alpha + 1) / math.factorial(k))
            assert A[n, k] == pytest.approx(-base * norm_k / norm_n, rel=1e-12, abs=1e-14)
        factor = beta ** ((1 - alpha) / 2) / math.sqrt(math.gamma(1 - alpha))
        assert B[n] == pytest.approx(special.binom(n + alpha, n) / norm_n * factor, rel=1e-12)


@pytest.mark.parametrize("N", EVEN_SIZES)
def test_fourier_family_entries(N):
    b, pi = fourier_b(N), math.pi
    for name in ("fout", "fourier"):  # the original's FouT, window 2: S_pi - b b^T, b
        A, B = transition(name, N)
        np.testing.assert_allclose(A, fourier_S(N, pi) - np.outer(b, b), atol=1e-13)
        np.testing.assert_allclose(B, b)
    A, B = transition("fout", N, theta=0.5)
    np.testing.assert_allclose(A, (fourier_S(N, 2 * pi) - 2 * np.outer(b, b)) / 0.5, atol=1e-12)
    np.testing.assert_allclose(B, 2 * b / 0.5)
    A, B = transition("fourier2", N)
    np.testing.assert_allclose(A, fourier_S(N, 2 * pi) - 2 * np.outer(b, b), atol=1e-13)
    np.testing.assert_allclose(B, 2 * b)
    A, B = transition("fourier_decay", N)
    np.testing.assert_allclose(A, fourier_S(N, pi) - 0.5 * np.outer(b, b), atol=1e-13)
    np.testing.assert_allclose(B, 0.5 * b)
    for name in ("foud", "fourier_diag"):
        A, B = transition(name, N)
        np.testing.assert_allclose(A, fourier_S(N, 2 * pi) - 0.5 * np.eye(N), atol=1e-13)
        np.testing.assert_allclose(B, b)


def test_foud_eigenvalues_match_s4d_lin_spacing():
    eig = np.linalg.eigvals(transition("foud", 10)[0])
    np.testing.assert_allclose(eig.real, -0.5, atol=1e-12)
    expected = np.r_[0, 0, 2 * np.pi * np.repeat([1, 2, 3, 4], 2)]
    np.testing.assert_allclose(np.sort(np.abs(eig.imag)), expected, atol=1e-9)


@pytest.mark.parametrize("measure", FOURIER_MEASURES)
def test_fourier_needs_even_n(measure):
    with pytest.raises(ValueError, match="N: expected an even size"):
        transition(measure, 5)


def test_random_and_diagonal_are_seeded_draws():
    rng = np.random.default_rng(4)
    A, B = transition("random", 6, seed=4)
    np.testing.assert_array_equal(A, rng.standard_normal((6, 6)) / 6)
    np.testing.assert_array_equal(B, rng.standard_normal(6))
    rng = np.random.default_rng(5)
    A, B = transition("diagonal", 6, seed=5)
    np.testing.assert_array_equal(A, -np.diag(np.exp(rng.standard_normal(6))))
    np.testing.assert_array_equal(B, rng.standard_normal(6))
    assert not np.allclose(transition("random", 6)[0], transition("random", 6)[0])


@pytest.mark.parametrize("measure", sorted(set(MEASURES) - {"random"}))
def test_stable_sign_convention(measure):
    """x' = A x decays: every eigenvalue has a negative (or, for pure rotations, zero) real part."""
    A, B = transition(measure, 12, **({"seed": 0} if measure == "diagonal" else {}))
    assert A.dtype == np.float64 and B.dtype == np.float64
    assert A.shape == (12, 12) and B.shape == (12,)
    assert np.linalg.eigvals(A).real.max() < 1e-9


@pytest.mark.parametrize(
    "args,match",
    [
        (("legx", 4), "measure: expected one of legs, legsd, legt"),
        (("legs", 0), "N: expected an int >= 1, got 0"),
        (("legs", 4.0), r"N: expected an int >= 1, got 4.0 \(float\)"),
        (("legs", True), "N: expected an int"),
    ],
)
def test_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        transition(*args)


def test_bad_measure_parameters():
    with pytest.raises(ValueError, match=r"expected options among theta, got unknown \['thetta'\]"):
        transition("legt", 4, thetta=2.0)
    with pytest.raises(ValueError, match="theta: expected a number > 0"):
        transition("legt", 4, theta=-1.0)
    with pytest.raises(ValueError, match="alpha: expected -1 < alpha < 1"):
        transition("glagt", 4, alpha=-2.0)
    with pytest.raises(ValueError, match="alpha: expected -1 < alpha < 1"):
        transition("glagt", 4, alpha=1.0)
