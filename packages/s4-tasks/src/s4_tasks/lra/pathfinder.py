"""Pathfinder (Long Range Arena): are the two circle markers joined by one dashed path?

An image of ``resolution**2`` grayscale pixels, read in raster order as a sequence:
x float32 ``(resolution**2, 1)`` with the LRA normalisation ``(pixel / 255 - 0.5) / 0.5``
(values in [-1, 1]), y int64 in {0, 1}. LRA uses 32, 64 and 128 (= Path-X, L = 16384).

Release layout (``lra_release/pathfinder{R}/{difficulty}/``): ``imgs/N/sample_K.png`` and
``metadata/N.npy`` - despite the suffix, a text file with one line per image whose fields are
``imgs/N sample_K.png <id> <label> ...`` (the label is the 4th field). The release has no
fixed splits: a seeded 80/10/10 split is drawn here (as the S4 pipeline does).

Generator (``root=None``): two dashed, smoothly curving paths plus ``n_distractors`` short
dashed paths; label 1 puts both markers on the two ends of the first path, label 0 one
marker on an end of each path (so the marker count and path count carry no label cue).
Labels are balanced (item i has label ``i % 2`` of a seeded permutation).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from s4_tasks.base import (
    DataFormatError,
    IndexedDataset,
    SequenceDataset,
    check_choice,
    check_int,
    split_indices,
)
from s4_tasks.lra.padding import missing_lra

log = logging.getLogger(__name__)

RESOLUTIONS = (32, 64, 128)
DIFFICULTIES = ("curv_baseline", "curv_contour_length_9", "curv_contour_length_14")


def normalize_pixels(pixels: np.ndarray) -> torch.Tensor:
    """uint8 (R, R) -> float32 (R*R, 1): (p / 255 - 0.5) / 0.5, the LRA normalisation."""
    x = (pixels.astype(np.float32) / 255.0 - 0.5) / 0.5
    return torch.from_numpy(x.reshape(-1, 1))


def _walk(rng: np.random.Generator, res: int, n_steps: int) -> np.ndarray:
    """(n_steps, 2) points of a curved walk that stays inside the image (unit step length)."""
    margin = 0.15 * res
    for _ in range(100):
        pos = rng.uniform(margin, res - margin, size=2)
        heading = rng.uniform(0, 2 * np.pi)
        points = [pos.copy()]
        for _ in range(n_steps - 1):
            # heading changes by a small random turn: a smooth curve, not a random walk
            heading += rng.normal(0.0, 0.25)
            pos = pos + np.array([np.cos(heading), np.sin(heading)])
            points.append(pos.copy())
        pts = np.asarray(points)
        if pts.min() >= 1 and pts.max() <= res - 2:
            return pts
    return np.clip(pts, 1, res - 2)


def _draw_dashed(img: np.ndarray, pts: np.ndarray, dash: int, gap: int) -> None:
    for k, (px, py) in enumerate(pts):
        if k % (dash + gap) < dash:
            img[round(py), round(px)] = 255


def _draw_marker(img: np.ndarray, centre: np.ndarray, radius: float) -> None:
    res = img.shape[0]
    centre = np.round(centre)  # on the pixel grid, so the blob is symmetric
    yy, xx = np.mgrid[0:res, 0:res]
    img[(xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2] = 255


def generate_pathfinder(
    rng: np.random.Generator,
    label: int,
    resolution: int = 32,
    n_distractors: int = 3,
    dashed: bool = True,
) -> np.ndarray:
    """One uint8 (resolution, resolution) image with the given label (see module doc).

    The two main paths keep more than ``5 * resolution / 32`` pixels apart, so they never touch;
    ``dashed=False`` draws solid paths (used by the tests to check connectivity).
    """
    scale = resolution / 32
    img = np.zeros((resolution, resolution), dtype=np.uint8)
    length = int(24 * scale)
    dash, gap = (max(1, int(2 * scale)), max(1, int(scale))) if dashed else (1, 0)
    for _ in range(1000):
        path_a, path_b = _walk(rng, resolution, length), _walk(rng, resolution, length)
        # min distance between the two paths: they (and their markers) must not touch
        gaps = np.linalg.norm(path_a[:, None, :] - path_b[None, :, :], axis=-1)
        if gaps.min() > 5 * scale:
            break
    for pts in (path_a, path_b):
        _draw_dashed(img, pts, dash, gap)
    for _ in range(n_distractors):
        _draw_dashed(img, _walk(rng, resolution, max(3, length // 3)), dash, gap)
    ends = (path_a[0], path_a[-1]) if label == 1 else (path_a[0], path_b[-1])
    for end in ends:
        _draw_marker(img, end, 1.5 * scale)
    return img


class GeneratedPathfinder:
    """Backing store of ``n`` generated images; image i is drawn from ``(seed, i)``."""

    def __init__(self, n: int, seed: int, resolution: int, n_distractors: int) -> None:
        self.n, self.seed, self.resolution, self.n_distractors = n, seed, resolution, n_distractors
        # balanced labels: half ones, in a seeded order
        self.labels = np.random.default_rng([seed, 1]).permutation(np.arange(n) % 2)

    def __len__(self) -> int:
        return self.n

    def get(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        label = int(self.labels[i])
        rng = np.random.default_rng([self.seed, 0, i])
        img = generate_pathfinder(rng, label, self.resolution, self.n_distractors)
        return normalize_pixels(img), torch.tensor(label, dtype=torch.int64)


def read_png(path: Path, resolution: int) -> np.ndarray:
    """uint8 (resolution, resolution) grayscale pixels of a PNG (DataFormatError if bad)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("L"))
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise DataFormatError(f"{path}: not a readable PNG ({err})") from err
    if pixels.shape != (resolution, resolution):
        raise DataFormatError(
            f"{path}: expected a {resolution}x{resolution} image, got {pixels.shape}"
        )
    return pixels


