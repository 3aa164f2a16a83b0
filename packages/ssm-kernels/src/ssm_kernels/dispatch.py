"""Backend registry: which backends exist, which are available here, and which one to use.

Selection rule for ``backend=None`` (decided by ``s4-bench kernels``, see the README table):

* CPU tensors: ``torch`` (the blocked pure-torch backend). It beat naive in every
  configuration benchmarked with 1-10 % of its memory, beat pykeops 3-30x on Vandermonde and
  was level with it on Cauchy, with no compiler or first-call compilation.
* CUDA tensors: ``cuda`` when CuPy is installed and the dtype is complex64, else ``keops`` when
  pykeops is installed, else ``torch``.
* any other device: ``torch``.

An explicitly named backend that is not available raises :class:`BackendUnavailableError`
(a ``ValueError``) naming the extra to install.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import torch

from ssm_kernels._validate import KernelInputError

BACKEND_NAMES = ("naive", "torch", "keops", "cuda")
_EXTRA = {"keops": "pip install ssm-kernels[keops]", "cuda": "pip install ssm-kernels[cuda]"}


def _install_line(name: str) -> str | None:
    """The extra to install: for cuda, the CuPy build matching torch's CUDA major."""
    if name == "cuda" and torch.version.cuda:
        major = torch.version.cuda.split(".")[0]
        if major in ("12", "13"):
            return f"pip install ssm-kernels[cuda{major}]"
    return _EXTRA.get(name)


class BackendUnavailableError(KernelInputError):
    """An explicitly requested backend cannot run here (missing extra, compiler or GPU)."""


@dataclass(frozen=True)
class BackendStatus:
    """One row of :func:`backends`: ``available`` and, when not, ``reason``."""

    name: str
    available: bool
    reason: str | None
    devices: tuple[str, ...]
    install: str | None = None

    def __bool__(self) -> bool:
        return self.available


# The backend named "torch" (pure torch, blocked) lives in ``blocked.py``: a module called
# ``torch.py`` inside the package would shadow the library for anyone reading the imports.
_MODULES = {"naive": "naive", "torch": "blocked", "keops": "keops", "cuda": "cuda"}


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"ssm_kernels.{_MODULES[name]}")


@functools.cache
def _availability(name: str) -> tuple[bool, str | None]:
    if name in ("naive", "torch"):
        return True, None
    probe: Callable[[], str | None] = _module(name).unavailable_reason
    reason = probe()
    return reason is None, reason


class BackendReport(dict):
    """``{name: BackendStatus}`` in preference order that prints as a table.

    Indexing, iteration and ``.items()`` are those of the dict; ``print(report)`` (or the
    REPL) shows one row per backend: available or not, the devices it serves, and the reason
    with the install line when it is unavailable.
    """

    def table(self) -> str:
        rows = [("backend", "available", "devices", "reason / install")]
        for name, row in self.items():
            note = "" if row.available else f"{row.reason}"
            if not row.available and row.install:
                note += f" ({row.install})"
            rows.append((name, "yes" if row.available else "no", ", ".join(row.devices), note))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(r[:3], widths)) + "  " + r[3]
            for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(rows[0][3]))
        return "\n".join(line.rstrip() for line in lines)

    __str__ = table

    def __repr__(self) -> str:
        return self.table()


def backends() -> BackendReport:
    """Every backend, in preference order, with availability and the reason when unavailable.

    A dict ``{name: BackendStatus}`` that prints as a table (``print(ssm_kernels.backends())``).
    """
    devices = {
        "naive": ("cpu", "cuda", "any"),
        "torch": ("cpu", "cuda", "any"),
        "keops": ("cpu", "cuda"),
        "cuda": ("cuda",),
    }
    out = BackendReport()
    for name in BACKEND_NAMES:
        ok, reason = _availability(name)
        out[name] = BackendStatus(name, ok, reason, devices[name], _install_line(name))
    return out


def _check_name(backend: object) -> str | None:
    if backend is None:
        return None
    if not isinstance(backend, str) or backend not in BACKEND_NAMES:
        raise KernelInputError(f"backend: expected None or one of {BACKEND_NAMES}, got {backend!r}")
    return backend


def resolve(backend: object, device: torch.device, dtype: torch.dtype) -> ModuleType:
    """The backend module for these inputs: the named one (checked) or the automatic pick."""
    name = _check_name(backend)
    if name is None:
        return _module(auto_backend(device, dtype))
    ok, reason = _availability(name)
    if not ok:
        line = _install_line(name)
        extra = f"; install it with `{line}`" if line else ""
        raise BackendUnavailableError(
            f"backend: expected a backend available here, got {name!r} ({reason}){extra}"
        )
    module = _module(name)
    check = getattr(module, "check_inputs", None)
    if check is not None:
        check(device, dtype)
    return module


def auto_backend(device: torch.device, dtype: torch.dtype) -> str:
    """The name ``backend=None`` resolves to for tensors on ``device`` of complex ``dtype``."""
    if device.type == "cuda":
        if dtype == torch.complex64 and _availability("cuda")[0]:
            return "cuda"
        if _availability("keops")[0]:
            return "keops"
    return "torch"
