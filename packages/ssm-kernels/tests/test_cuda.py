"""The cuda backend: sources compile with nvcc, the autograd glue is right, and (on a GPU)
the kernels agree with brute force and with the torch backend's gradients (those bodies
are shared by every backend in ``test_backends.py``).

Without a GPU the glue is still tested: the four kernel entry points are replaced by plain
torch sums written here, so everything except the .cu arithmetic runs on CPU.
"""

import ctypes
import ctypes.util
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest
import torch

import ssm_kernels
from ssm_kernels import cuda as cuda_backend
from ssm_kernels.cuda import _kernels

_ENTRIES = {
    "cauchy.cu": ("cauchy_sum_n", "cauchy_sum_l"),
    "vandermonde.cu": ("vandermonde_sum_n", "vandermonde_sum_l"),
}
_NVCC = shutil.which("nvcc")
_RUNTIME = cuda_backend.unavailable_reason()
needs_nvcc = pytest.mark.skipif(_NVCC is None, reason="nvcc is not on PATH")
needs_gpu = pytest.mark.skipif(_RUNTIME is not None, reason=f"cuda backend: {_RUNTIME}")


def _nvcc_ptx(tmp_path, name: str, text: str) -> str:
    src = tmp_path / name
    src.write_text(text)
    ptx = tmp_path / (name + ".ptx")
    run = subprocess.run(
        [_NVCC, "-ptx", "-arch=sm_80", "-std=c++14", str(src), "-o", str(ptx)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    return ptx.read_text()


@needs_nvcc
@pytest.mark.parametrize("name", sorted(_ENTRIES))
def test_sources_compile_with_nvcc(tmp_path, name):
    """Each shipped .cu file, exactly as installed (its #include resolved beside it)."""
    folder = resources.files("ssm_kernels.cuda")
    (tmp_path / "common.cuh").write_text(folder.joinpath("common.cuh").read_text())
    ptx = _nvcc_ptx(tmp_path, name, folder.joinpath(name).read_text())
    for entry in _ENTRIES[name]:
        assert f".entry {entry}(" in ptx


@needs_nvcc
@pytest.mark.parametrize("name", sorted(_ENTRIES))
def test_runtime_source_compiles_with_nvcc(tmp_path, name):
    """The self-contained text handed to NVRTC (header inlined) compiles alone."""
    text = _kernels.source(name)
    assert "#include" not in text
    ptx = _nvcc_ptx(tmp_path, name, text)
    for entry in _ENTRIES[name]:
        assert f".entry {entry}(" in ptx


def _find_nvrtc() -> str | None:
    """libnvrtc from the pip wheel CuPy pulls in (nvidia-cuda-nvrtc-cu12) or the system."""
    try:
        import nvidia.cuda_nvrtc as wheel

        libs = sorted(Path(next(iter(wheel.__path__))).glob("lib/libnvrtc.so*"))
        if libs:
            return str(libs[0])
    except ImportError:
        pass
    return ctypes.util.find_library("nvrtc")


_LIBNVRTC = _find_nvrtc()


@pytest.mark.skipif(_LIBNVRTC is None, reason="libnvrtc (the compiler CuPy uses) is not installed")
@pytest.mark.parametrize("name", sorted(_ENTRIES))
def test_runtime_source_compiles_with_nvrtc(name):
    """The exact compile CuPy's RawModule performs at run time (no GPU needed)."""
    lib = ctypes.CDLL(_LIBNVRTC)
    prog = ctypes.c_void_p()
    code = _kernels.source(name).encode()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), code, name.encode(), 0, None, None) == 0
    options = [b"--std=c++14", b"--gpu-architecture=compute_80"]
    status = lib.nvrtcCompileProgram(prog, len(options), (ctypes.c_char_p * 2)(*options))
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    assert status == 0, log.value.decode()


# --- the glue, with the kernels swapped for torch sums -------------------------------------


def _fake_cauchy_sum_n(V, z, W, power):
    assert V.is_contiguous() and z.is_contiguous() and W.is_contiguous()
    assert not (V.is_conj() or z.is_conj() or W.is_conj())
    return (V[:, :, None] / (z[:, None, :] - W[:, :, None]) ** power).sum(dim=1)


def _fake_cauchy_sum_l(h, z, W):
    assert h.is_contiguous() and not h.is_conj()
    r = 1 / (z[:, None, :] - W[:, :, None])
    return (h[:, None, :] * r).sum(-1), (h[:, None, :] * r * r).sum(-1)


