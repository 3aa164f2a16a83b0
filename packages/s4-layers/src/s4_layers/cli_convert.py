"""``s4-convert IN.pt OUT.pt [--module S4Block] [--kwargs JSON]``: an original state-spaces/s4
checkpoint converted to ours.

IN.pt is either a bare state dict of the original module, a dict with ``state_dict`` (and
optionally ``module`` and ``kwargs``, the layout of the official-s4 fixtures), or a Lightning
checkpoint of the original trainer (``state_dict`` with a ``--prefix`` such as ``model.``).
OUT.pt is ``{"module", "kwargs", "state_dict"}`` with OUR kwargs (:func:`official_kwargs`), so
``getattr(s4_layers, d["module"])(**d["kwargs"]).load_state_dict(d["state_dict"])`` rebuilds it.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from s4_layers._checks import S4InputError
from s4_layers.compat import MODULES, convert_state_dict, official_kwargs


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="s4-convert",
        description="Convert an original state-spaces/s4 checkpoint to s4_layers.",
    )
    p.add_argument("input", type=Path, help="original checkpoint (.pt / .ckpt)")
    p.add_argument("output", type=Path, help="where to write the converted checkpoint")
    p.add_argument("--module", choices=MODULES, help="original class (default: IN's 'module')")
    p.add_argument(
        "--kwargs",
        help="JSON object of the original constructor kwargs (default: IN's 'kwargs')",
    )
    p.add_argument("--prefix", default="", help="keep only keys under this prefix, stripped")
    p.add_argument("--L", type=int, default=None, help="C-tilde length when there is no l_kernel")
    p.add_argument(
        "--unsafe-load",
        action="store_true",
        help="torch.load(weights_only=False): only for files you trust (pickled objects)",
    )
    return p


def _load(path: Path, unsafe: bool) -> dict:
    if not path.is_file():
        raise SystemExit(f"s4-convert: input: expected an existing file, got {str(path)!r}")
    try:
        return torch.load(path, map_location="cpu", weights_only=not unsafe)
    except pickle.UnpicklingError as err:  # the safe loader refuses pickled objects
        raise SystemExit(
            f"s4-convert: {path}: the safe loader (weights_only=True) refused it ({err}); "
            "rerun with --unsafe-load if you trust the file"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    blob = _load(args.input, args.unsafe_load)
    if not isinstance(blob, dict):
        raise SystemExit(f"s4-convert: {args.input}: expected a dict, got {type(blob).__name__}")
    state_dict = blob.get("state_dict", blob)
    if args.prefix:
        state_dict = {
            k[len(args.prefix) :]: v for k, v in state_dict.items() if k.startswith(args.prefix)
        }
        if not state_dict:
            raise SystemExit(f"s4-convert: --prefix: expected keys under {args.prefix!r}, got none")
    module_name = args.module or blob.get("module")
    if module_name not in MODULES:
        raise SystemExit(
            f"s4-convert: --module: expected one of {list(MODULES)}, got {module_name!r}"
        )
    if args.kwargs is not None:
        try:
            original_kwargs = json.loads(args.kwargs)
        except json.JSONDecodeError as err:
            raise SystemExit(f"s4-convert: --kwargs: expected a JSON object, got {err}") from None
    elif "kwargs" in blob:
        original_kwargs = blob["kwargs"]
    else:
        raise SystemExit("s4-convert: --kwargs: expected the original constructor kwargs, got none")

    import s4_layers

    try:
        kwargs = official_kwargs(original_kwargs, module_name)
        module = getattr(s4_layers, module_name)(**kwargs)
        converted = convert_state_dict(module, state_dict, L=args.L)
    except (S4InputError, TypeError) as err:
        raise SystemExit(f"s4-convert: {err}") from None
    torch.save({"module": module_name, "kwargs": kwargs, "state_dict": converted}, args.output)
    print(f"s4-convert: {module_name} with {len(converted)} tensors -> {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
