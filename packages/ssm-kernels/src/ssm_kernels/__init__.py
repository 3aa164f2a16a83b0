"""Cauchy and Vandermonde kernels for structured state space models (S4, S4D and friends).

    import ssm_kernels
    out = ssm_kernels.cauchy(v, z, w)              # (..., L) complex
    k = ssm_kernels.vandermonde(v, x, L)           # (..., L) real: 2 Re sum_n v exp(x l)
    print(ssm_kernels.backends())                  # table: what can run here, and why not

``python -m ssm_kernels`` prints a report: versions, backends, devices and the automatic picks.

Backends: "naive" (reference), "torch" (blocked pure torch, module ``blocked``; the CPU
default), "keops" (pykeops), "cuda" (CuPy).
"""

from ssm_kernels.__about__ import __version__
from ssm_kernels._validate import KernelInputError
from ssm_kernels.dispatch import (
    BACKEND_NAMES,
    BackendReport,
    BackendStatus,
    BackendUnavailableError,
    auto_backend,
    backends,
)
from ssm_kernels.ops import cauchy, vandermonde, vandermonde_transpose

__all__ = [
    "BACKEND_NAMES",
    "BackendReport",
    "BackendStatus",
    "BackendUnavailableError",
    "KernelInputError",
    "__version__",
    "auto_backend",
    "backends",
    "cauchy",
    "vandermonde",
    "vandermonde_transpose",
]
