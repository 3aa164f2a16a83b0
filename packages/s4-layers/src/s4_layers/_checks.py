"""Input checks shared by the functional core and the modules.

Every error is a :class:`S4InputError` (a ``ValueError``) whose message names what was expected
and what was given.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class S4InputError(ValueError):
    """Bad input to an s4_layers function or module (shape, dtype, option name, length)."""


def describe(t: torch.Tensor) -> str:
    return f"shape {tuple(t.shape)}, dtype {t.dtype}"


def check_choice(name: str, value: object, valid: Iterable[str]) -> str:
    valid = tuple(valid)
    if value not in valid:
        raise S4InputError(f"{name}: expected one of {list(valid)}, got {value!r}")
    return value  # type: ignore[return-value]


def check_length(L: object, name: str = "L") -> int:
    if isinstance(L, bool) or not isinstance(L, int) or L < 1:
        raise S4InputError(f"{name}: expected a Python int >= 1, got {L!r}")
    return L


def check_tensor(name: str, t: object, ndim: int, *, complex_: bool | None = None) -> torch.Tensor:
    """A tensor with exactly ``ndim`` dimensions; ``complex_`` True/False forces the kind."""
    if not isinstance(t, torch.Tensor):
        raise S4InputError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dim() != ndim:
        raise S4InputError(f"{name}: expected {ndim} dimensions, got {describe(t)}")
    if complex_ is True and not t.is_complex():
        raise S4InputError(f"{name}: expected a complex tensor, got {describe(t)}")
    if complex_ is False and (t.is_complex() or not t.is_floating_point()):
        raise S4InputError(f"{name}: expected a real floating tensor, got {describe(t)}")
    return t


def check_shape(name: str, t: torch.Tensor, expected: tuple[int | None, ...], what: str) -> None:
    """``expected`` entries of None match any size; ``what`` names the axes, e.g. '(H, N/2)'."""
    ok = t.dim() == len(expected) and all(e is None or e == s for e, s in zip(expected, t.shape))
    if not ok:
        want = tuple("*" if e is None else e for e in expected)
        raise S4InputError(f"{name}: expected shape {what} = {want}, got {describe(t)}")


def check_system(
    dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor | None, C: torch.Tensor | None
) -> tuple[int, int]:
    """dt (H,), A (H, N2) complex, B (H, N2), C (channels, H, N2). Returns (H, N2)."""
    check_tensor("dt", dt, 1, complex_=False)
    check_tensor("A", A, 2, complex_=True)
    H, N2 = A.shape
    check_shape("dt", dt, (H,), "(H,)")
    if B is not None:
        check_tensor("B", B, B.dim() if isinstance(B, torch.Tensor) else 2)
        if B.shape[-2:] != (H, N2):
            raise S4InputError(
                f"B: expected shape (..., H, N/2) = (..., {H}, {N2}), got {describe(B)}"
            )
    if C is not None:
        check_tensor("C", C, 3)
        check_shape("C", C, (None, H, N2), "(channels, H, N/2)")
    return H, N2
