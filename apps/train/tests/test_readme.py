"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(tmp_path, monkeypatch) -> None:
    text = README.read_text()
    block = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert block is not None, "README has no python example"
    code = block.group(1)
    assert 5 <= len(code.strip().splitlines()) <= 15
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})


def test_readme_states_the_measured_default_experiment() -> None:
    text = README.read_text()
    assert "MEASURED_" not in text, "fill in the measured accuracy and wall time"
    assert "s4-bench train" in text
