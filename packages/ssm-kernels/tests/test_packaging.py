"""ssm-kernels stands alone: torch only, knows nothing of hippo-core or s4-layers."""

import re
import subprocess
import sys
from importlib import metadata

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
    assert names <= {"torch", "pykeops", "cupy-cuda12x"}, names


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
