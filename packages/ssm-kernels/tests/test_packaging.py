"""ssm-kernels stands alone: torch only, knows nothing of hippo-core or s4-layers."""

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import ssm_kernels


def _requirement_names(dist: str) -> set[str]:
    names = set()
    for req in metadata.requires(dist) or []:
        names.add(re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_metadata_requires_only_torch_and_the_extras():
    names = _requirement_names("ssm-kernels")
    assert "torch" in names
    assert not names & {"hippo-core", "s4-layers", "s4-tasks"}
    assert names <= {"torch", "numpy", "pykeops", "cupy-cuda12x", "cupy-cuda13x"}, names


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")
    return tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def _names(reqs: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in reqs}


def test_extras_cover_both_cuda_majors():
    """[cuda12] and [cuda13] name the matching CuPy build; [cuda] stays the CUDA 12 one."""
    extras = _pyproject()["project"]["optional-dependencies"]
    assert _names(extras["cuda12"]) == {"cupy-cuda12x"}
    assert _names(extras["cuda13"]) == {"cupy-cuda13x"}
    assert _names(extras["cuda"]) == {"cupy-cuda12x"}
    assert _names(extras["keops"]) == {"pykeops"}
    assert _pyproject()["project"]["requires-python"] == ">=3.10"  # 3.12 GPU images too


def test_numpy_is_declared_and_import_is_quiet():
    """torch warns "Failed to initialize NumPy" when numpy is missing: it is a dependency, and
    importing ssm-kernels (and asking for the backends) prints no warning at all."""
    assert "numpy" in _names(_pyproject()["project"]["dependencies"])
    code = "import ssm_kernels; ssm_kernels.backends()"
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "NumPy" not in run.stderr and run.stderr.strip() == "", run.stderr


def test_python_dash_m_prints_the_report():
    run = subprocess.run(
        [sys.executable, "-m", "ssm_kernels"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for needle in ("versions", "torch", "numpy", "backends", "available", "devices", "cpu"):
        assert needle in out, needle
    for name in ssm_kernels.BACKEND_NAMES:
        assert re.search(rf"^\s+{name}\s+(yes|no)\b", out, flags=re.M), name


def test_gpu_check_script_and_nox_session():
    """The GPU entry points exist and parse (they run only on a CUDA machine)."""
    root = Path(__file__).resolve().parents[3]
    script = root / "packages" / "ssm-kernels" / "scripts" / "gpu_check.sh"
    assert script.is_file() and os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert "--device cuda" in text and "test_cuda.py" in text and ".json" in text
    noxfile = (root / "noxfile.py").read_text()
    assert "def gpu(" in noxfile and "gpu_check.sh" in noxfile


def test_version_matches_metadata():
    assert metadata.version("ssm-kernels") == ssm_kernels.__version__


def test_imports_with_siblings_blocked():
    code = (
        "import sys\n"
        "sys.modules['hippo_core'] = None\n"
        "sys.modules['s4_layers'] = None\n"
        "sys.modules['s4_tasks'] = None\n"
        "import torch, ssm_kernels\n"
        "from ssm_kernels import naive, keops, cuda\n"
        "z = torch.randn(4, dtype=torch.complex64)\n"
        "w = torch.complex(-torch.ones(3), torch.arange(3.0))\n"
        "print(ssm_kernels.cauchy(torch.ones(3), z, w).shape)\n"
        "ssm_kernels.backends()\n"
        "assert 'hippo_core' not in sys.modules or sys.modules['hippo_core'] is None\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "torch.Size([4])" in run.stdout


def test_cuda_sources_ship_as_package_data():
    from importlib import resources

    folder = resources.files("ssm_kernels.cuda")
    for name in ("cauchy.cu", "vandermonde.cu", "common.cuh"):
        assert folder.joinpath(name).is_file(), name
