"""Shared fixtures: S4-like random inputs and float64 brute-force references.

The references are written here, independently of the package: plain loops over the state
index n in numpy complex128, one term at a time, so they share no code with any backend.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch

from ssm_kernels.blocked import _vdm_split


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().resolve_conj().cpu().to(torch.complex128).numpy()


def cauchy_reference(v, z, w, conj=True) -> np.ndarray:
    """sum_n v_n / (z_l - w_n) (+ conj(v_n) / (z_l - conj(w_n))), loop over n, complex128."""
    v, z, w = _np(v), _np(z), _np(w)
    batch = np.broadcast_shapes(v.shape[:-1], z.shape[:-1], w.shape[:-1])
    out = np.zeros((*batch, z.shape[-1]), dtype=np.complex128)
    for n in range(v.shape[-1]):
        vn, wn = v[..., n : n + 1], w[..., n : n + 1]
        out += vn / (z - wn)
        if conj:
            out += np.conj(vn) / (z - np.conj(wn))
    return out


def vandermonde_reference(v, x, L, conj=True) -> np.ndarray:
    """sum_n v_n exp(x_n l), l = 0..L-1, loop over n, complex128; 2 Re(.) when conj."""
    v, x = _np(v), _np(x)
    batch = np.broadcast_shapes(v.shape[:-1], x.shape[:-1])
    ell = np.arange(L, dtype=np.float64)
    out = np.zeros((*batch, L), dtype=np.complex128)
    for n in range(v.shape[-1]):
        out += v[..., n : n + 1] * np.exp(x[..., n : n + 1] * ell)
    return 2 * out.real if conj else out


def vandermonde_transpose_reference(u, v, x, L) -> np.ndarray:
    """sum_l u_l v_n exp(x_n l), loop over l, complex128."""
    u, v, x = _np(u), _np(v), _np(x)
    batch = np.broadcast_shapes(u.shape[:-1], v.shape[:-1], x.shape[:-1])
    out = np.zeros((*batch, v.shape[-1]), dtype=np.complex128)
    for l in range(L):
        out += u[..., l : l + 1] * v * np.exp(x * l)
    return out


def rel_err(out: torch.Tensor, ref) -> float:
    ref = np.asarray(ref)
    got = out.detach().resolve_conj().cpu().numpy().astype(ref.dtype)
    assert got.shape == ref.shape, f"shape {got.shape} != reference {ref.shape}"
    return float(np.linalg.norm((got - ref).ravel()) / np.linalg.norm(ref.ravel()))


TOL = {torch.complex64: 1e-5, torch.complex128: 1e-12}


class S4Inputs:
    """Random inputs shaped like S4's: poles with negative real part, z on the imaginary axis."""

    def __init__(self, seed: int):
        self.gen = torch.Generator().manual_seed(seed)

    def randn(self, *shape, dtype=torch.complex64):
        return torch.randn(*shape, generator=self.gen, dtype=dtype)

    def poles(self, *shape, dtype=torch.complex64):
        """w = -a + i b with a in [0.1, 1.1), b ~ N(0, 3^2): S4-like, off the real axis."""
        real = -(0.1 + torch.rand(*shape, generator=self.gen, dtype=torch.float64))
        imag = 3 * torch.randn(*shape, generator=self.gen, dtype=torch.float64)
        return torch.complex(real, imag).to(dtype)

    def bilinear_z(self, L, dtype=torch.complex64):
        """z = 2 (1 - omega) / (1 + omega) on the imaginary axis, omega = exp(-2 pi i k / L')."""
        k = torch.arange(L, dtype=torch.float64)
        theta = math.pi * (k + 0.5) / (L + 1)  # stays clear of omega = -1
        return (2j * torch.tan(theta)).to(dtype)

    def circle_z(self, *shape, dtype=torch.complex64):
        """Points near the unit circle."""
        theta = 2 * math.pi * torch.rand(*shape, generator=self.gen, dtype=torch.float64)
        radius = 1 + 0.05 * torch.randn(*shape, generator=self.gen, dtype=torch.float64)
        return torch.polar(radius, theta).to(dtype)

    def exponents(self, *shape, dtype=torch.complex64):
        """x = dt * A as in S4D: slow decay, up to 1 radian of oscillation per step.

        (Phases x l beyond ~100 rad would cost float32 its 1e-5 accuracy in any backend,
        naive included: the rounding of x * l alone is half an ulp of the phase.)
        """
        real = -(0.001 + 0.1 * torch.rand(*shape, generator=self.gen, dtype=torch.float64))
        imag = 2 * torch.rand(*shape, generator=self.gen, dtype=torch.float64) - 1
        return torch.complex(real, imag).to(dtype)


def block_power_inputs(L: int) -> torch.Tensor:
    """(5, 9) complex128 exponents of the block-power tests, seeded by L."""
    g = torch.Generator().manual_seed(L)
    return torch.complex(
        -0.3 * torch.rand(5, 9, generator=g, dtype=torch.float64),
        8 * torch.randn(5, 9, generator=g, dtype=torch.float64),
    )


