import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from s4_tasks import ChecksumError, DownloadError, download, fixtures, get_dataset
from s4_tasks.download import extract_tar, fetch, file_digests
from s4_tasks.sources import Resource, Source


def _resource(path: Path, *, urls=None, sha256=None, size=None, md5=None) -> Resource:
    data = path.read_bytes()
    return Resource(
        filename=path.name,
        urls=tuple(urls or [path.as_uri()]),
        sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256,
        size=len(data) if size is None else size,
        md5=hashlib.md5(data).hexdigest() if md5 is None else md5,
    )


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def payload(tmp_path) -> Path:
    path = tmp_path / "server" / "blob.bin"
    path.parent.mkdir()
    path.write_bytes(bytes(range(256)) * 40)
    return path


def test_fetch_verifies_and_places_the_file(payload, tmp_path):
    dest = tmp_path / "dest"
    got = fetch(_resource(payload), dest, progress=False)
    assert got == dest / "blob.bin" and got.read_bytes() == payload.read_bytes()
    assert _listing(dest) == ["blob.bin"]  # no temporary file left
    digests = file_digests(got)
    assert digests["size"] == payload.stat().st_size
    assert digests["sha256"] == hashlib.sha256(payload.read_bytes()).hexdigest()


@pytest.mark.parametrize("field", ["sha256", "md5", "size"])
def test_checksum_mismatch_raises_and_leaves_nothing(payload, tmp_path, field):
    wrong = {"sha256": "0" * 64, "md5": "0" * 32, "size": 3}[field]
    resource = _resource(payload, **{field: wrong})
    dest = tmp_path / "dest"
    with pytest.raises(ChecksumError, match=f"blob.bin.*{field} mismatch: expected {wrong}"):
        fetch(resource, dest, progress=False)
    assert not (dest / "blob.bin").exists()
    assert _listing(dest) == []  # the partial download was removed


def test_mirrors_are_tried_in_order(payload, tmp_path):
    missing = (tmp_path / "server" / "gone.bin").as_uri()
    resource = _resource(payload, urls=[missing, payload.as_uri()])
    assert fetch(resource, tmp_path / "dest", progress=False).read_bytes() == payload.read_bytes()
    dead = _resource(payload, urls=[missing])
    with pytest.raises(DownloadError, match=r"every mirror.*gone\.bin"):
        fetch(dead, tmp_path / "dest2", progress=False)
    assert _listing(tmp_path / "dest2") == []


def test_existing_verified_file_is_kept_and_damaged_one_replaced(payload, tmp_path):
    resource = _resource(payload)
    dest = tmp_path / "dest"
    first = fetch(resource, dest, progress=False)
    offline = Resource(**{**resource.__dict__, "urls": ((tmp_path / "nope").as_uri(),)})
    assert fetch(offline, dest, progress=False) == first  # verified copy, no network needed
    first.write_bytes(b"damaged")
    assert fetch(resource, dest, progress=False).read_bytes() == payload.read_bytes()


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_download_extracts_archives_to_the_standard_layout(tmp_path):
    archive = _tar(
        tmp_path / "words.tar.gz",
        {"./yes/a.wav": b"1", "./testing_list.txt": b"yes/a.wav\n", "LICENSE": b"cc"},
    )
    source = Source(
        name="words", description="test", resources=(_resource(archive),), download_dir="",
        extract_to="words_v1", loader_root="words_v1", marker="words_v1/testing_list.txt",
    )  # fmt: skip
    root = tmp_path / "data"
    out = download("words", root, sources={"words": source}, progress=False)
    assert out == root / "words_v1"
    assert _listing(root) == [
        ".s4_manifest_words.json", "words_v1", "words_v1/LICENSE", "words_v1/testing_list.txt",
        "words_v1/yes", "words_v1/yes/a.wav",
    ]  # fmt: skip
    # Present now: a second call does nothing (even with every mirror gone).
    offline = Source(**{**source.__dict__, "resources": ()})
    assert download("words", root, sources={"words": offline}, progress=False) == out
    kept = download(
        "words", tmp_path / "keep", sources={"words": source}, progress=False, keep_archive=True
    )
    assert (tmp_path / "keep" / "words.tar.gz").is_file() and kept.is_dir()


def test_download_of_idx_files_feeds_the_loader(tmp_path):
    served = fixtures.write_mnist(tmp_path / "server", n_train=6, n_test=4)
    resources = tuple(_resource(p) for p in sorted(served.iterdir()))
    source = Source(
        name="mnist", description="test", resources=resources, download_dir="mnist",
        loader_root="mnist", marker="mnist/t10k-labels-idx1-ubyte.gz",
    )  # fmt: skip
    root = download("mnist", tmp_path / "data", sources={"mnist": source}, progress=False)
    task = get_dataset("mnist", root=root, val_split=0.0)
    assert (len(task.train), len(task.test)) == (6, 4)


