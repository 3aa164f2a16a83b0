r"""Initialisations of S4 (DPLR) and S4D (diagonal) state space layers.

:func:`dplr` returns ``(Lambda, P, B, V)`` for ``H`` independent copies (one per channel of a
layer), each a system ``x' = (diag(Lambda) - P^T conj(P)) x + B u``. Every name that exists in
the original state-spaces/s4 (``hippo.ssm`` / ``hippo.dplr`` / ``hippo.combination``) builds
the same system there, up to the conjugate-half convention: the original keeps the half of
each conjugate pair with ``Im(Lambda) <= 0``, we return the complex conjugate of that half
(``Im(Lambda) >= 0``; every complex array is conjugated, so e.g. ``unit-cw`` is
``exp(+2 pi i n / N)`` here). The full system is ``[Lambda, conj Lambda]`` and so on.

============== =================================================================================
init           system (n = 0 .. N/2 - 1; rv = real_value = 1/2, s = imag_scale = 1 by default)
============== =================================================================================
legs, legsd,   NPLR form of that HiPPO measure (:func:`~hippo_core.nplr`, ``B_clip`` applied):
legt, lagt,    S4-LegS, S4-LegT (rank >= 2), S4-FouT, ... ``fourier`` = ``fout``,
tlagt, fout,   ``fourier_diag`` = ``foud``
fourier2,
fourier_decay,
foud
lin            S4D-Lin: Lambda_n = -rv + i s pi n
inv            S4D-Inv: Lambda_n = -rv + i s (N/pi) (N / (2n+1) - 1)
inv2           Lambda_n = -rv + i s (N/pi) (N / (n+1) - 1)
quad           Lambda_n = -rv + i s (2n+1)^2 / pi
real           S4D-Real: Lambda_n = -(n + 1)
rand           Lambda_n = -rv + i s exp(z_n), z_n ~ N(0, 1) (seeded; ``random`` is an alias)
diag-X         X with P = 0. X an eigenvalue init above (B from ``B_init``), or ``legs``
               (S4D-LegS: Lambda = -rv + i s Im(Lambda_legs), B = the NPLR B of LegS), or
               any HiPPO measure above (Lambda = -rv + i s Im(Lambda_X), B = its NPLR B)
dplr-X         X (an eigenvalue init, or ``legs`` / ``hippo``) with a random low-rank term
               P ~ P_scale CN(0, 1), P_scale = 1 by default
hippo          half the copies ``legs``, half ``fourier`` (the original's combination)
diag           half ``diag-inv``, half ``diag-lin`` (what the original recommends for S4D)
all            a quarter each of ``legs``, ``fourier``, ``diag-inv``, ``diag-lin``
============== =================================================================================

The bare eigenvalue inits (``lin``, ``inv``, ...) are ours: the same eigenvalues with P drawn
``P_scale * CN(0, 1)`` and ``P_scale`` = 0 by default. ``CN(0, 1)`` has independent real and
imaginary parts of variance 1/2 (``torch.randn`` with a complex dtype).

Options (keyword arguments):

- ``real_value`` (float > 0, default 0.5): the real part ``-real_value`` of every eigenvalue
  init and every ``diag-*`` init (the original's ``0.5 * real_scale``).
- ``imag_scale`` (float >= 0, default 1.0): multiplies the imaginary parts (every init).
- ``P_scale`` (float >= 0): scale of the random P (eigenvalue and ``dplr-*`` inits).
- ``B_init`` (eigenvalue inits): ``constant`` (1, the default), ``random`` (CN(0, 1)),
  ``alternating`` (1, -1, 1, -1, ...), ``unit-cw`` / ``unit-ccw`` (the N-th roots of unity
  ``exp(-+ 2 pi i n / N)`` of the original, conjugated here); ``B_scale`` (default 1)
  multiplies it.
- ``B_clip`` (float > 0 or None, default 2.0): clips ``Im(B)`` of the HiPPO-derived B.
- ``seed`` (int >= 0 or None): seeds every random draw.
- ``measure_kw`` (dict): parameters of the HiPPO measure (e.g. ``{"theta": 1.0}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from hippo_core._checks import (
    check_choice,
    check_even,
    check_int,
    check_real,
    check_seed,
    reject_unknown,
)
from hippo_core.nplr import MIN_RANK, nplr

HIPPO_INITS: tuple[str, ...] = (
    "legs",
    "legsd",
    "legt",
    "lagt",
    "tlagt",
    "fout",
    "fourier2",
    "fourier_decay",
    "foud",
)
"""Inits that are the NPLR form of a HiPPO measure."""

DIAGONAL_INITS: tuple[str, ...] = ("lin", "inv", "inv2", "quad", "real", "rand")
"""Inits given by a closed-form list of eigenvalues (S4D)."""

DPLR_INITS: tuple[str, ...] = (
    HIPPO_INITS
    + DIAGONAL_INITS
    + tuple(f"diag-{name}" for name in HIPPO_INITS + DIAGONAL_INITS)
    + tuple(f"dplr-{name}" for name in ("legs", *DIAGONAL_INITS))
)
"""Every canonical single init (one system for all copies); aliases in :data:`INIT_ALIASES`."""

_BASE_ALIASES = {
    "fourier": "fout",
    "fourier_diag": "foud",
    "hippo": "legs",
    "random": "rand",
    "linear": "lin",
    "inverse": "inv",
    "inverse2": "inv2",
    "quadratic": "quad",
}

INIT_ALIASES: dict[str, str] = {
    f"{prefix}{alias}": f"{prefix}{target}"
    for prefix in ("", "diag-", "dplr-")
    for alias, target in _BASE_ALIASES.items()
    if f"{prefix}{target}" in DPLR_INITS and not (prefix == "" and alias == "hippo")
} | {"dplr": "dplr-legs"}
"""The original's other spellings of the same init (``fourier`` = ``fout``, ...)."""

