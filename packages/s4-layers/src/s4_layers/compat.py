r"""Drop-in compatibility with the original state-spaces/s4 layers.

:func:`official_kwargs` maps the original constructor arguments (S4Block, FFTConv, the kernels,
S4D, SequenceModel) to ours; :func:`load_official_state_dict` loads an original state dict into
one of our modules so that it computes the same function. The mapping, key by key:

=================================  ============================================================
original                           ours
=================================  ============================================================
``kernel.inv_dt`` (H, 1)           ``kernel.log_dt`` (H,) (``inv_dt`` for other dt transforms)
``kernel.A_real`` (S, N/2)         ``kernel.A_real`` (same values)
``kernel.A_imag`` (S, N/2)         ``kernel.A_imag`` (same values: see the conjugate half below)
``kernel.B`` (1, S, N/2, 2)        ``kernel.B`` (S, N/2, 2), conjugated
``kernel.P`` (r, S, N/2, 2)        ``kernel.P``, conjugated
``kernel.C`` (c, H, N/2, 2)        ``kernel.C``, conjugated; DPLR: C = C~ (I - Abar^L)^{-1}
``kernel.l_kernel`` ()             consumed (the L of C~); 0 means C is still the true C
``output_linear.0.*``              ``output_linear.linear.*``
``input_gate.0.*``, ``output_gate.*``, ``input_linear.*``   ``<name>.linear.*``
S4D ``kernel.{log_dt, log_A_real, A_imag, C}``, ``output_linear.0.weight`` (2H, H, 1)
                                   ``{log_dt, log_A_real, A_imag, C}``, ``output_linear.weight``
=================================  ============================================================

Conjugate half: a state of size N is stored as N/2 complex entries, one of each conjugate pair.
The original's SSMKernelDiag/DPLR keep the half with Im(A) <= 0 (A = -f(A_real) - i g(A_imag)),
ours the half with Im(A) >= 0 (A = -f(A_real) + i g(A_imag)). Conjugating every complex
parameter (A, B, P, C) maps one half onto the other and leaves the real system unchanged; A_imag
stores g^{-1}(|Im A|) in both, so it is copied as is. (The original's S4D file already keeps
Im(A) >= 0: nothing is conjugated there.)

C-tilde: the original's DPLR kernel stores C~ = C (I - Abar^{L_k}) for its ``l_kernel`` L_k (the
truncated generating function, doubled lengths included: (I - Abar^L)(I + Abar^L) =
I - Abar^{2L}); ours stores the true C, so C = C~ (I - Abar^{L_k})^{-1}, solved in float64 in the
real interleaved basis of the full conjugate system with our own discretisation.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from s4_layers._checks import S4InputError, check_choice, describe
from s4_layers.functional.discretize import (
    dplr_bilinear_terms,
    output_to_real,
    real_to_complex,
)
from s4_layers.kernel_base import SSMKernelBase, _forward_transform, _inverse_transform

# the original's kernel names (FFTConv ``mode=`` / ``kernel=``) -> ours
_MODES = {"dplr": "dplr", "nplr": "dplr", "s4": "dplr", "diag": "diag", "s4d": "diag"}
# the original's Vandermonde / Cauchy backends -> ours (its cuda/keops fall back when absent)
_BACKENDS = {"cuda": None, "keops": None, "naive": "torch"}
# renamed options of the original (deprecated aliases there): old -> new
_ALIASES = {"measure": "init", "kernel": "mode", "N": "d_state", "postact": "final_act"}
# the original classes official_kwargs / load_official_state_dict know
MODULES = ("S4Block", "FFTConv", "S4D", "SequenceModel")
# options of the original that only steer logging or registries
_DROPPED = ("verbose", "_name_")


def official_kwargs(kwargs: Mapping[str, Any], module: str = "S4Block") -> dict[str, Any]:
    """Our constructor kwargs for ``module`` from the original's ``kwargs``.

    Renames (measure -> init, kernel -> mode, N -> d_state, postact -> final_act), kernel names
    (s4/nplr -> dplr, s4d -> diag), backends (naive -> "torch", cuda/keops -> None: the best
    available, which is what the original falls back to) and drops logging-only options
    (verbose, _name_). Options whose meaning is the same pass through unchanged. Options the
    original accepts and ignores (``disc`` of a DPLR kernel: always bilinear there) are dropped
    with a warning; options we leave out raise :class:`S4InputError` naming them.
    """
    if not isinstance(kwargs, Mapping):
        raise S4InputError(f"kwargs: expected a mapping, got {type(kwargs).__name__}")
    check_choice("module", module, MODULES)
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in kwargs.items():
        if key in _DROPPED:
            continue
        new = _ALIASES.get(key, key)
        if new in out and out[new] != value:
            raise S4InputError(
                f"{new}: expected one of {origin[new]!r} / {key!r} (aliases), got both"
            )
        out[new], origin[new] = value, key
    if module == "S4D":
        return _s4d_kwargs(out)
    if module == "SequenceModel":
        return _sequence_model_kwargs(out)
    return _layer_kwargs(out)


def _layer_kwargs(out: dict[str, Any]) -> dict[str, Any]:
    if "mode" in out:
        mode = out["mode"]
        if mode not in _MODES:
            raise S4InputError(
                f"mode: expected one of {sorted(_MODES)} (the dense / real test kernels of the "
                f"original are not ported), got {mode!r}"
            )
        out["mode"] = _MODES[mode]
    if "backend" in out:
        if out["backend"] not in _BACKENDS:
            raise S4InputError(
                f"backend: expected one of {list(_BACKENDS)}, got {out['backend']!r}"
            )
        out["backend"] = _BACKENDS[out["backend"]]
    if out.get("mode", "dplr") == "dplr" and out.get("disc", "bilinear") != "bilinear":
        warnings.warn(
            f"disc={out['disc']!r} is ignored by the original's DPLR kernel (always bilinear); "
            "dropped",
            stacklevel=3,
        )
        out.pop("disc")
    for key in ("hyper_act", "linear", "use_pointwise"):
        if key in out:
            raise S4InputError(
                f"{key}: expected an option of the current original S4Block (this option of "
                "older versions is not ported, see docs/porting.md), got it"
            )
    return out


def _s4d_kwargs(out: dict[str, Any]) -> dict[str, Any]:
    allowed = {"d_model", "d_state", "dropout", "transposed", "lr"}
    init_only = {"dt_min", "dt_max"}
    for key in set(out) & init_only:
        warnings.warn(
            f"S4D: {key} only shapes the initialisation (fixed [1e-3, 1e-1] here); dropped",
            stacklevel=3,
        )
        out.pop(key)
    unknown = set(out) - allowed
    if unknown:
        raise S4InputError(
            f"S4D kwargs: expected keys among {sorted(allowed)}, got {sorted(unknown)}"
        )
    return out


def _sequence_model_kwargs(out: dict[str, Any]) -> dict[str, Any]:
    layer = out.get("layer")
    if isinstance(layer, Mapping):
        out["layer"] = official_kwargs(layer, "S4Block")
    elif isinstance(layer, (list, tuple)):
        out["layer"] = [official_kwargs(item, "S4Block") for item in layer]
    return out


# ---------------------------------------------------------------------------------------------
# state dicts


def _conj(t: torch.Tensor) -> torch.Tensor:
    """Conjugate a view_as_real tensor (..., 2)."""
    return torch.stack([t[..., 0], -t[..., 1]], -1)


def _linear_renames() -> list[tuple[re.Pattern, str]]:
    """(pattern, replacement) pairs for the original's LinearActivation keys."""
    rules = [
        # Sequential(Linear, Activation) -> our _PointwiseLinear.linear
        (
            r"^(.*\b(?:output_linear|input_gate))\.0\.(weight|bias|weight_g|weight_v)$",
            r"\1.linear.\2",
        ),
        # plain Linear (no activation) -> _PointwiseLinear.linear
        (r"^(.*\b(?:output_gate|input_linear))\.(weight|bias|weight_g|weight_v)$", r"\1.linear.\2"),
    ]
    return [(re.compile(p), r) for p, r in rules]


