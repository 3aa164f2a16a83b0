"""Pathfinder: generator (balanced, deterministic, connected vs not), release-layout reader."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from s4_tasks import get_dataset
from s4_tasks.base import DataFormatError, MissingDataError
from s4_tasks.lra.pathfinder import generate_pathfinder, pathfinder


def test_generated_items_are_deterministic_balanced_and_normalised() -> None:
    a = pathfinder(n_samples=40, seed=2)
    b = pathfinder(n_samples=40, seed=2)
    x, _ = a.train[0]
    assert x.shape == (1024, 1) and x.dtype == torch.float32 and a.l_max == 1024
    assert x.min() >= -1 and x.max() <= 1 and set(x.unique().tolist()) <= {-1.0, 1.0}
    for i in range(len(a.train)):
        assert torch.equal(a.train[i][0], b.train[i][0]) and a.train[i][1] == b.train[i][1]
    labels = [int(a.train.source.get(i)[1]) for i in range(40)]
    assert sum(labels) == 20  # exactly balanced
    assert not torch.equal(pathfinder(n_samples=40, seed=3).train[0][0], x)


@pytest.mark.parametrize("resolution", [32, 64, 128])
def test_resolution_option(resolution) -> None:
    data = get_dataset("pathfinder", resolution=resolution, n_samples=10)
    assert data.train[0][0].shape == (resolution * resolution, 1)


def test_markers_lie_on_one_path_iff_label_is_one() -> None:
    # Independent check on the raster: drawn solid and without distractors, the two markers
    # (plus-shaped blobs, found by eroding with a cross; thin paths vanish) lie in one
    # 8-connected component exactly when the label is 1.
    rng = np.random.default_rng(0)
    cross = ndimage.generate_binary_structure(2, 1)
    for k in range(60):
        label = k % 2
        img = generate_pathfinder(rng, label, 32, n_distractors=0, dashed=False) > 0
        components, _ = ndimage.label(img, structure=np.ones((3, 3)))
        centres = ndimage.binary_erosion(img, structure=cross)
        marker_components = set(components[centres].tolist())
        assert len(marker_components) == (1 if label == 1 else 2), k


def write_release(root, resolution=32, n=6, corrupt=False):
    folder = root / f"pathfinder{resolution}" / "curv_baseline"
    (folder / "imgs" / "0").mkdir(parents=True)
    (folder / "metadata").mkdir()
    lines = []
    rng = np.random.default_rng(0)
    for k in range(n):
        img = generate_pathfinder(rng, k % 2, resolution, 1)
        Image.fromarray(img).save(folder / "imgs" / "0" / f"sample_{k}.png")
        lines.append(f"imgs/0 sample_{k}.png {k} {k % 2} 1 2")
    (folder / "metadata" / "0.npy").write_text("\n".join(lines) + "\n")
    if corrupt:
        png = folder / "imgs" / "0" / "sample_0.png"
        png.write_bytes(png.read_bytes()[:30])
    return folder


def test_reader_of_release_layout(tmp_path) -> None:
    folder = write_release(tmp_path)
    data = pathfinder(root=str(tmp_path), val_split=0.2, test_split=0.2)
    assert len(data.train) + len(data.val) + len(data.test) == 6
    seen = {}
    for split in (data.train, data.val, data.test):
        for j in range(len(split)):
            i = int(split.indices[j])
            x, y = split[j]
            pixels = np.asarray(Image.open(folder / "imgs" / "0" / f"sample_{i}.png"))
            expected = (pixels.astype(np.float32) / 255 - 0.5) / 0.5
            np.testing.assert_array_equal(x[:, 0].numpy(), expected.reshape(-1))
            seen[i] = int(y)
    assert seen == {k: k % 2 for k in range(6)}


def test_reader_errors_name_the_file(tmp_path) -> None:
    write_release(tmp_path, corrupt=True)
    data = pathfinder(root=str(tmp_path), val_split=0.0, test_split=0.0)
    with pytest.raises(DataFormatError, match=r"sample_0\.png"):
        data.train.source.get(0)
    with pytest.raises(DataFormatError, match=r"expected a 64x64 image"):
        pathfinder(
            root=str(tmp_path / "pathfinder32" / "curv_baseline"),
            resolution=64,
            val_split=0.0,
            test_split=0.0,
        ).train.source.get(1)
    meta = tmp_path / "pathfinder32" / "curv_baseline" / "metadata" / "0.npy"
    meta.write_text("imgs/0 sample_0.png\n")
    with pytest.raises(DataFormatError, match=r"0\.npy:1"):
        pathfinder(root=str(tmp_path))
    with pytest.raises(
        MissingDataError, match=r"pathfinder64/curv_baseline/metadata.*lra_release\.gz"
    ):
        pathfinder(root=str(tmp_path / "nothing"), resolution=64)
    with pytest.raises(ValueError, match="resolution must be one of"):
        pathfinder(resolution=48)
