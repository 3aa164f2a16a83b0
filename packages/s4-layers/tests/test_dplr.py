"""dplr_kernel and the DPLR state-forwarding functions against the unrolled full recurrence."""

import pytest
import torch

import hippo_core
from s4_layers import S4InputError
from s4_layers.functional import dplr_kernel, dplr_next_state, dplr_state_output

GRID = [(N, L) for N in (2, 16, 64) for L in (1, 7, 256, 1000)]
NON_HIPPO = ("lin", "inv", "real", "rand")


def _system(ref, init, N, dtype, seed):
    rank = 2 if "legt" in init else 1
    kw = {"P_scale": 0.3} if init in NON_HIPPO else {}  # exercise the low-rank term there too
    return ref.random_system(init, N, rank=rank, dtype=dtype, seed=seed, **kw)


METHODS = ("feedback", "cauchy")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("init", hippo_core.DPLR_INITS)
def test_dplr_kernel_matches_recurrence(ref, init, method):
    i = hippo_core.DPLR_INITS.index(init)
    for N, L in (GRID[i % len(GRID)], GRID[(i + 5) % len(GRID)], GRID[(i + 7) % len(GRID)]):
        for dtype in (torch.float64, torch.float32):
            s = _system(ref, init, N, dtype, seed=i)
            K = dplr_kernel(s.dt, s.A, s.P, s.B, s.C, L, method=method)
            assert K.shape == (2, 3, L) and K.dtype == dtype
            K_ref = ref.kernel(s.dt, s.A, s.B, s.C, L, P=s.P, disc="bilinear")
            tol = 1e-10 if dtype == torch.float64 else ref.tol32(s.dt, s.A, L, power=True)
            assert ref.rel_err(K, K_ref) < tol, (N, L, dtype)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("N", "L"), GRID)
def test_dplr_kernel_full_grid_legs(ref, N, L, method):
    s = ref.random_system("legs", N, dtype=torch.float32, seed=N + L)
    K = dplr_kernel(s.dt, s.A, s.P, s.B, s.C, L, method=method)
    K_ref = ref.kernel(s.dt, s.A, s.B, s.C, L, P=s.P, disc="bilinear")
    assert ref.rel_err(K, K_ref) < ref.tol32(s.dt, s.A, L, power=True)


@pytest.mark.parametrize("init", ["legs", "legt", "fout", "fourier2", "lagt"])
def test_feedback_route_equals_cauchy_route_and_holds_float32_at_long_L(ref, init):
    """The two exact routes agree in float64; in float32 the feedback route keeps ~1e-5 at
    L=4096 on the barely damped measures (legt, fout: Re Lambda = -1e-4), where computing its
    series algebra in float32 would lose three digits."""
    rank = 2 if init == "legt" else 1
    s = _system(ref, init, 16, torch.float64, seed=3)
    for L in (1, 2, 33, 512):
        K_f = dplr_kernel(s.dt, s.A, s.P, s.B, s.C, L, method="feedback")
        K_c = dplr_kernel(s.dt, s.A, s.P, s.B, s.C, L, method="cauchy")
        assert ref.rel_err(K_f, K_c) < 1e-11, L
    s32 = ref.random_system(init, 16, rank=rank, dtype=torch.float32, seed=4)
    s64 = ref.random_system(init, 16, rank=rank, dtype=torch.float64, seed=4)
    K_ref = ref.kernel(s64.dt, s64.A, s64.B, s64.C, 4096, P=s64.P, disc="bilinear")
    K = dplr_kernel(s32.dt, s32.A, s32.P, s32.B, s32.C, 4096)
    assert K.dtype == torch.float32
    assert ref.rel_err(K, K_ref) < 3e-5


