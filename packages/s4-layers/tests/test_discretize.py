"""Discretisation helpers against float64 / matrix-exponential references."""

import numpy as np
import scipy.linalg
import torch

from s4_layers.functional.discretize import (
    _expm1_complex_parts,
    complex_to_real,
    discretize_diag,
    dplr_bilinear_terms,
    dplr_real_matrix,
    expm1_complex,
    output_to_real,
    power_sum_near_identity,
    real_to_complex,
)

_complex = torch.complex


def f64(g):
    return {"dtype": torch.float64, "generator": g}


def test_expm1_complex_small_and_large():
    x = torch.complex(torch.tensor([1e-9, -3e-6, 0.5, -2.0]), torch.tensor([2e-8, 1e-6, 3.0, -1.0]))
    ref = np.array(
        [
            np.exp(v) - 1 if abs(v) > 1e-3 else v + v**2 / 2 + v**3 / 6
            for v in x.numpy().astype(np.complex128)
        ]
    )
    out = expm1_complex(x).numpy().astype(np.complex128)
    assert np.max(np.abs(out - ref) / np.abs(ref)) < 1e-6


def test_expm1_complex_is_the_real_formula_in_float64():
    """torch's complex expm1 (what expm1_complex runs) against the cancellation-free formula of
    its docstring, over |x| from 1e-8 to 100, in float64 and float32, and its gradient."""
    g = torch.Generator().manual_seed(0)
    for scale in (1e-8, 1e-4, 1e-2, 1.0, 10.0, 100.0):
        x = torch.complex(-scale * torch.rand(500, **f64(g)), scale * torch.randn(500, **f64(g)))
        ref = _expm1_complex_parts(x)
        assert ((expm1_complex(x) - ref).abs() <= 1e-14 * ref.abs()).all()
        x32 = x.to(torch.complex64)  # against the formula on the rounded input, in float64
        ref32 = _expm1_complex_parts(x32.to(torch.complex128))
        got32 = expm1_complex(x32).to(torch.complex128)
        assert ((got32 - ref32).abs() <= 1e-6 * ref32.abs() + 1e-6 * scale * 1e-7).all()
    x = torch.complex(-torch.rand(6, **f64(g)), torch.randn(6, **f64(g))).requires_grad_()
    assert torch.autograd.gradcheck(expm1_complex, (x,))


def test_discretize_diag_against_definitions():
    g = torch.Generator().manual_seed(0)
    dt = torch.rand(3, dtype=torch.float64, generator=g) * 0.1
    A = torch.complex(
        -torch.rand(3, 4, dtype=torch.float64, generator=g),
        torch.randn(3, 4, dtype=torch.float64, generator=g),
    )
    B = torch.randn(3, 4, dtype=torch.complex128, generator=g)
    dtA = dt[:, None] * A
    dA, dB, log_dA = discretize_diag(dt, A, B, "zoh")
    assert torch.allclose(dA, torch.exp(dtA)) and torch.allclose(log_dA, dtA)
    assert torch.allclose(dB, (torch.exp(dtA) - 1) / A * B, rtol=1e-10)
    dA, dB, log_dA = discretize_diag(dt, A, B, "bilinear")
    assert torch.allclose(dA, (1 + dtA / 2) / (1 - dtA / 2), rtol=1e-12)
    assert torch.allclose(torch.exp(log_dA), dA, rtol=1e-12)
    _, dB_dss, _ = discretize_diag(dt, A, B, "dss", L=10)
    assert torch.allclose(dB_dss, (torch.exp(dtA) - 1) / (A * (torch.exp(10 * dtA) - 1)) * B)


def test_real_basis_round_trip_and_output():
    x = torch.randn(2, 3, 4, dtype=torch.complex128)
    C = torch.randn(3, 4, dtype=torch.complex128)
    assert torch.equal(real_to_complex(complex_to_real(x)), x)
    y = (output_to_real(C) * complex_to_real(x)).sum(-1)
    assert torch.allclose(y, 2 * (C * x).sum(-1).real)


def test_dplr_real_matrix_matches_full_system():
    g = torch.Generator().manual_seed(1)
    A = torch.complex(
        -torch.rand(2, 3, dtype=torch.float64, generator=g),
        torch.randn(2, 3, dtype=torch.float64, generator=g),
    )
    P = torch.randn(2, 2, 3, dtype=torch.complex128, generator=g)
    x = torch.randn(2, 3, dtype=torch.complex128, generator=g)
    # full system applied to [x, conj x], first half
    lam = torch.cat([A, A.conj()], -1)
    Pf = torch.cat([P, P.conj()], -1)
    Af = torch.diag_embed(lam) - torch.einsum("rhi,rhj->hij", Pf, Pf.conj())
    xf = torch.cat([x, x.conj()], -1)
    ref = torch.einsum("hij,hj->hi", Af, xf)[:, :3]
    out = torch.einsum("hij,hj->hi", dplr_real_matrix(A, P), complex_to_real(x))
    assert torch.allclose(real_to_complex(out), ref, atol=1e-12)


