"""Input checks shared by every op: shapes, dtypes, devices, backend names.

Every public op funnels its arguments through one of the ``check_*`` functions below, so each
backend receives tensors that already agree on device and complex dtype and whose leading
(batch) dimensions broadcast. Errors are :class:`KernelInputError`, a ``ValueError`` with one
message template everywhere: ``<name>: expected ..., got ...`` (the argument(s) first), and
every checker takes ``(name, value, ...)`` in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ssm_kernels._layout import broadcast_shapes


class KernelInputError(ValueError):
    """Bad input to an ssm_kernels op (shape, dtype, device, length or backend name)."""


_REAL_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_COMPLEX = (torch.complex64, torch.complex128)


def _describe(t: torch.Tensor) -> str:
    return f"shape {tuple(t.shape)}, dtype {t.dtype}, device {t.device}"


def _check_tensor(name: str, t: object, *, complex_required: bool) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise KernelInputError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dim() < 1:
        raise KernelInputError(
            f"{name}: expected at least 1 dimension (..., size), got a 0-d tensor"
        )
    if complex_required and t.dtype not in _COMPLEX:
        raise KernelInputError(
            f"{name}: expected a complex tensor (complex64 or complex128), got dtype {t.dtype}"
        )
    if t.dtype not in _COMPLEX + _REAL_FLOATS:
        raise KernelInputError(
            f"{name}: expected a floating or complex tensor, got dtype {t.dtype}"
        )
    return t


def _common_complex_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """complex128 when any input is double precision, otherwise complex64."""
    wide = any(t.dtype in (torch.float64, torch.complex128) for t in tensors)
    return torch.complex128 if wide else torch.complex64


def _check_device(named: dict[str, torch.Tensor]) -> torch.device:
    devices = {name: t.device for name, t in named.items()}
    first = next(iter(devices.values()))
    if any(d != first for d in devices.values()):
        given = ", ".join(f"{n} on {d}" for n, d in devices.items())
        raise KernelInputError(
            f"{', '.join(devices)}: expected every tensor on one device, got {given}"
        )
    return first


def _broadcast_batch(named: dict[str, torch.Tensor]) -> torch.Size:
    batches = [t.shape[:-1] for t in named.values()]
    try:
        return broadcast_shapes(*batches)
    except RuntimeError:
        given = ", ".join(f"{n} batch {tuple(t.shape[:-1])}" for n, t in named.items())
        raise KernelInputError(
            f"{', '.join(named)}: expected leading (batch) dimensions that broadcast together, "
            f"got {given}"
        ) from None


def check_flag(name: str, value: object) -> bool:
    """A real bool (``conj='no'`` or ``conj=0`` would silently read as a truth value)."""
    if not isinstance(value, bool):
        raise KernelInputError(f"{name}: expected True or False, got {value!r}")
    return value


def _check_length(L: object) -> int:
    if isinstance(L, bool) or not isinstance(L, int):
        raise KernelInputError(f"L: expected a Python int >= 1, got {L!r}")
    if L < 1:
        raise KernelInputError(f"L: expected L >= 1, got L={L}")
    return L


def _check_same_n(first: tuple[str, torch.Tensor], second: tuple[str, torch.Tensor]) -> int:
    (na, a), (nb, b) = first, second
    if a.shape[-1] != b.shape[-1]:
        raise KernelInputError(
            f"{na}, {nb}: expected {na} and {nb} to share the state size N (last dimension), "
            f"got {na} {_describe(a)} and {nb} {_describe(b)}"
        )
    if a.shape[-1] < 1:
        raise KernelInputError(
            f"{na}: expected a state size N >= 1 (last dimension), got N={a.shape[-1]}"
        )
    return a.shape[-1]


@dataclass(frozen=True)
class CauchyArgs:
    """Checked ``cauchy`` inputs, all of one complex dtype on one device."""

    v: torch.Tensor  # (..., N)
    z: torch.Tensor  # (..., L)
    w: torch.Tensor  # (..., N)
    batch: torch.Size

    @property
    def N(self) -> int:
        return self.v.shape[-1]

    @property
    def L(self) -> int:
        return self.z.shape[-1]


@dataclass(frozen=True)
class VandermondeArgs:
    """Checked ``vandermonde`` / ``vandermonde_transpose`` inputs (u is None for the former)."""

    v: torch.Tensor  # (..., N)
    x: torch.Tensor  # (..., N)
    L: int
    batch: torch.Size
    u: torch.Tensor | None = None  # (..., L)

    @property
    def N(self) -> int:
        return self.v.shape[-1]


def check_cauchy(v: object, z: object, w: object) -> CauchyArgs:
    """v (..., N) real or complex, z (..., L) real or complex, w (..., N) complex poles."""
    v = _check_tensor("v", v, complex_required=False)
    z = _check_tensor("z", z, complex_required=False)
    w = _check_tensor("w", w, complex_required=True)
    _check_device({"v": v, "z": z, "w": w})
    _check_same_n(("v", v), ("w", w))
    if z.shape[-1] < 1:
        raise KernelInputError("z: expected at least one evaluation point (L >= 1), got L=0")
    batch = _broadcast_batch({"v": v, "z": z, "w": w})
    dtype = _common_complex_dtype(v, z, w)
    return CauchyArgs(v=v.to(dtype), z=z.to(dtype), w=w.to(dtype), batch=batch)


def check_vandermonde(v: object, x: object, L: object) -> VandermondeArgs:
    """v (..., N) and x (..., N), real or complex (promoted), L >= 1."""
    v = _check_tensor("v", v, complex_required=False)
    x = _check_tensor("x", x, complex_required=False)
    L = _check_length(L)
    _check_device({"v": v, "x": x})
    _check_same_n(("v", v), ("x", x))
    batch = _broadcast_batch({"v": v, "x": x})
    dtype = _common_complex_dtype(v, x)
    return VandermondeArgs(v=v.to(dtype), x=x.to(dtype), L=L, batch=batch)


def check_vandermonde_transpose(u: object, v: object, x: object, L: object) -> VandermondeArgs:
    """u (..., L), v (..., N), x (..., N), real or complex (promoted), L >= 1."""
    u = _check_tensor("u", u, complex_required=False)
    v = _check_tensor("v", v, complex_required=False)
    x = _check_tensor("x", x, complex_required=False)
    L = _check_length(L)
    if u.shape[-1] != L:
        raise KernelInputError(
            f"u: expected last dimension L={L} (the sequence length), got {_describe(u)}"
        )
    _check_device({"u": u, "v": v, "x": x})
    _check_same_n(("v", v), ("x", x))
    batch = _broadcast_batch({"u": u, "v": v, "x": x})
    dtype = _common_complex_dtype(u, v, x)
    return VandermondeArgs(v=v.to(dtype), x=x.to(dtype), L=L, batch=batch, u=u.to(dtype))
