"""Discretisations against formulas and against a fine-step integration of the ODE."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from hippo_core import discretize, transition


def integrate(A, B, u, x0, dt):
    """x(dt) for x' = A x + B u with constant u, by a tight adaptive Runge-Kutta."""
    sol = solve_ivp(
        lambda t, x: A @ x + B * u, (0, dt), x0, method="DOP853", rtol=1e-12, atol=1e-14
    )
    return sol.y[:, -1]


@pytest.fixture
def system():
    rng = np.random.default_rng(0)
    A, B = transition("legs", 8)
    return A, B, rng.standard_normal(8), float(rng.standard_normal())


def test_zoh_is_exact_for_constant_input(system):
    A, B, x0, u = system
    for dt in (1e-3, 0.05, 0.3):
        Ad, Bd = discretize(A, B, dt, "zoh")
        ref = integrate(A, B, u, x0, dt)
        assert np.linalg.norm(Ad @ x0 + Bd * u - ref) / np.linalg.norm(ref) < 1e-10


def test_bilinear_agrees_to_third_order(system):
    A, B, x0, u = system
    errors = []
    for dt in (0.02, 0.01, 0.005):
        Ad, Bd = discretize(A, B, dt, "bilinear")
        ref = integrate(A, B, u, x0, dt)
        errors.append(np.linalg.norm(Ad @ x0 + Bd * u - ref) / np.linalg.norm(ref))
    assert errors[-1] < 5e-4
    # one step has local error O(dt^3): halving dt divides it by ~8
    assert errors[0] / errors[1] > 6 and errors[1] / errors[2] > 6


def test_bilinear_matches_ode_over_many_steps(system):
    A, B, x0, u = system
    dt, steps = 1e-3, 200
    Ad, Bd = discretize(A, B, dt, "bilinear")
    x = x0
    for _ in range(steps):
        x = Ad @ x + Bd * u
    ref = integrate(A, B, u, x0, dt * steps)
    assert np.linalg.norm(x - ref) / np.linalg.norm(ref) < 1e-5


def test_euler_formulas(system):
    A, B, _, _ = system
    dt = 0.01
    Ad, Bd = discretize(A, B, dt, "forward")
    np.testing.assert_allclose(Ad, np.eye(8) + dt * A)
    np.testing.assert_allclose(Bd, dt * B)
    Ad, Bd = discretize(A, B, dt, "backward")
    np.testing.assert_allclose(Ad @ (np.eye(8) - dt * A), np.eye(8), atol=1e-12)
    np.testing.assert_allclose((np.eye(8) - dt * A) @ Bd, dt * B, atol=1e-12)


def test_complex_diagonal_matches_scalar_formulas():
    rng = np.random.default_rng(1)
    lam = -rng.random(5) + 1j * rng.standard_normal(5)
    dt = 0.1
    Ad, Bd = discretize(np.diag(lam), np.ones(5, complex), dt, "zoh")
    np.testing.assert_allclose(np.diag(Ad), np.exp(dt * lam), rtol=1e-12)
    np.testing.assert_allclose(Bd, (np.exp(dt * lam) - 1) / lam, rtol=1e-10)
    Ad, Bd = discretize(np.diag(lam), np.ones(5, complex), dt, "bilinear")
    np.testing.assert_allclose(np.diag(Ad), (1 + dt / 2 * lam) / (1 - dt / 2 * lam), rtol=1e-12)


def test_zoh_handles_singular_a():
    A = np.zeros((2, 2))
    Ad, Bd = discretize(A, np.array([1.0, 2.0]), 0.5, "zoh")
    np.testing.assert_allclose(Ad, np.eye(2))
    np.testing.assert_allclose(Bd, [0.5, 1.0])


def test_matrix_input_b_keeps_shape(system):
    A, _, _, _ = system
    Bm = np.random.default_rng(2).standard_normal((8, 3))
    assert discretize(A, Bm, 0.1, "zoh")[1].shape == (8, 3)


@pytest.mark.parametrize(
    "args,match",
    [
        ((np.eye(2), np.ones(2), 0.1, "rk4"), "method: expected one of .*got 'rk4'"),
        ((np.eye(2), np.ones(2), 0.0, "zoh"), "dt: expected a number > 0"),
        ((np.ones((2, 3)), np.ones(2), 0.1, "zoh"), r"A: expected a square .* got shape \(2, 3\)"),
        ((np.eye(2), np.ones(3), 0.1, "zoh"), r"B: expected shape \(2,\)"),
    ],
)
def test_errors(args, match):
    with pytest.raises(ValueError, match=match):
        discretize(*args)
