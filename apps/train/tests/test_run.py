"""A few training steps of every experiment config, results.json, and resume."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch

from s4_train import compose_config, run_experiment, train

EXPERIMENTS = {
    "copying-s4d": ["dataset.seq_len=24", "dataset.n_tokens=4", "dataset.n_train=16"],
    "adding-s4d": ["dataset.seq_len=24", "dataset.n_train=16", "dataset.n_val=8"],
    "smnist-s4": ["dataset.root={root}/mnist"],
    "smnist-s4d": ["dataset.root={root}/mnist"],
    "pmnist-s4": ["dataset.root={root}/mnist"],
    "pmnist-s4d": ["dataset.root={root}/mnist"],
    "scifar-s4d-minimal": ["dataset.root={root}"],
    "sc10-s4": ["dataset.root={root}", "dataset.resample=8"],
    "npz": ["dataset.path={root}/mine.npz"],
}


def test_every_experiment_config_is_covered(config_dir: Path) -> None:
    shipped = {p.stem for p in (config_dir / "experiment").glob("*.yaml")}
    assert shipped == set(EXPERIMENTS)


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_experiment_trains_a_few_steps(name, tiny, data_root, tmp_path) -> None:
    extra = [o.format(root=data_root) for o in EXPERIMENTS[name]]
    out = tmp_path / "run"
    results = run_experiment([f"experiment={name}", *tiny, *extra], output_dir=out)
    assert results["name"] == name
    assert results["global_step"] == 2
    assert results["epochs"] == 1
    loss = results["test"]["test/loss"]
    assert math.isfinite(loss) and loss > 0
    if results["chance"] is not None:
        assert 0.0 <= results["test"]["test/accuracy"] <= 1.0
        assert 0.0 < results["chance"] < 1.0
    assert Path(results["best_ckpt"]).is_file() and Path(results["last_ckpt"]).is_file()
    assert json.loads((out / "results.json").read_text())["global_step"] == 2
    assert (out / "csv" / "metrics.csv").is_file()
    assert (out / "config.yaml").is_file()


def test_default_experiment_is_copying_with_s4d() -> None:
    cfg = compose_config([])
    assert cfg.name == "copying-s4d"
    assert cfg.dataset.name == "copying"
    assert cfg.model.layer.mode.name == "diag"


def test_results_report_metrics_per_split_and_chance(tiny_copying, tmp_path) -> None:
    overrides = [*tiny_copying, "logger=default", "callbacks.progress_bar=tqdm"]
    results = run_experiment(overrides, output_dir=tmp_path)
    assert results["chance"] == pytest.approx(1 / 8)
    for split in ("val", "test"):
        keys = set(results[split])
        assert {f"{split}/loss", f"{split}/accuracy", f"{split}/cross_entropy"} <= keys
        # the training loss of a classification task is the cross-entropy
        assert results[split][f"{split}/loss"] == pytest.approx(
            results[split][f"{split}/cross_entropy"], rel=1e-5
        )
    assert any((tmp_path / "tensorboard").iterdir())


def test_checkpoint_rebuilds_the_network(tiny_copying, tmp_path) -> None:
    from s4_train import SequenceLightningModule

    results = run_experiment(tiny_copying, output_dir=tmp_path)
    module = SequenceLightningModule.load_from_checkpoint(results["last_ckpt"], map_location="cpu")
    x = torch.randint(0, module.spec.d_input, (3, 24))
    out = module(x)
    assert out.shape == (3, 4, module.spec.d_output)


def test_callers_callbacks_run_before_the_configs(tiny_copying, tmp_path) -> None:
    import lightning.pytorch as pl

    class Epochs(pl.Callback):
        def __init__(self) -> None:
            self.started: list[int] = []
            self.position: int | None = None

        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self.started.append(trainer.current_epoch)
            self.position = trainer.callbacks.index(self)

    seen = Epochs()
    overrides = [o for o in tiny_copying if not o.startswith("trainer.max_epochs")]
    results = run_experiment([*overrides, "trainer.max_epochs=2"], tmp_path, callbacks=[seen])
    assert seen.started == [0, 1] and results["epochs"] == 2
    assert seen.position == 0  # ahead of the guards, checkpoints and timers


def _resume_overrides(tiny_copying: list[str], epochs: int) -> list[str]:
    return [
        *tiny_copying,
        "dataset.n_train=32",
        "trainer.limit_train_batches=3",
        f"trainer.max_epochs={epochs}",
        "model.dropout=0.0",
        "scheduler=constant",  # cosine depends on max_epochs, which differs between runs
        "scheduler.warmup_steps=2",
        "train.test=false",
    ]


def test_resume_continues_step_count_and_loss(tiny_copying, losses_by_step, tmp_path) -> None:
    """2 epochs, then resume to 4 epochs == 4 epochs straight: same steps, same losses."""
    straight = run_experiment(_resume_overrides(tiny_copying, 4), output_dir=tmp_path / "straight")
    first = run_experiment(_resume_overrides(tiny_copying, 2), output_dir=tmp_path / "first")
    assert first["global_step"] == 6
    resumed = run_experiment(
        [
            *_resume_overrides(tiny_copying, 4),
            f"train.ckpt={first['last_ckpt']}",
            "train.continue_run=false",  # into its own folder: only the new steps are logged
        ],
        output_dir=tmp_path / "resumed",
    )
    assert resumed["global_step"] == straight["global_step"] == 12
    ref = losses_by_step(tmp_path / "straight" / "csv" / "metrics.csv")
    got = losses_by_step(tmp_path / "resumed" / "csv" / "metrics.csv")
    # the resumed run logs only the steps after the checkpoint: 6..11
    assert sorted(got) == list(range(6, 12))
    for step, loss in got.items():
        assert loss == pytest.approx(ref[step], rel=1e-4, abs=1e-6), step
    # same seed, same config: the first run's steps 0..5 are the straight run's (seeded)
    early = losses_by_step(tmp_path / "first" / "csv" / "metrics.csv")
    assert sorted(early) == list(range(6))
    assert [early[s] for s in range(6)] == pytest.approx([ref[s] for s in range(6)], rel=1e-5)
    # and it did not start over: its first loss is the straight run's, not the initial loss
    assert got[6] != pytest.approx(ref[0], rel=1e-3)


def test_train_accepts_a_composed_config(tiny_copying, tmp_path) -> None:
    cfg = compose_config([*tiny_copying, "trainer.max_steps=1", "train.test=false"])
    results = train(cfg, tmp_path)
    assert results["global_step"] == 1
    assert "val" not in results


def test_resume_continues_the_same_run(tiny_copying, losses_by_step, tmp_path) -> None:
    """Resuming a run's checkpoint continues that run: one metrics.csv with every step once
    (the same losses as a straight run) and the best checkpoint still tracked."""
    straight = run_experiment(_resume_overrides(tiny_copying, 4), output_dir=tmp_path / "straight")
    first = run_experiment(_resume_overrides(tiny_copying, 2), output_dir=tmp_path / "run")
    resumed = run_experiment(
        [*_resume_overrides(tiny_copying, 4), f"train.ckpt={first['last_ckpt']}"],
        output_dir=tmp_path / "new",
    )
    assert resumed["output_dir"] == str(tmp_path / "run")
    assert resumed["global_step"] == straight["global_step"] == 12
    with open(tmp_path / "run" / "csv" / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    steps = [int(r["step"]) for r in rows if r.get("train/loss_step")]
    assert steps == list(range(12))  # one history, nothing lost, nothing twice
    assert sum(1 for r in rows if r.get("val/accuracy")) == 4  # one validation per epoch
    ref = losses_by_step(tmp_path / "straight" / "csv" / "metrics.csv")
    got = losses_by_step(tmp_path / "run" / "csv" / "metrics.csv")
    assert [got[s] for s in range(12)] == pytest.approx([ref[s] for s in range(12)], rel=1e-4)
    best = Path(resumed["best_ckpt"])
    assert best.parent == tmp_path / "run" / "checkpoints" and best.is_file()
    assert len(list(best.parent.glob("best-*.ckpt"))) == 1  # save_top_k=1 still enforced
