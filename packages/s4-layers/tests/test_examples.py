"""The scripts in apps/examples run (streaming inference, chunked training)."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[3] / "apps" / "examples"


@pytest.mark.parametrize("name", ["streaming_inference.py", "chunked_training.py"])
def test_example_runs(name):
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} not present (package installed outside the monorepo)")
    runpy.run_path(str(path), run_name="__main__")  # each script asserts its own exactness
