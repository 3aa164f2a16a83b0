"""Shared fixtures of the s4-bench tests."""

import sys

import pytest


@pytest.fixture
def clean_original_modules():
    """load_original registers the original's modules (and src.models.nn) in sys.modules:
    removed again after the test."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.split(".")[0] in {"s4_original", "s4d_original", "src"}:
            del sys.modules[name]