def _weight_norm_key(key: str, ours: Mapping[str, torch.Tensor]) -> str:
    """The original's nn.utils.weight_norm keys (weight_g / weight_v) -> parametrizations."""
    for old, new in (("weight_g", "original0"), ("weight_v", "original1")):
        if key.endswith("." + old):
            candidate = key[: -len(old)] + "parametrizations.weight." + new
            if candidate in ours:
                return candidate
    return key


def _kernels(module: nn.Module) -> dict[str, SSMKernelBase]:
    return {
        name + "." if name else "": m
        for name, m in module.named_modules()
        if isinstance(m, SSMKernelBase)
    }


def _map_kernel(
    prefix: str,
    kernel: SSMKernelBase,
    sd: dict[str, torch.Tensor],
    out: dict[str, torch.Tensor],
) -> int | None:
    """Move the original kernel keys under ``prefix`` from ``sd`` into ``out`` (ours).
    Returns the stored ``l_kernel`` (None when absent)."""

    def take(name: str) -> torch.Tensor | None:
        return sd.pop(prefix + name, None)

    l_kernel = take("l_kernel")
    inv_dt = take("inv_dt")
    if inv_dt is None:
        inv_dt = take("log_dt")  # older original versions stored log dt
        if inv_dt is not None:
            inv_dt = _inverse_transform(kernel.dt_transform, inv_dt.exp())
    if inv_dt is not None:
        if kernel.dt_tie and inv_dt.dim() == 2 and inv_dt.shape[-1] == 1:
            inv_dt = inv_dt.squeeze(-1)  # (H, 1) -> (H,)
        out[prefix + kernel._dt_name] = inv_dt
    for name in ("A_real", "A_imag"):
        t = take(name)
        if t is not None:
            out[prefix + name] = t
    B = take("B")
    if B is not None:
        if B.dim() == (3 if kernel.is_real else 4) and B.shape[0] == 1:
            B = B.squeeze(0)  # (1, S, N/2[, 2]) -> (S, N/2[, 2])
        out[prefix + "B"] = B if kernel.is_real else _conj(B)
    P = take("P")
    if P is not None:
        out[prefix + "P"] = _conj(P)
    C = take("C")
    if C is not None:
        out[prefix + "C"] = C if kernel.is_real else _conj(C)
    return None if l_kernel is None else int(l_kernel)


