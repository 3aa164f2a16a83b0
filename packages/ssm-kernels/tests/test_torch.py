"""The chunked torch backend vs brute force: values, gradients, chunk edges and peak memory."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from torch.autograd import gradcheck

import ssm_kernels
from ssm_kernels import naive
from ssm_kernels import blocked as torch_backend

DTYPES = [torch.complex64, torch.complex128]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("conj", [True, False])
def test_cauchy_matches_brute_force(agree, dtype, conj, cauchy_batches):
    agree.cauchy("torch", dtype, conj, *cauchy_batches)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("conj", [True, False])
def test_vandermonde_matches_brute_force(agree, dtype, conj, vandermonde_batches):
    agree.vandermonde("torch", dtype, conj, *vandermonde_batches)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_vandermonde_transpose_matches_brute_force(agree, dtype, transpose_batches):
    agree.vandermonde_transpose("torch", dtype, *transpose_batches)


@pytest.fixture(params=[(64, 5), (6, 4)], ids=["batch-length-blocks", "state-blocks"])
def tiny_blocks(monkeypatch, request):
    """Force many blocks along batch and length, or (second case) along the state too."""
    elems, lc = request.param
    monkeypatch.setattr(torch_backend, "_BLOCK_ELEMS", elems)
    monkeypatch.setattr(torch_backend, "_CAUCHY_LC", lc)


@pytest.mark.parametrize("L", [1, 2, 5, 17, 64, 65])
def test_block_edges(agree, tiny_blocks, L):
    """Lengths below, at and across block boundaries (and L = 1) with tiny blocks."""
    if L > torch_backend._CAUCHY_LC:
        assert len(list(torch_backend._cauchy_blocks(2, 4, L))) > 1
    agree.cauchy("torch", torch.complex128, True, (2, 3), (3,), (), N=4, L=L)
    agree.cauchy("torch", torch.complex128, False, (5,), (5,), (5,), N=4, L=L)
    agree.vandermonde("torch", torch.complex128, False, (2, 5), (5,), N=4, L=L)
    agree.vandermonde_transpose("torch", torch.complex128, (2, 5), (5,), (5,), N=4, L=L)


@pytest.mark.parametrize("conj", [True, False])
@pytest.mark.parametrize(
    "v_batch, w_batch, z_batch",
    [((2, 3), (3,), ()), ((3,), (3,), ()), ((3,), (3,), (3,))],
    ids=["rows", "one-row", "batched-z"],
)
def test_cauchy_gradcheck(inputs, tiny_blocks, conj, v_batch, w_batch, z_batch):
    c = torch.complex128
    v = inputs.randn(*v_batch, 4, dtype=c).requires_grad_()
    w = inputs.poles(*w_batch, 4, dtype=c).requires_grad_()
    z = inputs.circle_z(*z_batch, 11, dtype=c).requires_grad_()
    fn = lambda v, z, w: ssm_kernels.cauchy(v, z, w, conj=conj, backend="torch")
    assert gradcheck(fn, (v, z, w))


@pytest.mark.parametrize("conj", [True, False])
def test_vandermonde_gradcheck(inputs, tiny_blocks, conj):
    c = torch.complex128
    v = inputs.randn(2, 3, 4, dtype=c).requires_grad_()
    x = inputs.exponents(3, 4, dtype=c).requires_grad_()
    fn = lambda v, x: ssm_kernels.vandermonde(v, x, 11, conj=conj, backend="torch")
    assert gradcheck(fn, (v, x))


def test_vandermonde_transpose_gradcheck(inputs, tiny_blocks):
    c = torch.complex128
    u = inputs.randn(2, 3, 11, dtype=c).requires_grad_()
    v = inputs.randn(3, 4, dtype=c).requires_grad_()
    x = inputs.exponents(3, 4, dtype=c).requires_grad_()
    fn = lambda u, v, x: ssm_kernels.vandermonde_transpose(u, v, x, 11, backend="torch")
    assert gradcheck(fn, (u, v, x))


def test_complex64_gradients_match_double_reference(inputs, grad_of):
    """float32 gradients (default blocks) against naive autograd in complex128."""
    v = inputs.randn(2, 3, 16)
    w = inputs.poles(3, 16)
    z = inputs.bilinear_z(300)
    x = inputs.exponents(3, 16)
    u = inputs.randn(2, 3, 300)
    cases = [
        (lambda b: lambda v, z, w: ssm_kernels.cauchy(v, z, w, backend=b), (v, z, w)),
        (lambda b: lambda v, x: ssm_kernels.vandermonde(v, x, 300, backend=b), (v, x)),
        (
            lambda b: lambda u, v, x: ssm_kernels.vandermonde_transpose(u, v, x, 300, backend=b),
            (u, v, x),
        ),
    ]
    for make, tensors in cases:
        _, got = grad_of(make("torch"), tensors)
        wide = [t.to(torch.complex128) for t in tensors]
        _, ref = grad_of(make("naive"), wide)
        for g, r in zip(got, ref):
            err = ((g.to(r.dtype) - r).norm() / r.norm()).item()
            assert err <= 1e-5, err


def test_naive_module_agrees_on_a_long_sequence(inputs):
    """A length spanning many default-size blocks, complex64, against naive in complex128."""
    v, w = inputs.randn(4, 32), inputs.poles(4, 32)
    z = inputs.bilinear_z(3000)
    out = torch_backend.cauchy(v, z, w)
    ref = naive.cauchy(*(t.to(torch.complex128) for t in (v, z, w)))
    assert ((out - ref).norm() / ref.norm()).item() <= 1e-5


_PEAK_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, torch, ssm_kernels
    backend = sys.argv[1]
    torch.manual_seed(0)
    H, N, L = 32, 64, 4096
    v = torch.randn(H, N, dtype=torch.complex64, requires_grad=True)
    w = torch.complex(-torch.rand(H, N) - 0.1, 3 * torch.randn(H, N)).requires_grad_()
    z = 2j * torch.tan(torch.pi * (torch.arange(L) + 0.5) / (L + 1))
    # a tiny call first: lazy library initialisation is not the op's memory
    ssm_kernels.cauchy(v[:2, :2], z[:8], w[:2, :2], backend=backend).real.sum().backward()
    v.grad = w.grad = None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = ssm_kernels.cauchy(v, z, w, backend=backend)
    out.real.sum().backward()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_kib": after - before}))
    """
)


def _peak_kib(backend: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, backend], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])["peak_kib"]


def test_peak_memory_far_below_naive():
    """Forward+backward at H=64, N=64 (x2 conj), L=4096: naive holds several (64, 128, 4096)
    complex64 tensors (268 MB each); the chunked backend must stay under 1/8 of naive."""
    naive_kib = _peak_kib("naive")
    torch_kib = _peak_kib("torch")
    assert naive_kib > 400_000, f"probe did not see naive's allocations ({naive_kib} KiB)"
    assert torch_kib * 8 < naive_kib, (torch_kib, naive_kib)
