r"""CPU memory: keep what torch frees for its next tensors instead of returning it to the OS.

On CPU every tensor is a ``malloc``. glibc serves a block above its mmap threshold (128 KB,
adapting up to 32 MB) with freshly mapped pages and unmaps it when it is freed, and it trims
the heap's free top above its trim threshold. A training step allocates and frees the same
activations every step, so each of them is page-faulted back in, one 4 KB page at a time.
Measured on this project's 2-core CPU (S4Block mode="dplr", fwd+bwd, B=16, H=256, N=64,
L=4096; ``python -m s4_layers.memory`` reproduces it): ~420 000 minor page faults and 1.4 s of
system time a step, 2.0 s wall; with both thresholds raised, no fault and 0.95 s.

:func:`retain_freed_memory` raises them (``mallopt``), so freed blocks stay in the heap and are
reused. It is process-wide and lasts for the process, which is why the library never calls it
by itself: the applications (``s4-train``, ``s4-bench``, ``s4-generate``) call it at start
(``train.retain_freed_memory=false`` turns it off for s4-train), and a user's own training
script may. The cost: the process keeps the memory it freed (up to ``limit`` bytes) instead of
giving it back, so its resident size stays at its peak. Where the C library is not glibc
(macOS, Windows, musl) nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

from s4_layers._checks import S4InputError

_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_THRESHOLD = -3
_INT_MAX = 2**31 - 1  # mallopt takes an int


@cache
def _glibc():
    """glibc's handle, or None (another C library or platform)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # only glibc has it  # noqa: B018
    except (OSError, AttributeError):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc


def retain_freed_memory(limit: int = _INT_MAX) -> bool:
    """Raise glibc's mmap and trim thresholds to ``limit`` bytes (module docstring).

    Returns True when glibc accepted both, False where nothing was changed (not glibc).
    ``limit``: an int in [0, 2**31 - 1]; blocks larger than it are still mapped on their own.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= _INT_MAX:
        raise S4InputError(f"limit: expected an int in [0, {_INT_MAX}] (bytes), got {limit!r}")
    libc = _glibc()
    if libc is None:
        return False
    mmap_ok = libc.mallopt(_M_MMAP_THRESHOLD, limit) == 1
    trim_ok = libc.mallopt(_M_TRIM_THRESHOLD, limit) == 1
    return mmap_ok and trim_ok


def _measure(argv: list[str] | None = None) -> None:  # pragma: no cover - a measurement
    """``python -m s4_layers.memory [--retain]``: page faults and times of one S4Block
    fwd+bwd (B=16, H=256, N=64, L=4096), three runs."""
    import argparse
    import resource
    import time

    import torch

    from s4_layers.block import S4Block

    p = argparse.ArgumentParser(prog="python -m s4_layers.memory", description=_measure.__doc__)
    p.add_argument("--retain", action="store_true", help="call retain_freed_memory() first")
    p.add_argument("--mode", default="dplr")
    args = p.parse_args(argv)
    if args.retain:
        print("retain_freed_memory():", retain_freed_memory())
    torch.manual_seed(0)
    block = S4Block(256, mode=args.mode, d_state=64)
    x = torch.randn(16, 256, 4096, requires_grad=True)

    def run():
        block(x)[0].sum().backward()

    run()
    for _ in range(3):
        before, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        run()
        wall, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
        print(
            f"wall {wall:.3f} s  system {after.ru_stime - before.ru_stime:.2f} s  "
            f"minor faults {after.ru_minflt - before.ru_minflt}"
        )


if __name__ == "__main__":  # pragma: no cover
    _measure()


__all__ = ["retain_freed_memory"]
