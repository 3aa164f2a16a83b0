"""``s4-data``: list, download and check datasets.

s4-data list [--root DIR]
s4-data download NAME [--root DIR] [--force] [--keep-archive] [--no-progress]
s4-data check NAME [--root DIR]     (re-hash the files, then load the dataset)
s4-data verify NAME [--root DIR]    (re-hash every downloaded file against its manifest)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from s4_tasks.download import ChecksumError, DownloadError, download
from s4_tasks.manifest import status, verify
from s4_tasks.sources import SOURCES

DEFAULT_ROOT = "data"


def _size(nbytes: int | None) -> str:
    if nbytes is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


def cmd_list(args: argparse.Namespace) -> int:
    root = Path(args.root)
    print(f"{'name':<17}{'size':>11}  {'status':<10} loader root / description")
    for name, source in SOURCES.items():
        state = status(source, root).state
        print(f"{name:<17}{_size(source.size):>11}  {state:<10} {root / source.loader_root}")
        print(f"{'':<40} {source.description}")
    print(
        "present = every downloaded file there with its size (`s4-data verify` re-hashes); "
        "unverified = placed by hand (no download manifest)"
    )
    print(
        "no download: copying, adding, audio_synthetic, char (shipped text); "
        "your own files: npz, audio_folder, char (path=FILE)"
    )
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    try:
        path = download(
            args.name,
            args.root,
            progress=not args.no_progress,
            force=args.force,
            keep_archive=args.keep_archive,
        )
    except (ChecksumError, DownloadError, ValueError) as err:
        print(f"s4-data download {args.name}: error: {err}", file=sys.stderr)
        return 1
    print(f"{args.name}: ready; pass root={path} to the loader")
    return 0


def _report_verify(name: str, root: str) -> int:
    result = verify(SOURCES[name], root, progress=True)
    for problem in result.problems:
        print(f"s4-data verify {name}: {problem}", file=sys.stderr)
    if result.problems:
        print(
            f"s4-data verify {name}: error: {len(result.problems)} problem(s); download again "
            f"with `s4-data download {name} --root {root} --force`",
            file=sys.stderr,
        )
        return 1
    print(f"{name}: all {result.n_files} files verified (size and SHA-256)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    return _report_verify(args.name, args.root)


def cmd_check(args: argparse.Namespace) -> int:
    from s4_tasks.registry import get_dataset

    source = SOURCES[args.name]
    if status(source, args.root).state != "unverified" and _report_verify(args.name, args.root):
        return 1
    try:
        task = get_dataset(args.name, root=str(Path(args.root) / source.loader_root))
        x, y = task.train[0]
    except (ValueError, FileNotFoundError) as err:
        print(f"s4-data check {args.name}: error: {err}", file=sys.stderr)
        return 1
    print(task.summary())
    print(f"first train item: x {tuple(x.shape)} {x.dtype}, y {tuple(y.shape)} {y.dtype}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s4-data", description="List, download (with checksums) and check datasets."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="the downloadable datasets and whether they are present")
    p_list.add_argument("--root", default=DEFAULT_ROOT, help="data folder (default: data)")
    p_list.set_defaults(func=cmd_list)
    p_dl = sub.add_parser("download", help="fetch, verify (SHA-256) and extract a dataset")
    p_dl.add_argument("name", choices=sorted(SOURCES))
    p_dl.add_argument("--root", default=DEFAULT_ROOT, help="data folder (default: data)")
    p_dl.add_argument("--force", action="store_true", help="download again even if present")
    p_dl.add_argument("--keep-archive", action="store_true", help="keep the .tar.gz after use")
    p_dl.add_argument("--no-progress", action="store_true", help="no progress bar")
    p_dl.set_defaults(func=cmd_download)
    p_check = sub.add_parser("check", help="load a downloaded dataset and print its shapes")
    p_check.add_argument("name", choices=sorted(SOURCES))
    p_check.add_argument("--root", default=DEFAULT_ROOT, help="data folder (default: data)")
    p_check.set_defaults(func=cmd_check)
    p_verify = sub.add_parser("verify", help="re-hash every downloaded file (size and SHA-256)")
    p_verify.add_argument("name", choices=sorted(SOURCES))
    p_verify.add_argument("--root", default=DEFAULT_ROOT, help="data folder (default: data)")
    p_verify.set_defaults(func=cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