@pytest.mark.parametrize("init", ["legs", "legt", "fout", "lagt"])
def test_float32_gradients_hold_at_long_L(ref, init):
    """float32 inputs at L = 4096: every gradient against the float64 gradient of the same
    (rounded) inputs. The Vandermonde backward and the series algebra's adjoint run in float32
    (dplr_state._FeedbackSolve); the dt and A gradients weigh step l by l, so on the barely
    damped measures they hold ~1e-3 (measured 1e-3 - 2e-3 with a float64 adjoint too), the
    others ~2e-5."""
    rank = 2 if init == "legt" else 1
    s32 = ref.random_system(init, 16, rank=rank, dtype=torch.float32, seed=4)
    s64 = [t.to(torch.complex128 if t.is_complex() else torch.float64)
           for t in (s32.dt, s32.A, s32.P, s32.B, s32.C)]  # fmt: skip
    K_bar = torch.randn(2, 3, 4096, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def gradients(inputs):
        inputs = [t.clone().requires_grad_() for t in inputs]
        K = dplr_kernel(*inputs, 4096)
        return torch.autograd.grad(K, inputs, K_bar.to(K.dtype))

    got = gradients([s32.dt, s32.A, s32.P, s32.B, s32.C])
    expected = gradients(s64)
    for name, g, g64, tol in zip(
        "dt A P B C".split(), got, expected, (5e-3, 5e-3, 1e-4, 1e-4, 1e-4)
    ):
        assert g.dtype == (torch.float32 if name == "dt" else torch.complex64), name
        assert ref.rel_err(g, g64) < tol, name


@pytest.mark.parametrize("init", ["legs", "fout", "legt", "lin"])
@pytest.mark.parametrize("L", [1, 2, 7, 64, 301])
def test_state_forwarding(ref, init, L):
    for dtype in (torch.float64, torch.float32):
        s = _system(ref, init, 16, dtype, seed=L)
        u = torch.randn(2, 3, L, dtype=dtype)
        x0 = torch.randn(2, 3, 8, dtype=s.A.dtype)
        _, xL, _ = ref.recurrence(s.dt, s.A, s.B, s.C, u, P=s.P, disc="bilinear", state=x0)
        y0, _, _ = ref.recurrence(s.dt, s.A, s.B, s.C, 0 * u, P=s.P, disc="bilinear", state=x0)
        tol = 1e-10 if dtype == torch.float64 else 1e-5
        out = dplr_state_output(s.dt, s.A, s.P, s.C, x0, L)
        assert out.shape == (2, 2, 3, L) and out.dtype == dtype
        assert ref.rel_err(out, y0) < tol
        nxt = dplr_next_state(s.dt, s.A, s.P, s.B, u, x0)
        assert nxt.shape == (2, 3, 8) and nxt.dtype == s.A.dtype
        assert ref.rel_err(nxt, xL) < tol
        _, xL0, _ = ref.recurrence(s.dt, s.A, s.B, s.C, u, P=s.P, disc="bilinear")
        assert ref.rel_err(dplr_next_state(s.dt, s.A, s.P, s.B, u), xL0) < tol


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("rank", [1, 2])
def test_gradcheck_dplr_kernel(rank, method):
    g = torch.Generator().manual_seed(rank)
    dt = torch.rand(2, dtype=torch.float64, generator=g) * 0.1 + 0.05
    A = torch.complex(
        -0.5 - torch.rand(2, 2, generator=g, dtype=torch.float64),
        3 * torch.randn(2, 2, generator=g, dtype=torch.float64),
    )
    P = 0.5 * torch.randn(rank, 2, 2, dtype=torch.complex128, generator=g)
    B = torch.randn(2, 2, dtype=torch.complex128, generator=g)
    C = torch.randn(1, 2, 2, dtype=torch.complex128, generator=g)
    for L in (5, 6):  # odd and even (the z = -1 bin)
        inputs = tuple(t.clone().requires_grad_() for t in (dt, A, P, B, C))
        assert torch.autograd.gradcheck(lambda *a, n=L: dplr_kernel(*a, n, method=method), inputs)
    u = torch.randn(1, 2, 6, dtype=torch.float64, generator=g, requires_grad=True)
    x0 = torch.randn(1, 2, 2, dtype=torch.complex128, generator=g, requires_grad=True)
    inputs = (A.clone().requires_grad_(), P.clone().requires_grad_(), u, x0)
    assert torch.autograd.gradcheck(lambda a, p, uu, x: dplr_next_state(dt, a, p, B, uu, x), inputs)
    inputs = (A.clone().requires_grad_(), C.clone().requires_grad_(), x0)
    assert torch.autograd.gradcheck(lambda a, c, x: dplr_state_output(dt, a, P, c, x, 5), inputs)


def test_bad_input_names_expected_and_given(ref):
    s = ref.random_system("legs", 8)
    with pytest.raises(ValueError, match=r"disc: expected one of \['bilinear'\], got 'zoh'"):
        dplr_kernel(s.dt, s.A, s.P, s.B, s.C, 5, disc="zoh")
    with pytest.raises(ValueError, match=r"method: expected one of \['feedback', 'cauchy'\]"):
        dplr_kernel(s.dt, s.A, s.P, s.B, s.C, 5, method="dense")
    with pytest.raises(S4InputError, match=r"P: expected shape \(rank, H, N/2\)"):
        dplr_kernel(s.dt, s.A, s.P[:, :2], s.B, s.C, 5)
    with pytest.raises(S4InputError, match=r"dt: expected shape \(H,\)"):
        dplr_kernel(s.dt[:2], s.A, s.P, s.B, s.C, 5)
    with pytest.raises(S4InputError, match=r"state: expected complex \(batch, H, N/2\)"):
        dplr_state_output(s.dt, s.A, s.P, s.C, torch.zeros(1, 3, 4), 5)
