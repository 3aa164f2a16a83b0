"""Explicit dataset download: fetch, verify, extract. Never called by the loaders.

Each file is streamed to a hidden temporary file next to its destination while its SHA-256
(and MD5 / size where published) is computed; only a file whose digests all match is moved
into place (an atomic rename), so a failed, interrupted or tampered download leaves nothing
behind. Mirrors are tried in order. Tar archives are extracted into a temporary folder with
the tarfile "data" filter (no absolute paths, no ``..``, no links outside) and then moved
into the standard layout; zip archives (WikiText) the same way, refusing members that would
land outside the target. A resource with no published digest (``sha256`` None) is fetched
with an :class:`UnverifiedDownloadWarning` saying so, never silently treated as verified.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path

from tqdm.auto import tqdm

from s4_tasks.__about__ import __version__
from s4_tasks.sources import SOURCES, Resource, Source

CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A downloaded file does not match its published size or digest."""


class UnverifiedDownloadWarning(UserWarning):
    """A file was fetched from a source that publishes no checksum: it is not verified."""


class DownloadError(OSError):
    """No mirror delivered a verified copy of a file; the message lists every attempt."""


def file_digests(path: str | Path) -> dict[str, str | int]:
    """sha256, md5 and size of a file, read in chunks."""
    sha256, md5, size = hashlib.sha256(), hashlib.md5(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest(), "size": size}


def check_digests(resource: Resource, got: dict[str, str | int], where: str) -> None:
    """ChecksumError naming ``where`` if ``got`` disagrees with the published values."""
    expected = {"size": resource.size, "sha256": resource.sha256, "md5": resource.md5}
    for key, want in expected.items():
        if want is not None and got[key] != want:
            raise ChecksumError(
                f"{resource.filename} from {where}: {key} mismatch: expected {want}, "
                f"got {got[key]}; the file was discarded"
            )


def _fetch_one(url: str, dest: Path, resource: Resource, progress: bool, timeout: float) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=dest.parent, prefix=f".{dest.name}.", suffix=".part", delete=False
    )
    tmp = Path(handle.name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": f"s4-tasks/{__version__}"})
        sha256, md5, size = hashlib.sha256(), hashlib.md5(), 0
        with handle, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else resource.size
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=resource.filename,
                disable=not progress,
            ) as bar:
                while chunk := response.read(CHUNK):
                    handle.write(chunk)
                    sha256.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
        got = {"sha256": sha256.hexdigest(), "md5": md5.hexdigest(), "size": size}
        check_digests(resource, got, url)
        os.replace(tmp, dest)
    finally:
        # Reached with tmp still present only on failure (including Ctrl-C).
        tmp.unlink(missing_ok=True)


def fetch(
    resource: Resource,
    folder: str | Path,
    *,
    progress: bool = True,
    force: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Download ``resource`` into ``folder`` (trying each mirror) and return its path.

    An existing file that already verifies is kept (unless ``force``).
    """
    dest = Path(folder) / resource.filename
    if dest.is_file() and not force:
        try:
            check_digests(resource, file_digests(dest), str(dest))
            return dest
        except ChecksumError:
            pass  # a stale or damaged copy: fetch it again
    failures: list[Exception] = []
    for url in resource.urls:
        try:
            _fetch_one(url, dest, resource, progress, timeout)
            return dest
        except (urllib.error.URLError, OSError, ChecksumError) as err:
            failures.append(err)
    detail = "; ".join(f"{type(e).__name__}: {e}" for e in failures)
    if failures and all(isinstance(e, ChecksumError) for e in failures):
        raise ChecksumError(f"{resource.filename}: no mirror gave a verified copy: {detail}")
    raise DownloadError(
        f"{resource.filename}: download failed from every mirror {list(resource.urls)}: {detail}"
    )


def _check_member(member: tarfile.TarInfo, target: Path) -> None:
    """Fallback safety check for Pythons without tarfile.data_filter."""
    resolved = (target / member.name).resolve()
    if not resolved.is_relative_to(target.resolve()) or member.issym() or member.islnk():
        raise ValueError(f"refusing unsafe archive member {member.name!r}")


def _extract_zip(archive: Path, staging: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                resolved = (staging / info.filename).resolve()
                if info.filename.startswith("/") or not resolved.is_relative_to(staging.resolve()):
                    raise ValueError(f"{archive}: refusing unsafe archive member {info.filename!r}")
            zf.extractall(staging)
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ValueError(f"{archive}: corrupt or truncated zip archive ({err})") from err


def extract_tar(archive: str | Path, dest: str | Path) -> list[Path]:
    """Extract ``archive`` (tar of any compression, or zip) into ``dest`` safely and
    atomically per top-level entry.

    Returns the top-level paths created. A corrupt archive raises ValueError naming it and
    leaves ``dest`` untouched.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=".extract-"))
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, staging)
        else:
            _extract_tar_into(archive, staging)
        created = []
        for entry in sorted(staging.iterdir()):
            target = dest / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            os.replace(entry, target)
            created.append(target)
        return created
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract_tar_into(archive: Path, staging: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, filter="data")
            else:  # pragma: no cover - Python < 3.10.12
                for member in tar.getmembers():
                    _check_member(member, staging)
                tar.extractall(staging)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ValueError(f"{archive}: corrupt or truncated tar archive ({err})") from err


def is_present(source: Source, root: str | Path) -> bool:
    """Whether every file of ``source``'s download manifest is under ``root`` with its size.

    The marker file alone is not trusted (see ``s4_tasks.manifest``).
    """
    from s4_tasks.manifest import status

    return status(source, root).state == "present"


def download(
    name: str,
    root: str | Path = "data",
    *,
    sources: dict[str, Source] | None = None,
    progress: bool = True,
    force: bool = False,
    keep_archive: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Fetch, verify and lay out dataset ``name`` under ``root``; returns the loader root.

    Skips the work when the dataset is already present (unless ``force``). Tar archives are
    deleted after extraction unless ``keep_archive``.
    """
    sources = SOURCES if sources is None else sources
    if name not in sources:
        raise ValueError(
            f"unknown downloadable dataset {name!r}; expected one of {sorted(sources)}"
        )
    source = sources[name]
    root = Path(root)
    if is_present(source, root) and not force:
        return root / source.loader_root
    from s4_tasks.manifest import write_manifest

    folder = root / source.download_dir
    files: list[Path] = []
    for resource in source.resources:
        if resource.sha256 is None:
            warnings.warn(
                f"{name}: {resource.filename}: {resource.unverified or 'no published checksum'}"
                " (known_hash=None); check the files yourself if that matters",
                UnverifiedDownloadWarning,
                stacklevel=2,
            )
        path = fetch(resource, folder, progress=progress, force=force, timeout=timeout)
        if source.extract_to is not None:
            for top in extract_tar(path, root / source.extract_to):
                files.extend(p for p in ([top] if top.is_file() else top.rglob("*")) if p.is_file())
            if not keep_archive:
                path.unlink()
        else:
            files.append(path)
    if not (root / source.marker).exists():
        raise ValueError(
            f"{name}: after download, expected {root / source.marker} to exist; the archive "
            "does not have the standard layout"
        )
    write_manifest(source, root, files)
    return root / source.loader_root
