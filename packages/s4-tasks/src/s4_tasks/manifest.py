"""What a completed download left on disk, so presence is checked file by file.

After ``s4-data download NAME`` verifies every fetched file against its published digests,
it records every resulting file (relative path, size, SHA-256) in the manifest
``root/.s4_manifest_NAME.json``. Then:

- ``status``: "present" only when the manifest exists and every file in it is there with its
  recorded size (cheap: no hashing); "incomplete" names what is absent or resized;
  "unverified" means the loader's marker exists but no download manifest (files placed by
  hand); "missing" otherwise. The marker file alone is never trusted.
- ``verify``: re-hashes every file against the manifest (``s4-data verify`` / ``check``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from s4_tasks.sources import Source

MANIFEST_VERSION = 1


def manifest_path(source: Source, root: str | Path) -> Path:
    return Path(root) / f".s4_manifest_{source.name}.json"


def write_manifest(source: Source, root: str | Path, files: list[Path]) -> Path:
    """Record ``files`` (under ``root``) with their sizes and SHA-256; returns the manifest."""
    from s4_tasks.download import file_digests

    root = Path(root)
    entries = {}
    for path in sorted(files):
        digests = file_digests(path)
        entries[path.relative_to(root).as_posix()] = {
            "size": digests["size"],
            "sha256": digests["sha256"],
        }
    out = manifest_path(source, root)
    out.write_text(json.dumps({"version": MANIFEST_VERSION, "files": entries}, indent=1))
    return out


def read_manifest(source: Source, root: str | Path) -> dict[str, dict] | None:
    """The manifest's ``{relpath: {size, sha256}}``, or None when absent or unreadable."""
    path = manifest_path(source, root)
    try:
        data = json.loads(path.read_text())
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return files if isinstance(files, dict) and files else None


@dataclass
class Status:
    """``state`` in present / incomplete / unverified / missing, with what is wrong."""

    state: str
    problems: list[str] = field(default_factory=list)
    n_files: int = 0


def status(source: Source, root: str | Path) -> Status:
    """Presence of ``source`` under ``root`` by manifest and file sizes (see module doc)."""
    root = Path(root)
    files = read_manifest(source, root)
    if files is None:
        state = "unverified" if (root / source.marker).exists() else "missing"
        return Status(state)
    problems = []
    for rel, entry in files.items():
        path = root / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != entry["size"]:
            problems.append(
                f"{path}: size mismatch: expected {entry['size']}, got {path.stat().st_size}"
            )
    return Status("incomplete" if problems else "present", problems, len(files))


def verify(source: Source, root: str | Path, progress: bool = False) -> Status:
    """Re-hash every file of the manifest; problems name each missing or changed file."""
    from tqdm.auto import tqdm

    from s4_tasks.download import file_digests

    root = Path(root)
    files = read_manifest(source, root)
    if files is None:
        return Status(
            "missing",
            [
                f"{manifest_path(source, root)}: no download manifest; run "
                f"`s4-data download {source.name} --root {root}` (files placed by hand cannot "
                "be verified)"
            ],
        )
    problems = []
    for rel, entry in tqdm(files.items(), desc=f"verify {source.name}", disable=not progress):
        path = root / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        got = file_digests(path)
        for key in ("size", "sha256"):
            if got[key] != entry[key]:
                problems.append(f"{path}: {key} mismatch: expected {entry[key]}, got {got[key]}")
                break
    return Status("incomplete" if problems else "present", problems, len(files))
