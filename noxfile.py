"""Every session a user or CI runs: ``nox -s tests``, ``lint``, ``docs``, ``build``, ``train``,
``bench``, ``hippo_pythons``.

``nox -s tests`` builds one virtualenv, installs the CPU PyTorch pin from
``constraints.txt`` first (so no CUDA build is ever pulled), then every package and app in
editable mode, and runs pytest over ``packages/*/tests`` and ``apps/*/tests``. Pass paths to
test one package alone: ``nox -s tests -- packages/hippo-core``.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
CONSTRAINTS = str(ROOT / "constraints.txt")

# Dependency order: a package is listed after the packages it needs.
PACKAGES = ["hippo-core", "ssm-kernels", "s4-layers", "s4-tasks"]
APPS = ["bench", "train", "generate"]

nox.options.sessions = ["tests", "lint", "docs", "build"]
# Tests that belong to no single package: the docs' runnable blocks, apps/examples.
EXTRA_TESTS = [ROOT / "tests", ROOT / "apps" / "examples" / "tests"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True


def _projects() -> list[Path]:
    found = [ROOT / "packages" / name for name in PACKAGES] + [
        ROOT / "apps" / name for name in APPS
    ]
    return [path for path in found if (path / "pyproject.toml").exists()]


def _install_workspace(session: nox.Session, *extra: str) -> None:
    """CPU torch pin first, then every package and app (editable), resolved together."""
    session.install("-c", CONSTRAINTS, "torch")
    editables: list[str] = []
    for path in _projects():
        # ssm-kernels' pykeops backend compiles on CPU too, so CI exercises it
        extras = "[keops]" if path.name == "ssm-kernels" else ""
        editables += ["-e", f"{path}{extras}"]
    session.install("-c", CONSTRAINTS, *editables, *extra)


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Run the whole test suite (or the paths given after ``--``)."""
    _install_workspace(session, "pytest>=8", "pytest-timeout", "hatchling>=1.18")
    targets = session.posargs or [
        str(path / "tests") for path in _projects() if (path / "tests").is_dir()
    ] + [str(path) for path in EXTRA_TESTS if path.is_dir()]
    # pytest exits 5 when it collects nothing; nox treats any non-zero code as failure, so a
    # suite that silently lost its tests fails here instead of passing.
    session.run("python", "-m", "pytest", "-q", *targets, env={"PYTHONHASHSEED": "0"})


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check + ruff format --check over the whole tree."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def train(session: nox.Session) -> None:
    """Train the default experiment (extra Hydra overrides after ``--``)."""
    _install_workspace(session)
    session.run("s4-train", *session.posargs)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks: ``nox -s bench`` runs the quick set; ``nox -s bench -- layers`` (kernels,
    step, generate, train, all) one suite. JSON and plots under bench-results/."""
    _install_workspace(session)
    session.run("s4-bench", *(session.posargs or ["quick"]))


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Generate the figures from the packages, then ``mkdocs build --strict`` into site/."""
    _install_workspace(
        session, "mkdocs-material>=9.5", "mkdocstrings[python]>=0.25", "matplotlib>=3.7"
    )
    session.run("python", "docs/figures/make_figures.py")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python="3.11")
def build(session: nox.Session) -> None:
    """Wheel + sdist of every package and app into dist/; then each wheel is installed alone
    into a fresh venv and its README example run (tools/verify_wheels.py)."""
    session.install("build>=1.0")
    dist = ROOT / "dist"
    for old in dist.glob("*"):
        old.unlink()
    for path in _projects():
        session.run(
            "python", "-m", "build", "--wheel", "--outdir", str(dist), str(path), silent=True
        )
        if path.parent.name == "packages":  # the apps' wheels carry files from outside their folder
            session.run(
                "python", "-m", "build", "--sdist", "--outdir", str(dist), str(path), silent=True
            )
    for artifact in sorted(dist.iterdir()):
        session.log(f"{artifact.name}: {artifact.stat().st_size / 1024:.0f} KiB")
    session.run("python", "tools/verify_wheels.py", str(dist), *session.posargs)


@nox.session(python=["3.10", "3.11", "3.12", "3.13"])
def hippo_pythons(session: nox.Session) -> None:
    """hippo-core's tests on every Python it claims (numpy/scipy only, no torch)."""
    session.install(str(ROOT / "packages" / "hippo-core"), "pytest>=8")
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(ROOT / "packages" / "hippo-core" / "tests"),
    )


@nox.session(python=False)
def gpu(session: nox.Session) -> None:
    """CUDA tests + ``s4-bench kernels --device cuda`` on this machine's own torch and CuPy.

    No virtualenv and no installs (GPU machines bring their own torch / cupy-cuda12x or
    cupy-cuda13x, often without network): wraps ``packages/ssm-kernels/scripts/gpu_check.sh``,
    which imports the packages from the checkout and writes JSON under ``bench-results/gpu/``
    (or the folder given after ``--``).
    """
    script = ROOT / "packages" / "ssm-kernels" / "scripts" / "gpu_check.sh"
    session.run("bash", str(script), *session.posargs, external=True)
