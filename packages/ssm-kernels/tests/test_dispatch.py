"""backends(), the automatic choice and the errors for unknown or unavailable backends."""

import pytest
import torch

import ssm_kernels
from ssm_kernels import dispatch


def test_backends_lists_every_backend_with_a_reason_when_unavailable():
    rows = ssm_kernels.backends()
    assert list(rows) == ["naive", "torch", "keops", "cuda"]
    for name, row in rows.items():
        assert row.name == name
        assert isinstance(row.available, bool)
        assert bool(row) is row.available
        if row.available:
            assert row.reason is None
        else:
            assert isinstance(row.reason, str) and row.reason
    assert rows["naive"].available and rows["torch"].available
    assert rows["keops"].install == "pip install ssm-kernels[keops]"
    assert rows["cuda"].install == "pip install ssm-kernels[cuda]"


def test_backends_prints_as_a_table_and_stays_a_dict(monkeypatch):
    """print(backends()) is one row per backend with a header; indexing works as before."""
    real = dispatch._availability
    monkeypatch.setattr(
        dispatch,
        "_availability",
        lambda n: (False, "cupy is not installed") if n == "cuda" else real(n),
    )
    rows = ssm_kernels.backends()
    assert isinstance(rows, dict) and isinstance(rows, ssm_kernels.BackendReport)
    assert rows["torch"].available and list(rows.keys()) == list(ssm_kernels.BACKEND_NAMES)
    text = str(rows)
    assert text == repr(rows) == rows.table()
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["backend", "available", "devices"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    body = {line.split()[0]: line for line in lines[2:]}
    assert list(body) == list(ssm_kernels.BACKEND_NAMES)
    assert body["torch"].split()[1] == "yes"
    assert body["cuda"].split()[1] == "no"
    assert "cupy is not installed (pip install ssm-kernels[cuda" in body["cuda"]


def test_cuda_install_line_follows_torch_cuda_major(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    assert dispatch._install_line("cuda") == "pip install ssm-kernels[cuda13]"
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    assert dispatch._install_line("cuda") == "pip install ssm-kernels[cuda12]"
    monkeypatch.setattr(torch.version, "cuda", None)
    assert dispatch._install_line("cuda") == "pip install ssm-kernels[cuda]"


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128], ids=str)
def test_auto_backend_on_cpu_is_torch(dtype):
    assert ssm_kernels.auto_backend(torch.device("cpu"), dtype) == "torch"


def test_auto_backend_on_cuda_prefers_cuda_then_keops_then_torch(monkeypatch):
    table = {"cuda": (True, None), "keops": (True, None)}
    monkeypatch.setattr(dispatch, "_availability", lambda name: table.get(name, (True, None)))
    gpu = torch.device("cuda", 0)
    assert dispatch.auto_backend(gpu, torch.complex64) == "cuda"
    assert dispatch.auto_backend(gpu, torch.complex128) == "keops"  # the kernels are complex64
    table["cuda"] = (False, "cupy is not installed")
    assert dispatch.auto_backend(gpu, torch.complex64) == "keops"
    table["keops"] = (False, "pykeops is not installed")
    assert dispatch.auto_backend(gpu, torch.complex64) == "torch"


def test_backend_none_runs_and_matches_torch(inputs):
    v, z, w = inputs.randn(3, 8), inputs.bilinear_z(20), inputs.poles(3, 8)
    auto = ssm_kernels.cauchy(v, z, w)
    explicit = ssm_kernels.cauchy(v, z, w, backend="torch")
    assert torch.equal(auto, explicit)


@pytest.mark.parametrize("bad", ["Torch", "gpu", "", 3])
def test_unknown_backend_names_the_choices(inputs, bad):
    v, z, w = inputs.randn(8), inputs.bilinear_z(5), inputs.poles(8)
    with pytest.raises(ValueError, match=r"^backend: expected None or one of .*got"):
        ssm_kernels.cauchy(v, z, w, backend=bad)
    with pytest.raises(ValueError, match="backend"):
        ssm_kernels.vandermonde(v, w, 5, backend=bad)


@pytest.mark.parametrize("name, extra", [("keops", "keops"), ("cuda", "cuda")])
def test_unavailable_backend_names_the_extra(inputs, monkeypatch, name, extra):
    real = dispatch._availability
    fake = lambda n: (False, f"{n} is missing here") if n == name else real(n)
    monkeypatch.setattr(dispatch, "_availability", fake)
    v, z, w = inputs.randn(8), inputs.bilinear_z(5), inputs.poles(8)
    with pytest.raises(ssm_kernels.BackendUnavailableError) as err:
        ssm_kernels.cauchy(v, z, w, backend=name)
    assert f"pip install ssm-kernels[{extra}]" in str(err.value)
    assert "missing here" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_cuda_backend_without_cupy_or_gpu_raises_with_the_extra(inputs):
    if ssm_kernels.backends()["cuda"].available:
        pytest.skip("the cuda backend is available here; the unavailable path needs no GPU")
    v, x = inputs.randn(8), inputs.exponents(8)
    with pytest.raises(ssm_kernels.BackendUnavailableError, match=r"ssm-kernels\[cuda\]"):
        ssm_kernels.vandermonde(v, x, 5, backend="cuda")


def test_explicit_backend_checks_device_and_dtype(inputs, monkeypatch):
    """An available backend still refuses tensors it cannot run (cuda: complex64 on a GPU)."""
    monkeypatch.setattr(dispatch, "_availability", lambda name: (True, None))
    v, z, w = inputs.randn(8), inputs.bilinear_z(5), inputs.poles(8)
    with pytest.raises(ValueError, match="CUDA device, got cpu"):
        ssm_kernels.cauchy(v, z, w, backend="cuda")


def test_missing_extras_read_as_unavailable_with_reasons(monkeypatch):
    from ssm_kernels import cuda, keops

    monkeypatch.setattr(keops.importlib.util, "find_spec", lambda name: None)
    assert keops.unavailable_reason() == "pykeops is not installed"
    assert cuda.unavailable_reason() == "cupy is not installed"
