"""Install each built wheel ALONE into a fresh venv and run its README example.

Called by ``nox -s build`` after the wheels are in ``dist/``. For every package and app:

- a new ``python -m venv`` (no system site-packages);
- torch from the CPU pin of ``constraints.txt`` first where the package needs torch (so no CUDA
  build is pulled), then the wheel, its siblings resolved from ``dist/`` (``--find-links``);
- its README's first ``python`` block runs from a temporary folder outside the checkout;
- what must NOT come along is checked: hippo-core without torch, ssm-kernels without hippo-core
  or s4-layers, s4-tasks without s4-layers.

The apps' venv is also the install-from-a-clone test of the root README (issue: a documented
install command that works): it installs the app wheels with everything they need and runs
``s4-train`` outside the checkout, which only works if the config tree ships in the wheel.

    python tools/verify_wheels.py dist/ [NAME ...]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TORCH_PIN = next(
    line.strip()
    for line in (ROOT / "constraints.txt").read_text().splitlines()
    if line.strip().startswith("torch==")
)

# name -> (project folder, needs torch, modules that must be absent after install)
PROJECTS = {
    "hippo-core": ("packages/hippo-core", False, ["torch", "s4_layers", "ssm_kernels"]),
    "ssm-kernels": ("packages/ssm-kernels", True, ["hippo_core", "s4_layers"]),
    "s4-layers": ("packages/s4-layers", True, ["s4_tasks", "lightning"]),
    "s4-tasks": ("packages/s4-tasks", True, ["s4_layers", "lightning"]),
    "s4-train": ("apps/train", True, []),
}


def readme_example(project: Path) -> str:
    text = (project / "README.md").read_text()
    match = re.search(r"```python\n(.*?)```", text, flags=re.S)
    if match is None:
        raise SystemExit(f"verify_wheels: {project}/README.md has no ```python example")
    return match.group(1)


def wheel_for(dist: Path, name: str) -> Path:
    stem = name.replace("-", "_")
    found = sorted(dist.glob(f"{stem}-*.whl"))
    if not found:
        raise SystemExit(f"verify_wheels: no wheel for {name} in {dist} (run nox -s build)")
    return found[-1]


def run(cmd: list[str], cwd: Path | None = None) -> str:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(
            f"verify_wheels: {' '.join(cmd)} failed ({out.returncode})\n{out.stdout}\n{out.stderr}"
        )
    return out.stdout


def verify(dist: Path, name: str, workdir: Path) -> None:
    folder, needs_torch, absent = PROJECTS[name]
    start = time.perf_counter()
    env_dir = workdir / f"venv-{name}"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if needs_torch:
        run([*pip, TORCH_PIN])
    run([*pip, "--find-links", str(dist), str(wheel_for(dist, name))])
    example = readme_example(ROOT / folder)
    scratch = workdir / f"run-{name}"
    scratch.mkdir(exist_ok=True)
    printed = run([python, "-c", example], cwd=scratch)
    for module in absent:
        probe = f"import importlib.util as u, sys; sys.exit(u.find_spec({module!r}) is not None)"
        if subprocess.run([python, "-c", probe]).returncode != 0:
            raise SystemExit(f"verify_wheels: installing {name} alone also installed {module}")
    if name == "s4-train":  # the config tree must ship inside the wheel
        exe = str(env_dir / "bin" / "s4-train")
        run([exe, "--cfg", "job"], cwd=scratch)
        run(
            [
                exe,
                "trainer.max_epochs=1",
                "dataset.n_train=64",
                "dataset.n_val=32",
                "dataset.n_test=32",
                "logger=none",
                f"hydra.run.dir={scratch}/out",
            ],
            cwd=scratch,
        )
    size = wheel_for(dist, name).stat().st_size / 1024
    last_line = printed.strip().splitlines()[-1] if printed.strip() else "(printed nothing)"
    seconds = time.perf_counter() - start
    print(f"{name}: wheel {size:.0f} KiB, installed alone, README example ran ({seconds:.0f} s): ")
    print(f"    {last_line}")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    dist = Path(argv[0]).resolve()
    names = argv[1:] or list(PROJECTS)
    unknown = set(names) - set(PROJECTS)
    if unknown:
        print(
            f"verify_wheels: unknown project(s) {sorted(unknown)}; expected among {list(PROJECTS)}"
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="s4-wheels-") as tmp:
        for name in names:
            verify(dist, name, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