def _fake_powers(X, L):
    ell = torch.arange(L, dtype=X.real.dtype)
    return torch.exp(X[:, :, None] * ell), ell


def _fake_vandermonde_sum_n(V, X, L):
    powers, _ = _fake_powers(X, L)
    return (V[:, :, None] * powers).sum(dim=1)


def _fake_vandermonde_sum_l(U, X, want_t):
    assert U.is_contiguous() and not U.is_conj()
    powers, ell = _fake_powers(X, U.shape[-1])
    s = (U[:, None, :] * powers).sum(-1)
    t = (U[:, None, :] * ell * powers).sum(-1) if want_t else None
    return s, t


@pytest.fixture
def fake_kernels(monkeypatch):
    monkeypatch.setattr(_kernels, "cauchy_sum_n", _fake_cauchy_sum_n)
    monkeypatch.setattr(_kernels, "cauchy_sum_l", _fake_cauchy_sum_l)
    monkeypatch.setattr(_kernels, "vandermonde_sum_n", _fake_vandermonde_sum_n)
    monkeypatch.setattr(_kernels, "vandermonde_sum_l", _fake_vandermonde_sum_l)


def _compare(grad_of, fn, ref_fn, tensors, tol=1e-12):
    out, got = grad_of(fn, tensors)
    ref_out, ref = grad_of(ref_fn, tensors)
    assert ((out - ref_out).norm() / ref_out.norm()).item() <= tol
    for g, r in zip(got, ref):
        assert g.shape == r.shape and g.dtype == r.dtype
        assert ((g - r).norm() / r.norm()).item() <= tol


@pytest.mark.parametrize("conj", [True, False])
@pytest.mark.parametrize("z_batch", [(), (3,)], ids=["shared-z", "batched-z"])
def test_cauchy_glue(fake_kernels, inputs, grad_of, conj, z_batch):
    c = torch.complex128
    tensors = (
        inputs.randn(2, 3, 5, dtype=c),
        inputs.circle_z(*z_batch, 9, dtype=c),
        inputs.poles(3, 5, dtype=c),
    )
    fn = lambda v, z, w: cuda_backend.cauchy(v, z, w, conj)
    ref = lambda v, z, w: ssm_kernels.cauchy(v, z, w, conj=conj, backend="torch")
    _compare(grad_of, fn, ref, tensors)


@pytest.mark.parametrize("conj", [True, False])
def test_vandermonde_glue(fake_kernels, inputs, grad_of, conj):
    c = torch.complex128
    tensors = (inputs.randn(2, 3, 5, dtype=c), inputs.exponents(3, 5, dtype=c))
    fn = lambda v, x: cuda_backend.vandermonde(v, x, 9, conj)
    ref = lambda v, x: ssm_kernels.vandermonde(v, x, 9, conj=conj, backend="torch")
    _compare(grad_of, fn, ref, tensors)


def test_vandermonde_transpose_glue(fake_kernels, inputs, grad_of):
    c = torch.complex128
    tensors = (
        inputs.randn(2, 3, 9, dtype=c),
        inputs.randn(3, 5, dtype=c),
        inputs.exponents(3, 5, dtype=c),
    )
    fn = lambda u, v, x: cuda_backend.vandermonde_transpose(u, v, x, 9)
    ref = lambda u, v, x: ssm_kernels.vandermonde_transpose(u, v, x, 9, backend="torch")
    _compare(grad_of, fn, ref, tensors)


def test_check_inputs_names_device_and_dtype():
    with pytest.raises(ValueError, match="CUDA device, got cpu"):
        cuda_backend.check_inputs(torch.device("cpu"), torch.complex64)
    with pytest.raises(ValueError, match=r"complex64.*got torch\.complex128"):
        cuda_backend.check_inputs(torch.device("cuda", 0), torch.complex128)


def test_unavailable_reason_is_a_sentence_or_none():
    assert _RUNTIME is None or (isinstance(_RUNTIME, str) and len(_RUNTIME) > 10)


# --- on a GPU --------------------------------------------------------------------------------


@needs_gpu
@pytest.mark.gpu
def test_gpu_auto_backend_is_cuda_for_complex64():
    assert ssm_kernels.auto_backend(torch.device("cuda", 0), torch.complex64) == "cuda"
