"""Packaging: the README example runs, and hippo-core never needs torch."""

import contextlib
import importlib.metadata
import io
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_example_runs_and_prints_what_it_claims():
    text = README.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 14
    namespace: dict = {}
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(compile(code, str(README), "exec"), namespace)
    printed = stdout.getvalue()
    # the README shows the exact output
    shown = re.search(r"prints\n\n```text\n(.*?)```", text, re.S).group(1)
    assert printed == shown
    # and the claim is true: the printed error is the error of the reconstruction, < 1e-3
    claim = re.search(r"LegS reconstruction error (\S+) at N=(\d+)", printed)
    f, f_hat, coefs = namespace["f"], namespace["f_hat"], namespace["coefs"]
    error = ((f - f_hat) ** 2).sum() ** 0.5 / (f**2).sum() ** 0.5
    assert int(claim.group(2)) == coefs.shape[1] == 64
    assert float(claim.group(1)) == float(f"{error:.0e}") and error < 1e-3
    assert f"relative error of {claim.group(1)}" in text.replace("\n", " ")


def test_version_is_0_2():
    import hippo_core

    assert hippo_core.__version__ == "0.2.0"


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
