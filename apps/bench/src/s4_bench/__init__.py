"""Benchmarks for the S4 toolkit (``s4-bench kernels|layers|train``); every run writes JSON."""

from s4_bench.__about__ import __version__

__all__ = ["__version__"]
