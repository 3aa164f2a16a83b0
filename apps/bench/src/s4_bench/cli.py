"""``s4-bench SUITE [--compare REF.json] [options]``: dispatch to one benchmark suite.

Each suite is a module ``s4_bench.<suite>`` with ``main(argv) -> int`` that parses its own
options and writes a JSON report (``--out``, default ``bench-results/<suite>.json``), prints a
table and, where it has one, a plot beside the JSON. ``--compare REF.json`` (any suite) runs the
suite, then prints new/reference ratios for every row the two reports share (matched on the
suite's configuration keys), so a regression shows in one command. ``all`` runs every suite
with its defaults; ``quick`` a small preset of kernels, layers and step in under a minute.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from s4_bench.common import compare_rows, load_report, print_comparison

SUITES = {
    "kernels": "Cauchy / Vandermonde kernels, every available backend vs naive",
    "layers": "S4 and S4D layers: conv forward/backward and memory against L, carried state",
    "step": "step (RNN) mode: steps/s against batch, with ratios to the original's figures",
    "generate": "autoregressive generation: step mode vs recomputing the convolution",
    "train": "accuracy and wall time of a training experiment, s4-train vs a plain loop",
    "original": "ours side by side with the original state-spaces/s4 layers (--original-dir)",
}
# suites that need a user's input (the original's checkout), left out of ``all``
NEEDS_INPUT = {"original"}
# suite -> argv of the quick preset (each well under 20 s on a 2-core CPU)
QUICK = {
    "kernels": ["--H", "32", "--N", "32", "--L", "1024,4096", "--repeats", "2", "--no-isolate"],
    "layers": [
        "--batch",
        "4",
        "--d-model",
        "32",
        "--lengths",
        "256",
        "1024",
        "--min-time",
        "0.1",
        "--state-batches",
        "1",
        "--state-length",
        "256",
    ],
    "step": ["--batches", "1", "16", "--d-model", "64", "--min-time", "0.1"],
}


def _usage() -> str:
    lines = [
        "usage: s4-bench SUITE [--compare REF.json] [--default-malloc] [options]   "
        "(s4-bench SUITE --help)",
        "       s4-bench quick | all",
        "",
    ]
    lines += [f"  {name:<9} {text}" for name, text in SUITES.items() if _exists(name)]
    lines += [
        f"  {'quick':<9} kernels, layers and step at small shapes (< 1 min), JSON under "
        "bench-results/quick/",
        f"  {'all':<9} every suite with its default (long) configuration",
        "",
        "  --default-malloc  keep glibc's malloc defaults (each large tensor page-faulted in);",
        "                    otherwise s4_layers.retain_freed_memory() first, as s4-train does",
    ]
    return "\n".join(lines)


def _exists(suite: str) -> bool:
    return importlib.util.find_spec(f"s4_bench.{suite}") is not None


def _pop_option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name:
            if i + 1 >= len(argv):
                raise SystemExit(f"s4-bench: {name}: expected a value, got nothing")
            value = argv[i + 1]
            del argv[i : i + 2]
            return value
        if arg.startswith(name + "="):
            del argv[i]
            return arg.split("=", 1)[1]
    return None


def run_suite(suite: str, argv: list[str], compare: str | None = None) -> int:
    module = importlib.import_module(f"s4_bench.{suite}")
    out = _pop_option(argv, "--out") or f"bench-results/{suite}.json"
    reference = load_report(compare) if compare else None  # fail before the long run
    code = int(module.main([*argv, "--out", out]) or 0)
    if code or reference is None:
        return code
    if reference["suite"] != suite:
        raise SystemExit(
            f"s4-bench: --compare: expected a {suite} report, got {reference['suite']}"
        )
    new = load_report(out)
    spec = getattr(module, "COMPARE", None)
    if spec is None:
        print(f"s4-bench {suite}: this suite has nothing to compare")
        return 0
    for section, (keys, metrics) in spec.items():
        rows = compare_rows(new.get(section, []), reference.get(section, []), keys, metrics)
        print_comparison(suite, section, rows, metrics)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    suite, rest = argv[0], argv[1:]
    if "--default-malloc" in rest:  # measure with glibc's defaults (page faults included)
        rest.remove("--default-malloc")
    else:  # what s4-train does (s4_layers.memory): every side of a comparison alike
        from s4_layers import retain_freed_memory

        retain_freed_memory()
    if suite == "quick":
        folder = Path(_pop_option(rest, "--out-dir") or "bench-results/quick")
        return max(run_suite(s, [*QUICK[s], "--out", str(folder / f"{s}.json")]) for s in QUICK)
    if suite == "all":
        return max(run_suite(s, list(rest)) for s in SUITES if _exists(s) and s not in NEEDS_INPUT)
    if suite not in SUITES or not _exists(suite):
        available = [*sorted(s for s in SUITES if _exists(s)), "all", "quick"]
        print(f"s4-bench: SUITE: expected one of {available}, got {suite!r}", file=sys.stderr)
        print(_usage(), file=sys.stderr)
        return 2
    compare = _pop_option(rest, "--compare")
    return run_suite(suite, rest, compare)


if __name__ == "__main__":
    raise SystemExit(main())
