"""Every backend against the float64 brute-force sums, and its gradients: one module, one body
per property, parametrised over the backends (naive, torch = ``blocked``, keops, cuda).

A backend that cannot run here is skipped with its reason (``backends()``). Per backend:
naive and torch run complex64 and complex128 on every batch shape; keops runs complex64 on
every shape and complex128 on one per op (each pykeops formula compiles once, seconds on CPU);
cuda runs complex64 (its kernels accumulate in float32) on the GPU.
"""

import pytest
import torch
from torch.autograd import gradcheck

import ssm_kernels
from ssm_kernels import blocked, conj_pair, vandermonde_short

_STATUS = ssm_kernels.backends()


def _skip_unless_available(name: str) -> list:
    row = _STATUS[name]
    return [pytest.mark.skipif(not row.available, reason=f"{name} backend: {row.reason}")]


def _backend_param(name: str):
    return pytest.param(name, marks=_skip_unless_available(name), id=name)


C64, C128 = torch.complex64, torch.complex128
# the dtypes each backend runs over the full batch-shape tables
TABLE_DTYPES = {"naive": (C64, C128), "torch": (C64, C128), "keops": (C64,), "cuda": (C64,)}
TABLE = [
    pytest.param(name, dtype, marks=_skip_unless_available(name), id=f"{name}-{str(dtype)[6:]}")
    for name in ssm_kernels.BACKEND_NAMES
    for dtype in TABLE_DTYPES[name]
]
FAST = [_backend_param(n) for n in ("torch", "keops", "cuda")]


@pytest.mark.parametrize("backend, dtype", TABLE)
@pytest.mark.parametrize("conj", [True, False], ids=["conj", "no-conj"])
def test_cauchy_matches_brute_force(agree, backend, dtype, conj, cauchy_batches):
    agree.cauchy(backend, dtype, conj, *cauchy_batches)


@pytest.mark.parametrize("backend, dtype", TABLE)
@pytest.mark.parametrize("conj", [True, False], ids=["conj", "no-conj"])
def test_vandermonde_matches_brute_force(agree, backend, dtype, conj, vandermonde_batches):
    agree.vandermonde(backend, dtype, conj, *vandermonde_batches)


@pytest.mark.parametrize("backend, dtype", TABLE)
def test_vandermonde_transpose_matches_brute_force(agree, backend, dtype, transpose_batches):
    agree.vandermonde_transpose(backend, dtype, *transpose_batches)


