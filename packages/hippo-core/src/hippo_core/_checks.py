"""Argument checks shared by every public function: clear ``ValueError`` messages."""

from __future__ import annotations

import numbers
from collections.abc import Iterable


def check_choice(kind: str, name: object, valid: Iterable[str]) -> str:
    """Return ``name`` if it is one of ``valid``; else raise naming the valid choices."""
    valid = tuple(valid)
    if not isinstance(name, str) or name not in valid:
        raise ValueError(f"unknown {kind} {name!r}; expected one of: {', '.join(valid)}")
    return name


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """An integer (not bool, not float) that is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def check_even(name: str, value: int) -> int:
    """State sizes stored as conjugate pairs must be even."""
    if value % 2:
        raise ValueError(
            f"{name} must be even (the state is stored as {name}//2 conjugate pairs), got {value}"
        )
    return value


def check_real(name: str, value: object, positive: bool = False) -> float:
    """A real number (optionally > 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return float(value)


def reject_unknown(where: str, kwargs: dict, allowed: Iterable[str]) -> None:
    """Raise if ``kwargs`` holds keys outside ``allowed`` (misspelt options fail loudly)."""
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        allowed_text = ", ".join(sorted(allowed)) or "none"
        raise ValueError(f"{where}: unknown option(s) {unknown}; expected: {allowed_text}")
