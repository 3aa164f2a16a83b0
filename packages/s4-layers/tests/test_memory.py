"""memory.retain_freed_memory: glibc keeps freed blocks (no page faults on reallocation)."""

import subprocess
import sys
import textwrap

import pytest

from s4_layers import S4InputError, retain_freed_memory
from s4_layers.memory import _glibc

# a child process (the setting is process-wide): the minor page faults of allocating and
# filling a 64 MB tensor 20 times, after the first
_CHILD = textwrap.dedent(
    """
    import resource, sys, torch
    from s4_layers import retain_freed_memory
    if sys.argv[1] == "retain":
        assert retain_freed_memory()
    torch.ones(16 * 2**20)  # the first one maps its pages either way
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        torch.ones(16 * 2**20)  # 64 MB: above glibc's default mmap threshold
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


@pytest.mark.skipif(_glibc() is None, reason="not glibc: retain_freed_memory changes nothing")
def test_freed_blocks_are_reused_instead_of_faulted_back_in():
    default, retained = _faults("default"), _faults("retain")
    assert default > 20 * 16 * 2**20 * 4 / 4096 / 2  # every tensor faulted in (4 KB pages)
    assert retained < default / 20


def test_bad_limits_are_rejected():
    for bad in (-1, 2**31, 1.5, True, "2GB"):
        with pytest.raises(S4InputError, match="limit"):
            retain_freed_memory(bad)
