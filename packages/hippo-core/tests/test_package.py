"""Packaging: the README example runs, and hippo-core never needs torch."""

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_example_runs():
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 14
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    f, f_hat = namespace["f"], namespace["f_hat"]
    assert ((f - f_hat) ** 2).sum() ** 0.5 / (f**2).sum() ** 0.5 < 1e-3


def test_dependencies_are_numpy_and_scipy_only():
    requires = importlib.metadata.requires("hippo-core") or []
    names = {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requires}
    assert names == {"numpy", "scipy"}


def test_imports_with_torch_blocked():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import hippo_core\n"
        "print(hippo_core.dplr('legs', 8).Lambda.shape)\n"
        "loaded = [m for m in sys.modules if sys.modules[m] and m.split('.')[0] == 'torch']\n"
        "assert not loaded, loaded\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1, 4)"
