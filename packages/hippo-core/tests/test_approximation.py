"""HiPPO function approximation really approximates: errors fall with N."""

import numpy as np
import pytest

from hippo_core import HiPPO, hippo_basis, hippo_project, hippo_reconstruct

L = 1000
T = np.arange(1, L + 1) / L  # sample times t_k = (k + 1) dt


@pytest.fixture
def signal():
    rng = np.random.default_rng()
    a, b, c = rng.uniform(0.5, 1.5, size=3)
    phase = rng.uniform(0, 2 * np.pi)
    return a * np.sin(6 * np.pi * T + phase) + b * np.cos(13 * T) + c * T**2


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_legs_reconstructs_the_whole_history(signal):
    x = np.linspace(0, 1, 300)
    errors = {}
    for N in (8, 16, 64):
        c = hippo_project(signal, "legs", N)[-1]
        errors[N] = rel(hippo_reconstruct(c, "legs", x), np.interp(x, T, signal))
    assert errors[64] < 1e-3
    assert errors[64] < errors[16] < errors[8]


@pytest.mark.parametrize("measure", ["legt", "lmu"])
def test_legt_reconstructs_the_recent_window(signal, measure):
    theta = 0.5
    x = np.linspace(0, 1, 300)
    reference = np.interp(1 - theta + theta * x, T, signal)
    errors = {}
    for N in (4, 8, 64):
        c = hippo_project(signal, measure, N, theta=theta)[-1]
        errors[N] = rel(hippo_reconstruct(c, measure, x, theta=theta), reference)
    assert errors[64] < 1e-3
    assert errors[64] < errors[8] < errors[4]


def test_legt_tracks_the_window_at_every_time(signal):
    theta, N = 0.25, 32
    coefs = hippo_project(signal, "legt", N, theta=theta)
    x = np.linspace(0, 1, 100)
    for k in (400, 700, 999):
        now = T[k]
        reference = np.interp(now - theta + theta * x, T, signal)
        assert rel(hippo_reconstruct(coefs[k], "legt", x, theta=theta), reference) < 1e-3


def test_fout_reconstructs_the_window():
    bump = np.sin(np.pi * T) ** 2 * (np.sin(6 * np.pi * T) + 1)  # vanishes at the window ends
    x = np.linspace(0, 1, 300)
    errors = []
    for N in (8, 16, 64):
        c = hippo_project(bump, "fout", N, theta=1.0)[-1]
        errors.append(rel(hippo_reconstruct(c, "fout", x), np.interp(x, T, bump)))
    assert errors[2] < 0.03 and errors[2] < errors[1] < errors[0]


def test_default_windows_are_the_originals_theta_2(signal):
    """legt / fout default to a window of 2 time units: the original's halved matrices."""
    span = 4.0  # the signal spans 4 time units, so a window of 2 is its second half
    x = np.linspace(0, 1, 200)
    c = hippo_project(signal, "legt", 64, dt=span / L)[-1]
    assert rel(hippo_reconstruct(c, "legt", x), np.interp(0.5 + 0.5 * x, T, signal)) < 1e-3


def test_lagt_reconstructs_recent_lags(signal):
    # the original's lagt has a unit time scale: the signal spans 20 time units, and the
    # memory holds the last ~2 (the Laguerre functions L_n(s) e^{-s/2})
    span, beta = 20.0, 2.0
    # The memory starts at zero, so a signal that starts at f(0) != 0 is a jump at lag 20,
    # inside the reach (~4n) of the high-order Laguerre functions: its Gibbs ripple, not the
    # truncation, set the N = 64 error (up to 2x the N = 4 one over 1000 random signals).
    # Ramped in smoothly, the N = 64 error is <= 0.011 and <= 0.13x the N = 4 one there.
    ramped = signal * np.sin(0.5 * np.pi * np.minimum(T / 0.5, 1)) ** 2
    lags = np.linspace(0, 2, 100)
    errors = []
    for N in (4, 64):
        c = hippo_project(ramped, "lagt", N, dt=span / L, beta=beta)[-1]
        got = hippo_reconstruct(c, "lagt", lags, beta=beta)
        errors.append(rel(got, np.interp(1 - lags / span, T, ramped)))
    assert errors[1] < 0.03 and errors[1] < errors[0] / 4


def test_bilinear_and_zoh_agree_on_fine_grids(signal):
    a = hippo_project(signal, "legt", 16, method="bilinear")
    b = hippo_project(signal, "legt", 16, method="zoh")
    assert rel(b, a) < 1e-3


def test_class_wraps_functions(signal):
    memory = HiPPO("legt", N=16, theta=0.5)
    c = memory.project(signal)
    np.testing.assert_array_equal(c, hippo_project(signal, "legt", 16, theta=0.5))
    assert memory.reconstruct(c[-1], 50).shape == (50,)
    assert memory.reconstruct(c[-3:], 50).shape == (3, 50)


def test_basis_is_orthonormal_under_its_measure():
    x = np.linspace(0, 1, 20001)
    for measure in ("legs", "legt", "fout"):
        G = hippo_basis(measure, 10, x)
        gram = np.trapezoid(G[:, :, None] * G[:, None, :], x, axis=0)
        expected = np.eye(10)
        if measure == "fout":
            expected[1, 1] = 0.0  # state 1 is the original's unused Fourier state
        np.testing.assert_allclose(gram, expected, atol=1e-3)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: hippo_project(np.ones((3, 3)), "legs", 4), r"signal: expected a 1-D array"),
        (lambda: hippo_project(np.array([1.0, np.nan]), "legs", 4), "signal: expected finite"),
        (lambda: hippo_project(np.ones(5), "foud", 4), "measure: expected one of .*got 'foud'"),
        (lambda: hippo_project(np.ones(5), "legs", 4, method="zoh"), "method: expected one of"),
        (lambda: hippo_basis("legt", 4, [1.5]), r"x: expected window positions in \[0, 1\]"),
        (lambda: hippo_basis("lagt", 4, [-1.0]), "x: expected lags s >= 0"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