@pytest.mark.parametrize("backend", [_backend_param("keops")])
def test_complex128_spot_check(agree, backend):
    """keops in complex128: one shape per op (each dtype compiles its own formulas)."""
    agree.cauchy(backend, C128, True, (2, 3), (3,), ())
    agree.vandermonde(backend, C128, False, (2, 3), (3,))
    agree.vandermonde_transpose(backend, C128, (2, 3), (3,), (3,))


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Many blocks along batch, length and (conj=False Cauchy) state, for gradcheck."""
    monkeypatch.setattr(blocked, "_BLOCK_ELEMS", 6)
    monkeypatch.setattr(blocked, "_CAUCHY_LC", 4)
    monkeypatch.setattr(conj_pair, "_BLOCK_ELEMS", 8)
    monkeypatch.setattr(conj_pair, "_LC", 4)


GRADCHECK = ["naive", "torch"]  # the backends with complex128 gradients of their own


@pytest.mark.parametrize("backend", GRADCHECK)
@pytest.mark.parametrize("conj", [True, False], ids=["conj", "no-conj"])
@pytest.mark.parametrize(
    "v_batch, w_batch, z_batch",
    [((2, 3), (3,), ()), ((3,), (3,), ()), ((3,), (3,), (3,))],
    ids=["rows", "one-row", "batched-z"],
)
def test_cauchy_gradcheck(inputs, tiny_blocks, backend, conj, v_batch, w_batch, z_batch):
    v = inputs.randn(*v_batch, 4, dtype=C128).requires_grad_()
    w = inputs.poles(*w_batch, 4, dtype=C128).requires_grad_()
    z = inputs.circle_z(*z_batch, 11, dtype=C128).requires_grad_()
    fn = lambda v, z, w: ssm_kernels.cauchy(v, z, w, conj=conj, backend=backend)
    assert gradcheck(fn, (v, z, w))


@pytest.mark.parametrize("backend", GRADCHECK)
@pytest.mark.parametrize("conj", [True, False], ids=["conj", "no-conj"])
@pytest.mark.parametrize("short", [True, False], ids=["short-tables", "two-tables"])
def test_vandermonde_gradcheck(inputs, tiny_blocks, backend, conj, short, monkeypatch):
    # the real-output path (conj=True, "torch") on its short tables or its two blocked ones
    monkeypatch.setattr(vandermonde_short, "_SHORT_TABLE_ELEMS", 1 << 30 if short else 0)
    v = inputs.randn(2, 3, 4, dtype=C128).requires_grad_()
    x = inputs.exponents(3, 4, dtype=C128).requires_grad_()
    fn = lambda v, x: ssm_kernels.vandermonde(v, x, 11, conj=conj, backend=backend)
    assert gradcheck(fn, (v, x))


@pytest.mark.parametrize("backend", GRADCHECK)
def test_vandermonde_transpose_gradcheck(inputs, tiny_blocks, backend):
    u = inputs.randn(2, 3, 11, dtype=C128).requires_grad_()
    v = inputs.randn(3, 4, dtype=C128).requires_grad_()
    x = inputs.exponents(3, 4, dtype=C128).requires_grad_()
    fn = lambda u, v, x: ssm_kernels.vandermonde_transpose(u, v, x, 11, backend=backend)
    assert gradcheck(fn, (u, v, x))


def _grad_cases(inputs, conj):
    """(make(backend) -> fn, complex64 CPU tensors) for each op at S4-like shapes."""
    v, w, x = inputs.randn(2, 3, 16), inputs.poles(3, 16), inputs.exponents(3, 16)
    z, u = inputs.bilinear_z(300), inputs.randn(2, 3, 300)
    return [
        (lambda b: lambda v, z, w: ssm_kernels.cauchy(v, z, w, conj=conj, backend=b), (v, z, w)),
        (lambda b: lambda v, x: ssm_kernels.vandermonde(v, x, 300, conj=conj, backend=b), (v, x)),
        (
            lambda b: lambda u, v, x: ssm_kernels.vandermonde_transpose(u, v, x, 300, backend=b),
            (u, v, x),
        ),
    ]


def _rel(a, b) -> float:
    return ((a.to(b.dtype) - b).norm() / b.norm()).item()


# complex64 gradients: float32 accumulation over L=300 terms (cuda's kernels a bit looser)
GRAD_TOL = {"torch": 1e-5, "keops": 1e-5, "cuda": 1e-4}


@pytest.mark.parametrize("backend", FAST)
@pytest.mark.parametrize("conj", [True, False], ids=["conj", "no-conj"])
def test_complex64_gradients_match_double_reference(inputs, grad_of, backend, conj):
    """Default blocks, complex64: every gradient against naive autograd in complex128, and the
    compiled backends against the torch backend in the same dtype."""
    device = "cuda" if backend == "cuda" else "cpu"
    for make, tensors in _grad_cases(inputs, conj):
        on_device = [t.to(device) for t in tensors]
        out, got = grad_of(make(backend), on_device)
        _, ref = grad_of(make("naive"), [t.to(C128) for t in tensors])
        for g, r in zip(got, ref):
            assert g.shape == r.shape
            assert _rel(g.cpu(), r) <= GRAD_TOL[backend]
        if backend != "torch":
            out_t, ref_t = grad_of(make("torch"), on_device)
            assert _rel(out, out_t) <= GRAD_TOL[backend]
            for g, r in zip(got, ref_t):
                assert g.dtype == r.dtype
                assert _rel(g, r) <= GRAD_TOL[backend]
