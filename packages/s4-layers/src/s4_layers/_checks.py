"""The one vocabulary of input checks in s4_layers.

Every check takes ``(name, value, ...)`` in that order and raises :class:`S4InputError` (a
``ValueError``) with the message ``"<name>: expected <what>, got <describe(value)>"``.
Checks run once, at the public boundary (module ``forward`` / ``step`` / constructors and the
documented functions of :mod:`s4_layers.functional`); internal helpers trust their inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class S4InputError(ValueError):
    """Bad input to an s4_layers function or module (shape, dtype, option name, length)."""


def describe(value: object) -> str:
    """What was given, for error messages: shape and dtype of a tensor, else its repr."""
    if isinstance(value, torch.Tensor):
        return f"shape {tuple(value.shape)}, dtype {value.dtype}"
    return repr(value) if isinstance(value, (int, float, str, type(None))) else type(value).__name__


def fail(name: str, expected: str, value: object) -> S4InputError:
    """The error every check raises: ``<name>: expected <expected>, got <describe(value)>``."""
    return S4InputError(f"{name}: expected {expected}, got {describe(value)}")


def check_choice(name: str, value: object, valid: Iterable[object]) -> object:
    valid = tuple(valid)
    if value not in valid:
        raise fail(name, f"one of {list(valid)}", value)
    return value


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """A Python int >= ``minimum`` (bool is refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise fail(name, f"a Python int >= {minimum}", value)
    return value


def check_length(L: object, name: str = "L") -> int:
    """A length or count (Python int >= 1): :func:`check_int` with the value first, the
    spelling other modules (pool, SaShiMi, LSSL) call; same message."""
    return check_int(name, L)


def check_even(name: str, value: object) -> int:
    """An even int >= 2 (the state size N: N/2 conjugate pairs)."""
    check_int(name, value, 2)
    if value % 2:  # type: ignore[operator]
        raise fail(name, "an even state size N", value)
    return value  # type: ignore[return-value]


def check_rate(value: object, name: str = "rate") -> float:
    """A finite number > 0 (the sampling-rate factor multiplying dt)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(name, "a finite number > 0", value)
    if not (math.isfinite(value) and value > 0):
        raise fail(name, "a finite number > 0", value)
    return float(value)


def check_tensor(name: str, t: object, ndim: int, *, complex_: bool | None = None) -> torch.Tensor:
    """A tensor with exactly ``ndim`` dimensions; ``complex_`` True/False forces the kind."""
    if not isinstance(t, torch.Tensor):
        raise fail(name, "a torch.Tensor", t)
    if t.dim() != ndim:
        raise fail(name, f"{ndim} dimensions", t)
    if complex_ is True and not t.is_complex():
        raise fail(name, "a complex tensor", t)
    if complex_ is False and (t.is_complex() or not t.is_floating_point()):
        raise fail(name, "a real floating tensor", t)
    return t


def check_shape(name: str, t: object, expected: tuple[int | None, ...], what: str) -> None:
    """``expected`` entries of None match any size; ``what`` names the axes, e.g. '(H, N/2)'."""
    ok = (
        isinstance(t, torch.Tensor)
        and t.dim() == len(expected)
        and all(e is None or e == s for e, s in zip(expected, t.shape))
    )
    if not ok:
        want = tuple("*" if e is None else e for e in expected)
        raise fail(name, f"shape {what} = {want}", t)


def real_dtype_of(dtype: torch.dtype) -> torch.dtype:
    """The real working dtype of the SSM math for parameters of ``dtype``: float32 for the
    16-bit floats (FFTs and complex numbers need it), else ``dtype`` itself."""
    return torch.float32 if dtype in (torch.bfloat16, torch.float16) else dtype


def complex_dtype_of(dtype: torch.dtype) -> torch.dtype:
    """The complex state dtype for parameters of ``dtype``: complex128 for float64, else
    complex64."""
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def check_signal(name: str, x: object, H: int, axis: int, ndim: int, expected: str, dtype):
    """A real signal of ``ndim`` dimensions with ``H`` features on ``axis`` (``expected``
    describes the layout in the message), whose dtype the layer (parameters of ``dtype``) can
    take without losing precision: the layer's own precision or a lower-precision float
    (computed in the layer's precision, returned in the input's dtype)."""
    if not isinstance(x, torch.Tensor) or x.dim() != ndim or x.shape[axis] != H:
        raise fail(name, expected, x)
    if x.is_complex() or not x.is_floating_point():
        raise fail(name, f"a real floating tensor, {expected}", x)
    if torch.finfo(x.dtype).bits > torch.finfo(real_dtype_of(dtype)).bits:
        raise fail(
            name,
            f"dtype {dtype} or lower precision (the layer's parameters are {dtype}; "
            f"convert the input, or the model with model.to({x.dtype}))",
            x,
        )
    return x


def check_state(name: str, state: object, shape: tuple[int, ...], dtype: torch.dtype) -> None:
    """A complex state of exactly ``shape`` (batch, H, N/2) and ``dtype``."""
    if not isinstance(state, torch.Tensor) or tuple(state.shape) != shape:
        raise fail(name, f"complex (batch, H, N/2) = {shape}", state)
    if state.dtype != dtype:
        raise fail(name, f"dtype {dtype} (from default_state of this layer)", state)


def check_system(
    dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor | None, C: torch.Tensor | None
) -> tuple[int, int]:
    """dt (H,), A (H, N2) complex, B (..., H, N2), C (channels, H, N2). Returns (H, N2)."""
    check_tensor("dt", dt, 1, complex_=False)
    check_tensor("A", A, 2, complex_=True)
    H, N2 = A.shape
    check_shape("dt", dt, (H,), "(H,)")
    if B is not None:
        if not isinstance(B, torch.Tensor) or B.dim() < 2 or B.shape[-2:] != (H, N2):
            raise fail("B", f"shape (..., H, N/2) = (..., {H}, {N2})", B)
    if C is not None:
        check_tensor("C", C, 3)
        check_shape("C", C, (None, H, N2), "(channels, H, N/2)")
    return H, N2


def check_signal_bhl(u: object, H: int, name: str = "u") -> torch.Tensor:
    """A real floating input (batch, H, L) of the functional API."""
    if not isinstance(u, torch.Tensor) or u.dim() != 3 or u.shape[1] != H:
        raise fail(name, f"shape (batch, H, L) with H={H}", u)
    if u.is_complex() or not u.is_floating_point():
        raise fail(name, "a real floating tensor (batch, H, L)", u)
    return u


def check_system_state(state: object, H: int, N2: int, batch: int | None = None) -> None:
    """A complex state (batch, H, N/2) of the functional API (``batch`` None: any)."""
    ok = (
        isinstance(state, torch.Tensor)
        and state.is_complex()
        and state.dim() == 3
        and tuple(state.shape[1:]) == (H, N2)
        and (batch is None or state.shape[0] == batch)
    )
    if not ok:
        b = "*" if batch is None else batch
        raise fail("state", f"complex (batch, H, N/2) = ({b}, {H}, {N2})", state)


def check_dt_range(dt_min: object, dt_max: object) -> None:
    """Finite 0 < dt_min <= dt_max (the log-uniform initialisation range of dt)."""
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (dt_min, dt_max))
    if not (ok and math.isfinite(dt_max) and 0 < dt_min <= dt_max):  # type: ignore[operator]
        raise S4InputError(
            f"dt_min, dt_max: expected finite 0 < dt_min <= dt_max, got {dt_min!r}, {dt_max!r}"
        )