def test_power_and_sum_near_identity():
    g = torch.Generator().manual_seed(2)
    E = 1e-3 * torch.randn(3, 4, 4, dtype=torch.float64, generator=g) - 1e-3 * torch.eye(4)
    for n in (1, 2, 7, 64, 1000):
        E_n, S = power_sum_near_identity(E, n)
        M = torch.eye(4) + E
        ref_pow = torch.stack([torch.as_tensor(np.linalg.matrix_power(m.numpy(), n)) for m in M])
        assert torch.allclose(E_n + torch.eye(4), ref_pow, rtol=1e-10, atol=1e-13)
        ref_S = sum(torch.linalg.matrix_power(M, j) for j in range(n))
        assert torch.allclose(S, ref_S, rtol=1e-9)


def test_dplr_bilinear_terms_against_dense_reference():
    g = torch.Generator().manual_seed(3)
    dt = torch.tensor([0.05, 0.2], dtype=torch.float64)
    A = torch.complex(
        -0.3 - torch.rand(2, 2, dtype=torch.float64, generator=g),
        torch.randn(2, 2, dtype=torch.float64, generator=g),
    )
    P = 0.3 * torch.randn(1, 2, 2, dtype=torch.complex128, generator=g)
    B = torch.randn(2, 2, dtype=torch.complex128, generator=g)
    t = dplr_bilinear_terms(dt, A, P, B, 9)
    A_real = dplr_real_matrix(A, P).numpy()
    for h in range(2):
        eye = np.eye(4)
        ref = np.linalg.solve(
            eye - dt[h].item() / 2 * A_real[h], eye + dt[h].item() / 2 * A_real[h]
        )
        assert np.allclose(t["dA"][h].numpy(), ref, atol=1e-13)
        assert np.allclose(t["power"][h].numpy(), np.linalg.matrix_power(ref, 9), atol=1e-13)
        # zoh is not offered for DPLR; expm only checks the bilinear map is close to it
        assert np.allclose(ref, scipy.linalg.expm(dt[h].item() * A_real[h]), atol=1e-2)


def test_forward_euler_against_definition_and_reference(ref):
    s = ref.random_system("diag-lin", 8, H=2, channels=1)
    dA, dB, log_dA = discretize_diag(s.dt, s.A, s.B, "forward")
    dtA = s.dt[:, None] * s.A
    assert torch.allclose(dA, 1 + dtA) and torch.allclose(torch.exp(log_dA), dA, rtol=1e-12)
    assert torch.allclose(dB, s.dt[:, None] * s.B)
    from s4_layers.functional import diag_kernel

    K = diag_kernel(s.dt, s.A, s.B, s.C, 40, disc="forward")
    assert ref.rel_err(K, ref.kernel(s.dt, s.A, s.B, s.C, 40, disc="forward")) < 1e-10


def test_dplr_step_halves_against_dense_bilinear(ref):
    from s4_layers.functional.discretize import (
        dplr_forward_half,
        dplr_linear_step,
        dplr_linear_step_terms,
    )

    s = ref.random_system("legs", 8, H=3, channels=1, rank=2)
    x = torch.randn(5, 3, 4, dtype=torch.complex128)
    u = torch.randn(5, 3, dtype=torch.float64)
    _, x_ref = ref.step(s.dt, s.A, s.B, s.C, u, x, P=s.P, disc="bilinear")
    out = dplr_linear_step(dplr_linear_step_terms(s.dt, s.A, s.P, s.B), x, u)
    assert ref.rel_err(out, x_ref) < 1e-12
    # the forward half alone against the dense (I + dt/2 A_full) on [x, conj x]
    lam = torch.cat([s.A, s.A.conj()], -1)
    Pf = torch.cat([s.P, s.P.conj()], -1)
    Af = torch.diag_embed(lam) - torch.einsum("rhi,rhj->hij", Pf, Pf.conj())
    xf = torch.cat([x, x.conj()], -1)
    half = xf + s.dt[:, None] / 2 * torch.einsum("hij,bhj->bhi", Af, xf)
    assert ref.rel_err(dplr_forward_half(s.dt, s.A, s.P, x), half[..., :4]) < 1e-12


def test_power_products_equal_the_dense_power_and_sum():
    from s4_layers.functional.discretize import power_products_near_identity

    g = torch.Generator().manual_seed(4)
    E = 1e-3 * torch.randn(3, 4, 4, dtype=torch.float64, generator=g) - 1e-3 * torch.eye(4)
    rows = torch.randn(2, 3, 4, dtype=torch.float64, generator=g)
    cols = torch.randn(5, 3, 4, dtype=torch.float64, generator=g)
    for n in (1, 2, 3, 7, 64, 1000, 4097):
        E_n, S = power_sum_near_identity(E, n)
        rE, Sc = power_products_near_identity(E, n, rows, cols)
        assert torch.allclose(rE, torch.einsum("chi,hij->chj", rows, E_n), rtol=1e-12, atol=0)
        assert torch.allclose(Sc, torch.einsum("hij,mhj->mhi", S, cols), rtol=1e-12, atol=0)
