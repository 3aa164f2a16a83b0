"""``s4-bench SUITE [options]``: dispatch to one benchmark suite.

Each suite is a module ``s4_bench.<suite>`` with a ``main(argv) -> int`` that parses its own
options and writes a JSON report (default under ``bench-results/``).
"""

from __future__ import annotations

import importlib
import sys

SUITES = {
    "kernels": "Cauchy / Vandermonde kernels, every available backend vs naive",
    "layers": "S4 and S4D layers: conv forward/backward, step mode, forward-with-state",
    "train": "accuracy and wall time of the default training experiment",
    "generate": "sampling: step mode vs recomputing the convolution, prompt warm-up",
}


def _usage() -> str:
    lines = ["usage: s4-bench SUITE [options]   (s4-bench SUITE --help for its options)", ""]
    lines += [f"  {name:<8} {text}" for name, text in SUITES.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    suite, rest = argv[0], argv[1:]
    if suite not in SUITES:
        print(
            f"s4-bench: unknown suite {suite!r}; expected one of {sorted(SUITES)}", file=sys.stderr
        )
        print(_usage(), file=sys.stderr)
        return 2
    module = importlib.import_module(f"s4_bench.{suite}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