@torch.no_grad()
def _true_C(kernel: SSMKernelBase, C_tilde: torch.Tensor, L: int) -> torch.Tensor:
    """C = C~ (I - Abar^L)^{-1} for a DPLR kernel whose other parameters are loaded.
    C_tilde (channels, H, N/2, 2) -> (channels, H, N/2, 2), computed in float64."""
    dt = kernel.dt().double()
    A, P, B = kernel.A().to(torch.complex128), kernel.P_c().to(torch.complex128), kernel.B_c()
    M = dplr_bilinear_terms(dt, A, P, B.to(torch.complex128), L)["one_minus_power"]  # (H,N,N)
    # C~_real = C_real M  <=>  M^T C_real^T = C~_real^T  (C_real: the real row of 2 Re(C x))
    ct_real = output_to_real(torch.view_as_complex(C_tilde.double().contiguous()))  # (c, H, N)
    c_real = torch.linalg.solve(M.transpose(-1, -2).unsqueeze(0), ct_real.unsqueeze(-1))
    C = real_to_complex(c_real.squeeze(-1) / 2).conj().resolve_conj()
    return torch.view_as_real(C).to(C_tilde.dtype)


def _map_s4d(sd: dict[str, torch.Tensor], out: dict[str, torch.Tensor]) -> None:
    for name in ("log_dt", "log_A_real", "A_imag", "C"):
        t = sd.pop("kernel." + name, None)
        if t is not None:
            out[name] = t  # the original S4D keeps Im(A) >= 0 too: no conjugation
    W = sd.pop("output_linear.0.weight", None)
    if W is not None:
        out["output_linear.weight"] = W.squeeze(-1) if W.dim() == 3 else W  # Conv1d k=1
    b = sd.pop("output_linear.0.bias", None)
    if b is not None:
        out["output_linear.bias"] = b


def convert_state_dict(
    module: nn.Module, state_dict: Mapping[str, torch.Tensor], L: int | None = None
) -> dict[str, torch.Tensor]:
    """Our state dict for ``module`` from an original state dict (see the module docstring).

    ``L``: the length of C-tilde for DPLR kernels when the checkpoint has no ``l_kernel``.
    Raises :class:`S4InputError` for keys that do not map, shapes that differ (naming the key)
    and a DPLR checkpoint without ``l_kernel`` and without ``L``.
    """
    if not isinstance(state_dict, Mapping):
        raise S4InputError(f"state_dict: expected a mapping, got {type(state_dict).__name__}")
    from s4_layers.s4d import S4D  # local: s4d imports the functional core only

    sd = {k: v for k, v in state_dict.items()}
    ours = module.state_dict()
    out: dict[str, torch.Tensor] = {}
    pending_C: dict[str, int | None] = {}
    if isinstance(module, S4D):
        _map_s4d(sd, out)
    else:
        for prefix, kernel in _kernels(module).items():
            l_kernel = _map_kernel(prefix, kernel, sd, out)
            if kernel.mode == "dplr" and prefix + "C" in out:
                if l_kernel is None and L is None:
                    raise S4InputError(
                        f"{prefix}l_kernel: expected the DPLR kernel's stored length (or pass "
                        "L=, the length the checkpoint's C-tilde was computed for), got neither"
                    )
                pending_C[prefix] = L if l_kernel is None else l_kernel
    rules = _linear_renames()
    for key, value in sd.items():
        new = key
        for pattern, repl in rules:
            new = pattern.sub(repl, new)
        out[_weight_norm_key(new, ours)] = value
    unknown = sorted(set(out) - set(ours))
    if unknown:
        raise S4InputError(
            f"state_dict: expected keys of the original {type(module).__name__} that map onto "
            f"ours, got unknown key(s) {unknown}"
        )
    missing = sorted(set(ours) - set(out))
    if missing:
        raise S4InputError(
            f"state_dict: expected every parameter of our {type(module).__name__} to be "
            f"covered, got none for {missing} (was the module built from official_kwargs of "
            "the same configuration?)"
        )
    for key, value in out.items():
        if tuple(value.shape) != tuple(ours[key].shape):
            raise S4InputError(
                f"{key}: expected shape {tuple(ours[key].shape)} (our module), got "
                f"{describe(value)} after mapping the original's tensor"
            )
    # C-tilde -> C needs the loaded (dt, A, P, B) of each DPLR kernel
    kernels = _kernels(module)
    if pending_C:
        staged = {k: v for k, v in out.items()}
        module.load_state_dict(staged)
        for prefix, Lk in pending_C.items():
            if Lk:  # l_kernel == 0: the original never built C-tilde, C is the true C
                out[prefix + "C"] = _true_C(kernels[prefix], out[prefix + "C"], Lk)
    return out


