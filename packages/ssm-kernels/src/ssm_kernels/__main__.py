"""``python -m ssm_kernels``: what this installation can run.

Prints the versions that matter (ssm-kernels, Python, torch, numpy and the optional pykeops
and CuPy), the backend table of :func:`ssm_kernels.backends`, the devices torch sees and the
backend ``backend=None`` picks on each.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata

import torch

import ssm_kernels


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cupy_version() -> str:
    for dist in ("cupy-cuda13x", "cupy-cuda12x", "cupy"):
        found = _version(dist)
        if found != "not installed":
            return f"{found} ({dist})"
    return "not installed"


def report() -> str:
    """The text ``python -m ssm_kernels`` prints."""
    versions = [
        ("ssm-kernels", ssm_kernels.__version__),
        ("python", platform.python_version()),
        ("torch", f"{torch.__version__} (CUDA {torch.version.cuda or 'none'})"),
        ("numpy", _version("numpy")),
        ("pykeops", _version("pykeops")),
        ("cupy", _cupy_version()),
    ]
    width = max(len(name) for name, _ in versions)
    lines = ["ssm-kernels report", "", "versions"]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in versions]
    lines += ["", "backends"]
    lines += ["  " + line for line in ssm_kernels.backends().table().splitlines()]
    lines += ["", "devices (backend=None picks, complex64 / complex128)"]
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices += [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
    for device in devices:
        if device.type == "cpu":
            label = f"cpu ({torch.get_num_threads()} torch threads)"
        else:
            label = f"{device} ({torch.cuda.get_device_name(device)})"
        picks = [ssm_kernels.auto_backend(device, d) for d in (torch.complex64, torch.complex128)]
        lines.append(f"  {label}: {picks[0]} / {picks[1]}")
    if not torch.cuda.is_available():
        lines.append("  no CUDA device visible to torch")
    return "\n".join(lines)


def main() -> int:
    print(report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