COMBINATIONS: dict[str, tuple[str, ...]] = {
    "hippo": ("legs", "fout"),
    "diag": ("diag-inv", "diag-lin"),
    "all": ("legs", "fout", "diag-inv", "diag-lin"),
}
"""Inits that split the ``H`` copies evenly between several inits, as the original."""

INITS: tuple[str, ...] = DPLR_INITS + tuple(INIT_ALIASES) + tuple(COMBINATIONS)
"""Every name :func:`dplr` accepts."""

B_INITS: tuple[str, ...] = ("constant", "random", "alternating", "unit-cw", "unit-ccw")

_OPTIONS = (
    "real_value",
    "imag_scale",
    "P_scale",
    "B_init",
    "B_scale",
    "B_clip",
    "seed",
    "measure_kw",
)


class DPLR(NamedTuple):
    """``A[h] = diag(Lambda[h]) - sum_r P[r, h, :, None] * conj(P[r, h, None, :])``.

    Attributes:
        Lambda: ``(H, N//2)`` complex128 diagonal part.
        P: ``(rank, H, N//2)`` complex128 low-rank factor (zeros for diagonal inits).
        B: ``(H, N//2)`` complex128 input matrix.
        V: ``(N, N//2)`` complex128 basis change from the HiPPO state (``x_hippo =
            V_f x``), or ``None`` for inits not derived from one HiPPO matrix.
    """

    Lambda: np.ndarray
    P: np.ndarray
    B: np.ndarray
    V: np.ndarray | None


def _complex_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """CN(0, 1): real and imaginary parts independent N(0, 1/2)."""
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)


