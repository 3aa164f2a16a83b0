"""Every code block of the docs marked runnable runs.

A block is runnable when the line before its opening fence is ``<!-- runnable -->``; python
blocks run with the test interpreter, bash blocks with bash, both from the repository root.
A runnable block that exits non-zero fails the test with its output.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"<!-- runnable -->\n```(python|bash)\n(.*?)```", re.S)


def runnable_blocks() -> list[tuple[str, int, str, str]]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text()
        for match in BLOCK.finditer(text):
            line = text[: match.start()].count("\n") + 2
            found.append((str(page.relative_to(ROOT)), line, match.group(1), match.group(2)))
    return found


BLOCKS = runnable_blocks()


def test_docs_have_runnable_blocks():
    assert len(BLOCKS) >= 5, f"expected runnable examples in docs/, found {len(BLOCKS)}"


@pytest.mark.parametrize("page,line,lang,code", BLOCKS, ids=[f"{p}:{n}" for p, n, _, _ in BLOCKS])
def test_runnable_block(page, line, lang, code, tmp_path):
    cmd = (
        [sys.executable, "-c", code]
        if lang == "python"
        else ["bash", "-euo", "pipefail", "-c", code]
    )
    env_path = str(Path(sys.executable).parent)
    out = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **__import__("os").environ,
            "PATH": env_path + ":" + __import__("os").environ["PATH"],
            "S4_TMP": str(tmp_path),
        },
    )
    assert out.returncode == 0, f"{page}:{line} ({lang}) failed:\n{out.stdout}\n{out.stderr}"