def load_official_state_dict(
    module: nn.Module, state_dict: Mapping[str, torch.Tensor], L: int | None = None
) -> nn.Module:
    """Load an original state-spaces/s4 ``state_dict`` (S4Block, FFTConv, S4D or a
    SequenceModel of S4 blocks) into our ``module``, built with :func:`official_kwargs` of the
    same constructor arguments. Returns ``module``; its output matches the original's.

    Example::

        ours = S4Block(**official_kwargs(orig_kwargs))
        load_official_state_dict(ours, torch.load("orig.pt", weights_only=True))
    """
    module.load_state_dict(convert_state_dict(module, state_dict, L=L))
    for kernel in _kernels(module).values():
        kernel._step_cache = None  # parameters changed: any cached step matrices are stale
    return module


def dt_from_official(inv_dt: torch.Tensor, transform: str = "exp") -> torch.Tensor:
    """dt of an original ``inv_dt`` under its ``dt_transform`` (for inspection)."""
    return _forward_transform(transform, inv_dt)


@torch.no_grad()
def ctilde_kernel_reference(
    dt: torch.Tensor,
    A: torch.Tensor,
    P: torch.Tensor,
    B: torch.Tensor,
    C_tilde: torch.Tensor,
    L: int,
) -> torch.Tensor:
    r"""The original's DPLR kernel from its stored C-tilde, evaluated densely in float64.

    Khat(z_k) = C~ (I - Abar z_k)^{-1} Bbar at z_k = exp(-2 pi i k / L), K = ifft(Khat) (the
    truncated generating function the original evaluates by Cauchy + Woodbury), with the full
    (N, N) bilinear system in the real basis. dt (H,), A (H, N/2), P (rank, H, N/2),
    B (H, N/2), C_tilde (channels, H, N/2) complex, in our conjugate half ->
    K (channels, H, L) float64. Independent of :func:`convert_state_dict`'s inversion, so the
    tests use it to separate our error from the original's own float32 error.
    """
    from s4_layers.functional.discretize import dplr_bilinear_dense

    c128 = torch.complex128
    E, dB = dplr_bilinear_dense(dt.double(), A.to(c128), P.to(c128), B.to(c128))
    ct = output_to_real(C_tilde.to(c128)).to(c128)  # (c, H, N)
    z = torch.exp(-2j * torch.pi * torch.arange(L, dtype=torch.float64) / L)
    eye = torch.eye(E.shape[-1], dtype=c128)
    dA = eye.real + E  # Abar = I + E
    lhs = eye - dA.unsqueeze(1).to(c128) * z.view(1, L, 1, 1)  # (H, L, N, N)
    rhs = dB.to(c128).unsqueeze(1).unsqueeze(-1).expand(-1, L, -1, -1)
    resolvent_b = torch.linalg.solve(lhs, rhs).squeeze(-1)  # (H, L, N)
    khat = torch.einsum("chn,hln->chl", ct, resolvent_b)
    return torch.fft.ifft(khat, dim=-1).real


__all__ = [
    "convert_state_dict",
    "ctilde_kernel_reference",
    "dt_from_official",
    "load_official_state_dict",
    "official_kwargs",
]
