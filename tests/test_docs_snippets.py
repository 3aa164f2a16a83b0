"""The docs stay true to the code, without building the site.

- Every code block marked runnable runs: a block is runnable when the line before its opening
  fence is ``<!-- runnable -->``; python blocks run with the test interpreter, bash blocks with
  bash, both from the repository root. A block that exits non-zero fails with its output.
- Every formula link resolves: each mkdocstrings cross-reference (``[name][]`` or
  ``[text][name]`` naming one of our packages) is an importable object, and each
  ``page.md#anchor`` link of the API pages names a heading of that page. (``mkdocs build
  --strict`` checks the same and more, but needs the docs toolchain; this catches a renamed
  function in the ordinary test run.)
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"<!-- runnable -->\n```(python|bash)\n(.*?)```", re.S)
PACKAGES = ("hippo_core", "ssm_kernels", "s4_layers", "s4_tasks", "s4_train", "s4_generate")
# a dotted path into one of our packages, as [name][] or [text][name]
NAME = r"(?:{})(?:\.\w+)*".format("|".join(PACKAGES))
XREF = re.compile(rf"\[({NAME})\]\[\]|\[[^\]]*\]\[({NAME})\]")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
PAGE_ANCHOR = re.compile(r"\]\(((?:\.\./)?[\w/-]+\.md)#([\w-]+)\)")
# a heading, optionally with an explicit {#id}
HEADING = re.compile(r"^#{1,6} (.*?)(?: \{#([\w-]+)\})?\s*$", re.M)


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
        timeout=120,  # each block is meant to take seconds
        env={**os.environ, "PATH": env_path + ":" + os.environ["PATH"], "S4_TMP": str(tmp_path)},
    )
    assert out.returncode == 0, f"{page}:{line} ({lang}) failed:\n{out.stdout}\n{out.stderr}"


def _prose(text: str) -> str:
    """The page without its fenced code blocks (links inside code are not links)."""
    return FENCE.sub("", text)


def cross_references() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        for match in XREF.finditer(_prose(page.read_text())):
            found.append((str(page.relative_to(ROOT)), match.group(1) or match.group(2)))
    return found


def _resolve(name: str) -> object:
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


XREFS = cross_references()


def test_math_pages_link_formulas_to_code():
    pages = {page for page, _ in XREFS}
    for page in ("hippo", "lssl", "s4", "sashimi", "kernels", "architecture"):
        assert f"docs/{page}.md" in pages, f"docs/{page}.md: expected formula links, found none"


@pytest.mark.parametrize("page,name", XREFS, ids=[f"{p}:{n}" for p, n in XREFS])
def test_cross_reference_resolves(page, name):
    try:
        _resolve(name)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{page}: [{name}][] names no object ({error!r})")


def slug(title: str) -> str:
    """Python-Markdown's default toc slug: ascii, lower case, punctuation dropped, '-' joined."""
    text = re.sub(r"[`*]", "", title)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    found = set()
    for match in HEADING.finditer(_prose(page.read_text())):
        found.add(match.group(2) or slug(match.group(1)))
    return found


def page_anchor_links() -> list[tuple[str, str, str]]:
    found = []
    for page in sorted((DOCS / "api").glob("*.md")) + sorted(DOCS.glob("*.md")):
        for match in PAGE_ANCHOR.finditer(_prose(page.read_text())):
            target = (page.parent / match.group(1)).resolve()
            found.append((str(page.relative_to(ROOT)), str(target.relative_to(DOCS)), match[2]))
    return found


LINKS = page_anchor_links()


@pytest.mark.parametrize("page,target,anchor", LINKS, ids=[f"{p}->{t}#{a}" for p, t, a in LINKS])
def test_anchor_link_names_a_heading(page, target, anchor):
    assert anchor in anchors(DOCS / target), (
        f"{page}: link to {target}#{anchor}: expected a heading with that anchor, got none"
    )