def test_unsafe_or_corrupt_archives_are_refused(tmp_path):
    evil = _tar(tmp_path / "evil.tar.gz", {"../escaped.txt": b"x"})
    dest = tmp_path / "out"
    with pytest.raises(ValueError, match=r"evil\.tar\.gz"):
        extract_tar(evil, dest)
    assert not (tmp_path / "escaped.txt").exists() and _listing(dest) == []
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(_tar(tmp_path / "ok.tar.gz", {"a": b"1" * 5000}).read_bytes()[:40])
    with pytest.raises(ValueError, match="corrupt or truncated tar archive"):
        extract_tar(broken, dest)
    assert _listing(dest) == []


def test_download_rejects_unknown_names_and_bad_layouts(tmp_path):
    with pytest.raises(ValueError, match="unknown downloadable dataset 'imagenet'"):
        download("imagenet", tmp_path, progress=False)
    archive = _tar(tmp_path / "flat.tar.gz", {"other.txt": b"1"})
    source = Source(
        name="flat", description="test", resources=(_resource(archive),), download_dir="",
        extract_to="", loader_root="flat", marker="flat/expected.txt",
    )  # fmt: skip
    with pytest.raises(ValueError, match="standard layout"):
        download("flat", tmp_path / "data", sources={"flat": source}, progress=False)


def test_progress_bar_reports_the_transfer(payload, tmp_path, capsys):
    fetch(_resource(payload), tmp_path / "dest", progress=True)
    err = capsys.readouterr().err
    assert "blob.bin" in err and "100%" in err


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _no_digest(path: Path, name: str) -> Resource:
    return Resource(filename=name, urls=(path.as_uri(),), sha256=None, unverified="none given")


def test_wikitext_zip_extracts_to_the_loader_layout_with_a_warning(tmp_path):
    from dataclasses import replace

    from s4_tasks import SOURCES, UnverifiedDownloadWarning

    text = " = T = \n the cat sat on the mat . \n" * 5
    (tmp_path / "server").mkdir()
    archive = _zip(
        tmp_path / "server" / "wikitext-2-v1.zip",
        {f"wikitext-2/wiki.{s}.tokens": text.encode() for s in ("train", "valid", "test")},
    )
    source = replace(
        SOURCES["wikitext2"], resources=(_no_digest(archive, "wikitext-2-v1.zip"),)
    )  # the real entry, served from a local file
    root = tmp_path / "data"
    with pytest.warns(UnverifiedDownloadWarning, match=r"wikitext2: wikitext-2-v1\.zip"):
        out = download("wikitext2", root, sources={"wikitext2": source}, progress=False)
    assert out == root / "wikitext-2" and not (root / "wikitext-2-v1.zip").exists()
    data = get_dataset("wikitext2", root=str(out), seq_len=4)
    assert data.d_input > 3  # the vocabulary was built from the extracted train split


def test_lra_release_tar_extracts_to_the_loader_layout(tmp_path):
    from dataclasses import replace

    from s4_tasks import SOURCES, UnverifiedDownloadWarning

    (tmp_path / "server").mkdir()
    archive = _tar(
        tmp_path / "server" / "lra_release.gz",
        {"lra_release/listops-1000/basic_test.tsv": b"Source\tTarget\n"},
    )
    source = replace(SOURCES["lra"], resources=(_no_digest(archive, "lra_release.gz"),))
    with pytest.warns(UnverifiedDownloadWarning):
        out = download("lra", tmp_path / "data", sources={"lra": source}, progress=False)
    assert out == tmp_path / "data" / "lra_release"
    assert (out / "listops-1000" / "basic_test.tsv").is_file()


def test_corrupt_or_unsafe_zip_is_refused(tmp_path):
    bad = tmp_path / "bad.zip"
    good = _zip(tmp_path / "good.zip", {"a/b.txt": b"x" * 100})
    bad.write_bytes(good.read_bytes()[:-30])  # truncated: the central directory is cut
    with pytest.raises(ValueError, match=r"bad\.zip: corrupt or truncated"):
        extract_tar(bad, tmp_path / "out")
    unsafe = _zip(tmp_path / "unsafe.zip", {"../escape.txt": b"x"})
    with pytest.raises(ValueError, match=r"unsafe\.zip: refusing unsafe archive member"):
        extract_tar(unsafe, tmp_path / "out2")
    assert not (tmp_path / "escape.txt").exists()


def test_offline_download_names_the_file_and_every_mirror(tmp_path, monkeypatch):
    import urllib.error
    import urllib.request

    from s4_tasks import UnverifiedDownloadWarning

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.warns(UnverifiedDownloadWarning), pytest.raises(DownloadError) as err:
        download("wikitext103", tmp_path, progress=False)
    message = str(err.value)
    assert "wikitext-103-v1.zip: download failed from every mirror" in message
    assert "https://wikitext.smerity.com/wikitext-103-v1.zip" in message
    assert "no network" in message
    assert list(tmp_path.iterdir()) == []  # nothing half-written
