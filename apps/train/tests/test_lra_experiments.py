"""LRA experiments: two training steps each, and padding never changes the logits."""

from __future__ import annotations

import math

import pytest
import torch

from s4_train import compose_config, run_experiment
from s4_train.network import DataSpec, build_network

TINY_LISTOPS = [
    "dataset.max_length=48",
    "dataset.min_length=8",
    "dataset.max_depth=3",
    "dataset.max_args=4",
    "dataset.n_train=16",
    "dataset.n_val=8",
    "dataset.n_test=8",
]

TINY_PATHFINDER = ["dataset.n_samples=24"]

EXPERIMENTS = {
    "lra/listops-s4": TINY_LISTOPS,
    "lra/listops-s4d": TINY_LISTOPS,
    "lra/pathfinder-s4": TINY_PATHFINDER,
    "lra/pathfinder-s4d": TINY_PATHFINDER,
    "lra/pathx-s4": TINY_PATHFINDER,
    "lra/pathx-s4d": TINY_PATHFINDER,
    "lra/text-s4": ["dataset.root={root}", "dataset.max_length=64", "dataset.val_split=0.25"],
    "lra/text-s4d": ["dataset.root={root}", "dataset.max_length=64", "dataset.val_split=0.25"],
    "lra/retrieval-s4": ["dataset.root={root}", "dataset.max_length=64"],
    "lra/retrieval-s4d": ["dataset.root={root}", "dataset.max_length=64"],
    "lra/image-s4": ["dataset.root={cifar}"],
    "lra/image-s4d": ["dataset.root={cifar}"],
}
GENERATED = {
    "listops": "GENERATED ListOps",
    "pathfinder": "GENERATED Pathfinder",
    "pathx": "GENERATED Pathfinder-128",
    "text": "",
    "retrieval": "",
    "image": "",
}


@pytest.fixture(scope="module")
def lra_root(tmp_path_factory) -> str:
    """A tiny aclImdb tree in the release layout."""
    root = tmp_path_factory.mktemp("lra")
    for split in ("train", "test"):
        for cls in ("pos", "neg"):
            d = root / "aclImdb" / split / cls
            d.mkdir(parents=True)
            for k in range(6):
                (d / f"{k}_1.txt").write_text(f"{cls} review number {k} " * (k + 1))
    tsv = root / "lra_release" / "tsv_data"
    tsv.mkdir(parents=True)
    rows = "".join(f"{k % 2}\ta{k}\tb{k}\tpaper {k} text\tother {k} words {k}\n" for k in range(8))
    for split in ("train", "eval", "test"):
        (tsv / f"new_aan_pairs.{split}.tsv").write_text(rows)
    return str(root)


def test_every_lra_experiment_is_covered(config_dir) -> None:
    shipped = {f"lra/{p.stem}" for p in (config_dir / "experiment" / "lra").glob("*.yaml")}
    assert shipped == set(EXPERIMENTS)


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_lra_experiment_trains_two_steps(name, tiny, lra_root, data_root, tmp_path, caplog) -> None:
    extra = [o.format(root=lra_root, cifar=data_root) for o in EXPERIMENTS[name]]
    with caplog.at_level("WARNING"):
        results = run_experiment([f"experiment={name}", *tiny, *extra], output_dir=tmp_path / "r")
    assert GENERATED[name.split("/")[1].rsplit("-", 1)[0]] in caplog.text
    assert results["global_step"] == 2
    assert math.isfinite(results["test"]["test/loss"])
    assert 0.0 <= results["test"]["test/accuracy"] <= 1.0
    assert 0.0 < results["chance"] < 1.0


@pytest.mark.parametrize("name", ["lra/listops-s4", "lra/listops-s4d"])
@pytest.mark.parametrize("pool", ["mean", "last"])
def test_extra_padding_gives_identical_logits(name, pool) -> None:
    from omegaconf import OmegaConf

    from s4_tasks import get_dataset

    cfg = compose_config(
        [
            f"experiment={name}",
            "model.d_model=8",
            "model.n_layers=2",
            "model.layer.d_state=4",
            f"task.pool={pool}",
        ]
    )
    model = OmegaConf.to_container(cfg.model, resolve=True)
    task = OmegaConf.to_container(cfg.task, resolve=True)
    short = get_dataset(
        "listops",
        max_length=40,
        min_length=8,
        max_depth=3,
        max_args=4,
        n_train=3,
        n_val=1,
        n_test=1,
        seed=5,
    )
    long = get_dataset(
        "listops",
        max_length=96,
        min_length=8,
        max_depth=3,
        max_args=4,
        n_train=3,
        n_val=1,
        n_test=1,
        seed=5,
    )
    torch.manual_seed(0)
    net = build_network(model, task, DataSpec.from_dataset(long)).double().eval()
    xs, _, ls = zip(*(short.train[i] for i in range(3)))
    xl, _, ll = zip(*(long.train[i] for i in range(3)))
    assert [int(n) for n in ls] == [int(n) for n in ll]  # same expressions, more padding
    with torch.no_grad():
        a = net(torch.stack(xs), torch.stack(ls))
        b = net(torch.stack(xl), torch.stack(ll))
    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ["lra/retrieval-s4", "lra/retrieval-s4d"])
def test_retrieval_pair_padding_and_tower_order(name, lra_root) -> None:
    from omegaconf import OmegaConf

    from s4_tasks import get_dataset

    cfg = compose_config(
        [f"experiment={name}", "model.d_model=8", "model.n_layers=2", "model.layer.d_state=4"]
    )
    model = OmegaConf.to_container(cfg.model, resolve=True)
    task = OmegaConf.to_container(cfg.task, resolve=True)
    short = get_dataset("aan", root=lra_root, max_length=24)
    long = get_dataset("aan", root=lra_root, max_length=80)
    spec = DataSpec.from_dataset(long)
    assert spec.pair
    torch.manual_seed(0)
    net = build_network(model, task, spec).double().eval()
    batch = [torch.stack(t) for t in zip(*(short.test[i] for i in range(4)))]
    batch_long = [torch.stack(t) for t in zip(*(long.test[i] for i in range(4)))]
    with torch.no_grad():
        a = net(batch[0], batch[2])
        b = net(batch_long[0], batch_long[2])
        # each document alone through the shared backbone, then the two-tower decoder
        h = [net.backbone(net.encoder(batch[0][:, k]))[0] for k in range(2)]
        ref = net.decoder(h[0], h[1], batch[2][:, 0], batch[2][:, 1])
    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(a, ref, rtol=1e-9, atol=1e-10)
