"""The README's first python block runs as written."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no ```python block"
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(blocks[0], str(README), "exec"), namespace)
    lines = printed.getvalue().splitlines()
    # what the README says it prints: the error line, then the backend table
    match = re.fullmatch(
        r"cauchy \(4, 256\) torch\.complex64: max rel\. error vs naive float64 (\S+)", lines[0]
    )
    assert match, lines[0]
    assert float(match.group(1)) <= 1e-5  # float32 accuracy, as the README claims
    assert namespace["err"] <= 1e-5
    assert lines[1].split()[:3] == ["backend", "available", "devices"]
    assert [line.split()[0] for line in lines[3:]] == ["naive", "torch", "keops", "cuda"]


def test_readme_links_the_docs_and_installs_from_a_clone():
    text = README.read_text()
    assert "docs/kernels.md" in text
    assert (README.parents[2] / "docs" / "kernels.md").is_file()
    assert "pip install torch==2.13.0 ./packages/ssm-kernels" in text
    for extra in ("[keops]", "[cuda12]", "[cuda13]", "--no-deps"):
        assert extra in text, extra
