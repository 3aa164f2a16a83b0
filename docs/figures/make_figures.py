"""Run every figure script under docs/figures/scripts/ (``nox -s docs`` calls this).

Each script is standalone: it imports the packages, computes what it plots and writes its
images into docs/figures/generated/ (not committed: the docs build makes them).
``python docs/figures/make_figures.py [NAME ...]`` runs some of them only.
"""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "generated"


def main(names: list[str]) -> int:
    OUT.mkdir(exist_ok=True)
    scripts = sorted((HERE / "scripts").glob("*.py"))
    if names:
        unknown = set(names) - {s.stem for s in scripts}
        if unknown:
            print(
                f"make_figures: unknown figure(s) {sorted(unknown)}; "
                f"expected among {[s.stem for s in scripts]}"
            )
            return 2
        scripts = [s for s in scripts if s.stem in names]
    for script in scripts:
        start = time.perf_counter()
        runpy.run_path(str(script), run_name="__main__")
        print(f"figure {script.stem}: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