def block_powers_reference(x: torch.Tensor, L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """exp(x q Lc) (b, Q, N) and exp(x j) (b, N, Lc) in float64, of the rounded input x."""
    lc, Q = _vdm_split(L)
    xe = x.to(torch.complex128)
    P = torch.exp(xe[:, None, :] * (torch.arange(Q, dtype=torch.float64) * lc)[:, None])
    return P, torch.exp(xe[:, :, None] * torch.arange(lc, dtype=torch.float64))


@pytest.fixture
def inputs(request) -> S4Inputs:
    # a different seed per test (fresh inputs), reproducible from the test's name
    seed = zlib.crc32(request.node.nodeid.encode())
    return S4Inputs(seed)


@pytest.fixture
def refs():
    class Refs:
        cauchy = staticmethod(cauchy_reference)
        vandermonde = staticmethod(vandermonde_reference)
        vandermonde_transpose = staticmethod(vandermonde_transpose_reference)
        rel_err = staticmethod(rel_err)
        block_power_inputs = staticmethod(block_power_inputs)
        block_powers = staticmethod(block_powers_reference)
        tol = TOL

    return Refs


class Agreement:
    """Run one op through one backend on fresh S4-like inputs and compare with the reference.

    Inputs are drawn on the CPU and moved to the backend's device ("cuda" runs on the GPU).
    """

    def __init__(self, inputs: S4Inputs):
        self.inputs = inputs

    @staticmethod
    def _to(backend, *tensors):
        device = "cuda" if backend == "cuda" else "cpu"
        return tuple(t.to(device) for t in tensors)

    def cauchy(self, backend, dtype, conj, v_batch, w_batch, z_batch, N=8, L=37):
        import ssm_kernels

        v = self.inputs.randn(*v_batch, N, dtype=dtype)
        w = self.inputs.poles(*w_batch, N, dtype=dtype)
        if z_batch:
            z = self.inputs.circle_z(*z_batch, L, dtype=dtype)
        else:
            z = self.inputs.bilinear_z(L, dtype=dtype)
        v, z, w = self._to(backend, v, z, w)
        out = ssm_kernels.cauchy(v, z, w, conj=conj, backend=backend)
        assert out.dtype == dtype
        err = rel_err(out, cauchy_reference(v, z, w, conj))
        assert err <= TOL[dtype], f"cauchy {backend} rel err {err:.2e}"
        return err

    def vandermonde(self, backend, dtype, conj, v_batch, x_batch, N=8, L=53):
        import ssm_kernels

        v = self.inputs.randn(*v_batch, N, dtype=dtype)
        x = self.inputs.exponents(*x_batch, N, dtype=dtype)
        v, x = self._to(backend, v, x)
        out = ssm_kernels.vandermonde(v, x, L, conj=conj, backend=backend)
        assert out.dtype == (dtype.to_real() if conj else dtype)
        err = rel_err(out, vandermonde_reference(v, x, L, conj))
        assert err <= TOL[dtype], f"vandermonde {backend} rel err {err:.2e}"
        return err

    def vandermonde_transpose(self, backend, dtype, u_batch, v_batch, x_batch, N=8, L=53):
        import ssm_kernels

        u = self.inputs.randn(*u_batch, L, dtype=dtype)
        v = self.inputs.randn(*v_batch, N, dtype=dtype)
        x = self.inputs.exponents(*x_batch, N, dtype=dtype)
        u, v, x = self._to(backend, u, v, x)
        out = ssm_kernels.vandermonde_transpose(u, v, x, L, backend=backend)
        assert out.dtype == dtype
        err = rel_err(out, vandermonde_transpose_reference(u, v, x, L))
        assert err <= TOL[dtype], f"vandermonde_transpose {backend} rel err {err:.2e}"
        return err


@pytest.fixture
def agree(inputs) -> Agreement:
    return Agreement(inputs)


# (v batch, w batch, z batch): none; S4D-like; channel rows sharing poles; broadcasting with a
# batched z; one z row per batch element.
CAUCHY_BATCHES = [
    ((), (), ()),
    ((3,), (3,), ()),
    ((2, 3), (3,), ()),
    ((2, 1, 4), (4,), (3, 1)),
    ((3,), (3,), (3,)),
]
# (v batch, x batch)
VANDERMONDE_BATCHES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (3,))]
# (u batch, v batch, x batch)
TRANSPOSE_BATCHES = [((), (), ()), ((2, 3), (3,), (3,)), ((3,), (2, 3), (3,)), ((2, 1), (), (3,))]


def grads(fn, tensors, seed=0):
    """Gradients of <fn(*tensors), g> for a fixed random complex (or real) cotangent g."""
    tensors = [t.detach().clone().requires_grad_() for t in tensors]
    out = fn(*tensors)
    # drawn in double precision, then cast, so every dtype sees the same cotangent
    wide = torch.complex128 if out.is_complex() else torch.float64
    g = torch.randn(out.shape, dtype=wide, generator=torch.Generator().manual_seed(seed))
    g = g.to(out.dtype)
    return out.detach(), torch.autograd.grad(out, tensors, g)


@pytest.fixture
def grad_of():
    return grads


def _ids(cases):
    return ["|".join("x".join(map(str, part)) or "-" for part in case) for case in cases]


def pytest_generate_tests(metafunc):
    """Parametrise the shared batch-shape lists by fixture name: cauchy_batches, etc."""
    for name, cases in (
        ("cauchy_batches", CAUCHY_BATCHES),
        ("vandermonde_batches", VANDERMONDE_BATCHES),
        ("transpose_batches", TRANSPOSE_BATCHES),
    ):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, cases, ids=_ids(cases))
