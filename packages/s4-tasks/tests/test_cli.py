import hashlib

import pytest

from s4_tasks import SOURCES, fixtures
from s4_tasks.cli import build_parser, main
from s4_tasks.sources import Resource, Source


def _mnist_source(served, corrupt=False):
    resources = []
    for path in sorted(served.iterdir()):
        data = path.read_bytes()
        digest = "f" * 64 if corrupt else hashlib.sha256(data).hexdigest()
        resources.append(Resource(path.name, (path.as_uri(),), digest, len(data)))
    return Source(
        name="mnist", description="tiny", resources=tuple(resources), download_dir="mnist",
        loader_root="mnist", marker="mnist/t10k-labels-idx1-ubyte.gz",
    )  # fmt: skip


def test_list_shows_every_dataset(tmp_path, capsys):
    assert main(["list", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in SOURCES:
        assert name in out
    assert "missing" in out and "copying" in out


def test_download_then_check(tmp_path, capsys, monkeypatch):
    served = fixtures.write_mnist(tmp_path / "server", n_train=5, n_test=3)
    monkeypatch.setitem(SOURCES, "mnist", _mnist_source(served))
    root = tmp_path / "data"
    assert main(["download", "mnist", "--root", str(root), "--no-progress"]) == 0
    assert f"root={root / 'mnist'}" in capsys.readouterr().out
    assert main(["list", "--root", str(root)]) == 0
    assert "present" in capsys.readouterr().out
    assert main(["check", "mnist", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "mnist: train/val/test=" in out and "(784, 1)" in out


def test_checksum_failure_is_a_clear_error(tmp_path, capsys, monkeypatch):
    served = fixtures.write_mnist(tmp_path / "server", n_train=5, n_test=3)
    monkeypatch.setitem(SOURCES, "mnist", _mnist_source(served, corrupt=True))
    root = tmp_path / "data"
    assert main(["download", "mnist", "--root", str(root), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "sha256 mismatch" in err and "t10k-images-idx3-ubyte.gz" in err
    assert list((root / "mnist").iterdir()) == []  # nothing left behind


def test_check_reports_missing_data(tmp_path, capsys):
    assert main(["check", "cifar10", "--root", str(tmp_path)]) == 1
    assert "s4-data download cifar10" in capsys.readouterr().err


def test_parser_rejects_unknown_names():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["download", "imagenet"])


def test_console_script_is_declared():
    from importlib.metadata import entry_points

    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("s4-data") == "s4_tasks.cli:main"
