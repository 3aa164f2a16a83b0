"""Argument checks for every public function: one vocabulary, one message template.

Every check takes ``(name, value, ...)``, returns the cleaned value, and raises ``ValueError``
with the message ``<name>: expected ..., got ...`` (the same template as s4-layers and
ssm-kernels), so a caller always learns which argument was wrong, what was wanted and what
arrived.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np


def describe(value: object) -> str:
    """Short description of a value for an error message: arrays by shape and dtype."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"{value!r} ({type(value).__name__})"


def check_choice(name: str, value: object, valid: Iterable[str]) -> str:
    """``value`` if it is one of ``valid``."""
    valid = tuple(valid)
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"{name}: expected one of {', '.join(valid)}, got {value!r}")
    return value


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """An integer (not bool, not float) that is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an int >= {minimum}, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def check_even(name: str, value: int) -> int:
    """State sizes stored as conjugate pairs must be even."""
    if value % 2:
        raise ValueError(
            f"{name}: expected an even size (the state is stored as {name}//2 conjugate "
            f"pairs), got {value}"
        )
    return value


def check_real(
    name: str,
    value: object,
    *,
    positive: bool = False,
    minimum: float | None = None,
    below: float | None = None,
) -> float:
    """A finite real number; optionally ``> 0``, ``>= minimum`` and ``< below``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a finite real number, got {describe(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite real number, got {value}")
    if positive and not value > 0:
        raise ValueError(f"{name}: expected a number > 0, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected a number >= {minimum}, got {value}")
    if below is not None and not value < below:
        raise ValueError(f"{name}: expected a number < {below}, got {value}")
    return float(value)


def check_seed(name: str, value: object) -> int | None:
    """``None`` (fresh entropy) or an int >= 0, as numpy's generators accept."""
    if value is None:
        return None
    return check_int(name, value, minimum=0)


def check_finite_array(name: str, value: object) -> np.ndarray:
    """A numeric array with no NaN or inf entries."""
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype, np.bool_)):
        raise ValueError(f"{name}: expected a numeric array, got {describe(array)}")
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ValueError(f"{name}: expected finite entries, got {bad} NaN/inf of {array.size}")
    return array


def reject_unknown(where: str, kwargs: dict, allowed: Iterable[str]) -> None:
    """Raise if ``kwargs`` holds keys outside ``allowed`` (misspelt options fail loudly)."""
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        allowed_text = ", ".join(sorted(allowed)) or "no options"
        raise ValueError(f"{where}: expected options among {allowed_text}, got unknown {unknown}")
