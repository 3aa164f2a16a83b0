"""Presence by download manifest (not the marker), `s4-data verify`, and `check` re-hashing."""

import hashlib
import json

from s4_tasks import SOURCES, fixtures
from s4_tasks.cli import main
from s4_tasks.download import download
from s4_tasks.manifest import manifest_path, status, verify
from s4_tasks.sources import Resource, Source


def _mnist_source(served):
    resources = []
    for path in sorted(served.iterdir()):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        resources.append(Resource(path.name, (path.as_uri(),), digest, len(data)))
    return Source(
        name="mnist", description="tiny", resources=tuple(resources), download_dir="mnist",
        loader_root="mnist", marker="mnist/t10k-labels-idx1-ubyte.gz",
    )  # fmt: skip


def _downloaded(tmp_path, monkeypatch):
    served = fixtures.write_mnist(tmp_path / "server", n_train=5, n_test=3)
    source = _mnist_source(served)
    monkeypatch.setitem(SOURCES, "mnist", source)
    root = tmp_path / "data"
    download("mnist", root, progress=False)
    return source, root


def test_manifest_records_every_file(tmp_path, monkeypatch):
    source, root = _downloaded(tmp_path, monkeypatch)
    files = json.loads(manifest_path(source, root).read_text())["files"]
    assert sorted(files) == sorted(f"mnist/{r.filename}" for r in source.resources)
    for rel, entry in files.items():
        assert entry["size"] == (root / rel).stat().st_size
    assert status(source, root).state == "present"
    assert verify(source, root).problems == []


def test_marker_alone_is_not_present(tmp_path, monkeypatch, capsys):
    source, root = _downloaded(tmp_path, monkeypatch)
    (root / "mnist" / "train-images-idx3-ubyte.gz").unlink()  # the marker is still there
    st = status(source, root)
    assert st.state == "incomplete" and "train-images-idx3-ubyte.gz: missing" in st.problems[0]
    assert main(["list", "--root", str(root)]) == 0
    assert "incomplete" in capsys.readouterr().out
    # download does not trust the marker: it fetches the missing file again.
    download("mnist", root, progress=False)
    assert status(source, root).state == "present"
    manifest_path(source, root).unlink()
    assert status(source, root).state == "unverified"
    assert status(source, tmp_path / "empty").state == "missing"


def test_verify_rehashes_and_names_the_changed_file(tmp_path, monkeypatch, capsys):
    source, root = _downloaded(tmp_path, monkeypatch)
    assert main(["verify", "mnist", "--root", str(root)]) == 0
    assert "all 4 files verified" in capsys.readouterr().out
    target = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # same size, different content: only a re-hash sees it
    target.write_bytes(bytes(data))
    assert status(source, root).state == "present"
    assert main(["verify", "mnist", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte.gz: sha256 mismatch" in err and "--force" in err
    assert main(["check", "mnist", "--root", str(root)]) == 1
    assert "sha256 mismatch" in capsys.readouterr().err


def test_verify_without_manifest_says_how_to_fix(tmp_path, capsys):
    assert main(["verify", "mnist", "--root", str(tmp_path)]) == 1
    assert "s4-data download mnist" in capsys.readouterr().err
