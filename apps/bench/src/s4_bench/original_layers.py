"""The original state-spaces/s4 standalone layers, loaded from a user's checkout, and the
same layer built from either side (the original's or ours) for ``s4-bench original``.

Two adapters make the original run on a CPU machine, both outside its file: its pykeops calls
pass ``backend='GPU'``, which fails without CUDA, so ``Genred`` calls are sent to keops' CPU
backend there; and its DPLR kernel reads a ``kernel`` attribute (its Cauchy backend) that its
constructor does not set, so the suite sets it. ``s4d.py`` imports ``DropoutNd`` from the full
repository's ``src.models.nn``; where that is absent the suite provides it from ``s4.py``.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

N_CLASSES = 10


# ---------------------------------------------------------------------------------------------
# loading the original


def _import_file(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except ImportError as err:
        del sys.modules[name]
        raise SystemExit(
            f"s4-bench original: {path} needs {err.name or err} (pip install it; the original's "
            "s4.py imports einops and pytorch_lightning)"
        ) from None
    return module


def _provide_dropout_nd(s4: types.ModuleType) -> None:
    """s4d.py does ``from src.models.nn import DropoutNd`` (the full repository's module)."""
    try:
        importlib.import_module("src.models.nn")
        return
    except ImportError:
        pass
    for name in ("src", "src.models", "src.models.nn"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["src.models.nn"].DropoutNd = s4.DropoutNd  # type: ignore[attr-defined]


def _keops_on_cpu(s4: types.ModuleType) -> None:
    """The original's keops reductions hard-code backend='GPU': send them to the CPU backend."""
    genred = getattr(s4, "Genred", None)
    if genred is None or torch.cuda.is_available():
        return

    class CPUGenred(genred):
        def __call__(self, *args, **kwargs):
            kwargs["backend"] = "CPU"
            return super().__call__(*args, **kwargs)

    s4.Genred = CPUGenred


def _check_names(module: types.ModuleType, names: tuple[str, ...]) -> None:
    absent = [n for n in names if not hasattr(module, n)]
    if absent:
        raise SystemExit(
            f"s4-bench original: {module.__file__} lacks {', '.join(absent)}: expected the "
            "standalone layers of state-spaces/s4 (models/s4/)"
        )


def load_original(folder: str | Path) -> tuple[types.ModuleType, types.ModuleType]:
    """(s4, s4d) modules of the original from ``folder`` (its ``models/s4/``)."""
    folder = Path(folder)
    missing = [name for name in ("s4.py", "s4d.py") if not (folder / name).is_file()]
    if missing:
        raise SystemExit(
            "s4-bench original: --original-dir: expected a folder with the original's standalone "
            f"s4.py and s4d.py (state-spaces/s4 models/s4/), {folder} lacks {', '.join(missing)}"
        )
    logging.disable(logging.WARNING)  # its import logs which kernels it found, each time
    try:
        s4 = _import_file("s4_original", folder / "s4.py")
        _check_names(s4, ("S4Block", "DropoutNd", "cauchy_naive"))
        _provide_dropout_nd(s4)
        s4d = _import_file("s4d_original", folder / "s4d.py")
        _check_names(s4d, ("S4D",))
    finally:
        logging.disable(logging.NOTSET)
    _keops_on_cpu(s4)
    return s4, s4d


# ---------------------------------------------------------------------------------------------
# the layers of either side


class Layers:
    """Builds the same layer from the original's modules or ours."""

    def __init__(self, s4: types.ModuleType, s4d: types.ModuleType) -> None:
        self.s4, self.s4d = s4, s4d

    def build(self, impl: str, kind: str, H: int, N: int, backend: str = "keops") -> nn.Module:
        """impl "original" or "ours"; kind "dplr", "diag" or "s4d"."""
        if impl == "ours":
            import s4_layers

            if kind == "s4d":
                return s4_layers.S4D(H, d_state=N)
            return s4_layers.S4Block(H, mode=kind, d_state=N)
        if kind == "s4d":
            return self.s4d.S4D(H, d_state=N)
        if kind == "diag":
            return self.s4.S4Block(H, mode="diag", d_state=N, transposed=True, backend=backend)
        layer = self.s4.S4Block(H, mode="nplr", d_state=N, transposed=True)
        layer.layer.kernel.kernel = backend  # read by its Cauchy dispatch, never set
        return layer


def _output(y: Any) -> torch.Tensor:
    return y[0] if isinstance(y, tuple) else y


class Frame(nn.Module):
    """encoder -> n_layers x (prenorm LayerNorm, layer, + residual) -> mean over L -> decoder,
    around either side's layer: (B, L, d_input) -> (B, d_output)."""

    def __init__(self, layer: Callable[[], nn.Module], d_input: int, H: int, n_layers: int = 4):
        super().__init__()
        self.encoder = nn.Linear(d_input, H)
        self.layers = nn.ModuleList([layer() for _ in range(n_layers)])
        self.norms = nn.ModuleList([nn.LayerNorm(H) for _ in range(n_layers)])
        self.decoder = nn.Linear(H, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.encoder(x).transpose(-1, -2)  # (B, H, L)
        for layer, norm in zip(self.layers, self.norms):
            x = x + _output(layer(norm(x.transpose(-1, -2)).transpose(-1, -2)))
        return self.decoder(x.mean(-1))
