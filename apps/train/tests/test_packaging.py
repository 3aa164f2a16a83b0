"""The packaged config tree: the wheel carries configs/, and an installed (non-checkout)
s4_train finds it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import s4_train

APP = Path(__file__).resolve().parents[1]
PROBE = (
    "from s4_train.config import find_config_dir, compose_config; "
    "print(find_config_dir()); print(compose_config([]).name)"
)


def _probe(site: Path) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("S4_CONFIG_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_installed_layout_falls_back_to_the_packaged_tree(config_dir, tmp_path) -> None:
    # what a wheel install looks like: site/s4_train/{*.py, configs/}, outside any checkout
    site = tmp_path / "site"
    shutil.copytree(Path(s4_train.__file__).parent, site / "s4_train")
    shutil.copytree(config_dir, site / "s4_train" / "configs")
    found, name = _probe(site)
    assert Path(found) == (site / "s4_train" / "configs").resolve()
    assert name == "copying-s4d"


@pytest.mark.skipif(
    importlib.util.find_spec("hatchling") is None, reason="building the wheel needs hatchling"
)
def test_wheel_contains_the_config_tree(config_dir, tmp_path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(APP),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("s4_train-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f"s4_train/configs/{p.relative_to(config_dir).as_posix()}"
        for p in config_dir.rglob("*.yaml")
    }
    assert shipped and shipped <= names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    found, name = _probe(site)
    assert Path(found) == (site / "s4_train" / "configs").resolve() and name == "copying-s4d"