def read_metadata(folder: Path) -> list[tuple[Path, int]]:
    """(image path, label) for every line of ``folder/metadata/*.npy`` (text, see module doc)."""
    files = sorted((folder / "metadata").glob("*.npy"), key=lambda p: (len(p.stem), p.stem))
    items: list[tuple[Path, int]] = []
    for meta in files:
        for line_no, line in enumerate(meta.read_text().splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 4 or fields[3] not in ("0", "1"):
                raise DataFormatError(
                    f"{meta}:{line_no}: expected 'imgs/N sample_K.png id label ...', got {line!r}"
                )
            items.append((folder / fields[0] / fields[1], int(fields[3])))
    return items


class ReleasePathfinder:
    """Backing store over the release images, decoded on access."""

    def __init__(self, items: list[tuple[Path, int]], resolution: int) -> None:
        self.items, self.resolution = items, resolution

    def __len__(self) -> int:
        return len(self.items)

    def get(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        path, label = self.items[i]
        return normalize_pixels(read_png(path, self.resolution)), torch.tensor(label)


def pathfinder(
    *,
    root: str | None = None,
    resolution: int = 32,
    difficulty: str = "curv_baseline",
    n_samples: int = 20000,
    n_distractors: int = 3,
    val_split: float = 0.1,
    test_split: float = 0.1,
    seed: int = 0,
) -> SequenceDataset:
    """Pathfinder at ``resolution`` in {32, 64, 128}: the release under ``root``
    (``pathfinder{R}/{difficulty}/`` or that folder itself) or, with ``root=None``,
    ``n_samples`` generated images. Splits: seeded ``val_split`` / ``test_split`` fractions."""
    resolution = check_choice("resolution", resolution, RESOLUTIONS)
    if root is None:
        n = check_int("n_samples", n_samples, 3)
        check_int("n_distractors", n_distractors, 0)
        log.warning(
            "pathfinder: no dataset.root given, using GENERATED Pathfinder-%d (%d images, "
            "seed=%d); pass dataset.root=DIR for the LRA release files",
            resolution,
            n,
            seed,
        )
        store = GeneratedPathfinder(n, seed, resolution, n_distractors)
        source = "generated"
    else:
        check_choice("difficulty", difficulty, DIFFICULTIES)
        folder = Path(root)
        if (folder / "lra_release").is_dir():
            folder = folder / "lra_release"
        if (folder / f"pathfinder{resolution}" / difficulty).is_dir():
            folder = folder / f"pathfinder{resolution}" / difficulty
        if not (folder / "metadata").is_dir():
            raise missing_lra("pathfinder", root, f"pathfinder{resolution}/{difficulty}/metadata")
        items = read_metadata(folder)
        if not items:
            raise DataFormatError(f"{folder / 'metadata'}: no metadata lines")
        store = ReleasePathfinder(items, resolution)
        source = str(folder)
    val, test, train = split_indices(len(store), [val_split, test_split], seed)
    return SequenceDataset(
        IndexedDataset(store, train),
        IndexedDataset(store, val),
        IndexedDataset(store, test),
        d_input=1,
        d_output=2,
        l_max=resolution * resolution,
        input_kind="real",
        output_kind="class",
        l_output=None,
        name="pathfinder",
        chance=0.5,
        classes=["disconnected", "connected"],
        info={"source": source, "resolution": resolution, "normalisation": "(p/255-0.5)/0.5"},
    )