def _eigenvalue_imag(init: str, N: int, H: int, rng: np.random.Generator) -> np.ndarray:
    """Imaginary parts ``(H, N//2)`` of the closed-form eigenvalue inits (module table)."""
    n = np.broadcast_to(np.arange(N // 2, dtype=np.float64), (H, N // 2))
    if init == "lin":
        return np.pi * n
    if init == "inv":
        return N / np.pi * (N / (2 * n + 1) - 1)
    if init == "inv2":
        return N / np.pi * (N / (n + 1) - 1)
    if init == "quad":
        return (2 * n + 1) ** 2 / np.pi
    if init == "rand":
        return np.exp(rng.standard_normal((H, N // 2)))
    return np.zeros((H, N // 2))  # real


def _b_init(name: str, N: int, H: int, rng: np.random.Generator) -> np.ndarray:
    """B ``(H, N//2)`` for the eigenvalue inits (conjugate of the original's)."""
    n = np.arange(N // 2)
    if name == "constant":
        return np.ones((H, N // 2), dtype=np.complex128)
    if name == "random":
        return _complex_normal(rng, (H, N // 2))
    if name == "alternating":
        return np.broadcast_to((-1.0) ** n, (H, N // 2)).astype(np.complex128)
    # unit-cw: the original's exp(-2 pi i n / N); conjugated, it turns the other way here
    sign = 1.0 if name == "unit-cw" else -1.0
    return np.broadcast_to(np.exp(sign * 2j * np.pi * n / N), (H, N // 2)).astype(np.complex128)


def _single(init: str, N: int, rank: int, H: int, opts: dict[str, Any], rng) -> DPLR:
    """One canonical init (a member of :data:`DPLR_INITS`) for ``H`` copies."""
    prefix, _, base = init.rpartition("-") if init[:5] in ("diag-", "dplr-") else ("", "", init)
    real_value, imag_scale = opts["real_value"], opts["imag_scale"]
    if base in HIPPO_INITS:
        form_rank = max(rank, MIN_RANK[base]) if prefix else rank  # diag-/dplr- discard P
        form = nplr(base, N, form_rank, B_clip=opts["B_clip"], **opts["measure_kw"])
        real = form.Lambda.real if not prefix else np.full(N // 2, -real_value)
        Lambda = np.broadcast_to(real + 1j * imag_scale * form.Lambda.imag, (H, N // 2))
        B = np.broadcast_to(form.B, (H, N // 2))
        P = np.broadcast_to(form.P[:, None, :], (rank, H, N // 2)) if not prefix else None
        V = form.V
    else:
        imag = imag_scale * _eigenvalue_imag(base, N, H, rng)
        if base == "real":
            Lambda = -(np.arange(N // 2) + 1.0) + 1j * imag
        else:
            Lambda = -real_value + 1j * imag
        B = opts["B_scale"] * _b_init(opts["B_init"], N, H, rng)
        P, V = None, None
    if P is None:
        P_scale = 0.0 if prefix == "diag" else opts["P_scale"]
        P = P_scale * _complex_normal(rng, (rank, H, N // 2))
    return DPLR(np.asarray(Lambda), np.asarray(P), np.asarray(B), V)


def _options(init: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Validate and default the keyword options once."""
    reject_unknown(f"dplr({init!r})", kwargs, _OPTIONS)
    fixed_P = init in HIPPO_INITS or init in COMBINATIONS or init.startswith("diag-")
    if fixed_P and "P_scale" in kwargs:
        raise ValueError(
            f"P_scale: expected no value for init {init!r} (its P is the NPLR correction or "
            f"zero; use a 'dplr-*' init for a random P), got {kwargs['P_scale']!r}"
        )
    opts = {
        "real_value": check_real("real_value", kwargs.get("real_value", 0.5), positive=True),
        "imag_scale": check_real("imag_scale", kwargs.get("imag_scale", 1.0), minimum=0.0),
        "P_scale": check_real(
            "P_scale", kwargs.get("P_scale", 1.0 if init.startswith("dplr") else 0.0), minimum=0.0
        ),
        "B_init": check_choice("B_init", kwargs.get("B_init", "constant"), B_INITS),
        "B_scale": check_real("B_scale", kwargs.get("B_scale", 1.0)),
        "B_clip": kwargs.get("B_clip", 2.0),
        "seed": check_seed("seed", kwargs.get("seed")),
        "measure_kw": kwargs.get("measure_kw") or {},
    }
    if not isinstance(opts["measure_kw"], Mapping):
        raise ValueError(
            f"measure_kw: expected a dict of measure parameters, got {opts['measure_kw']!r}"
        )
    opts["measure_kw"] = dict(opts["measure_kw"])
    if opts["B_clip"] is not None:
        opts["B_clip"] = check_real("B_clip", opts["B_clip"], positive=True)
    return opts


def dplr(init: str, N: int, rank: int = 1, H: int = 1, **kwargs: Any) -> DPLR:
    """Diagonal-plus-low-rank initialisation for ``H`` copies of an ``N``-state SSM.

    Args:
        init: one of :data:`INITS` (see the module docstring).
        N: even state size (the full real system; ``N//2`` complex pairs are returned).
        rank: rank of the low-rank term (``legt`` needs at least 2).
        H: number of copies (channels). Random draws differ per copy; combinations
            (``hippo``, ``diag``, ``all``) need ``H`` divisible by their number of parts.
        **kwargs: ``real_value``, ``imag_scale``, ``P_scale``, ``B_init``, ``B_scale``,
            ``B_clip``, ``seed``, ``measure_kw`` (module docstring).

    Returns:
        :class:`DPLR` ``(Lambda (H, N//2), P (rank, H, N//2), B (H, N//2), V)``.
    """
    check_choice("init", init, INITS)
    N = check_even("N", check_int("N", N))
    rank = check_int("rank", rank)
    H = check_int("H", H)
    init = INIT_ALIASES.get(init, init)
    opts = _options(init, kwargs)
    rng = np.random.default_rng(opts["seed"])
    if init in COMBINATIONS:
        parts = COMBINATIONS[init]
        if H % len(parts):
            raise ValueError(
                f"H: expected a multiple of {len(parts)} for init {init!r} (copies split "
                f"evenly between {', '.join(parts)}), got {H}"
            )
        systems = [_single(part, N, rank, H // len(parts), opts, rng) for part in parts]
        return DPLR(
            Lambda=np.concatenate([s.Lambda for s in systems]).astype(np.complex128),
            P=np.concatenate([s.P for s in systems], axis=1).astype(np.complex128),
            B=np.concatenate([s.B for s in systems]).astype(np.complex128),
            V=None,
        )
    system = _single(init, N, rank, H, opts, rng)
    return DPLR(
        Lambda=np.array(system.Lambda, dtype=np.complex128),
        P=np.array(system.P, dtype=np.complex128),
        B=np.array(system.B, dtype=np.complex128),
        V=None if system.V is None else np.array(system.V, dtype=np.complex128),
    )
