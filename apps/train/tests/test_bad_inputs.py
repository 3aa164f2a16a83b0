"""A table of bad inputs and faults (issue 10): each is refused with a clear message naming the
key, or handled as documented (NaN guard, last.ckpt, exact mid-epoch resume, unique run dirs)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from s4_train import run_experiment
from s4_train.checkpoints import claim_run_dir
from s4_train.config import ConfigError, compose_config, validate
from s4_train.guards import LastCheckpoint, TrainingError

# (overrides, the text the message must contain)
CONFIG_ERRORS = [
    (["model.layer.lr=-0.001"], "model.layer.lr"),
    (["model.layer.lr=nan"], "model.layer.lr"),
    (["optimizer.lr=nan"], "optimizer.lr"),
    (["optimizer.lr=0"], "optimizer.lr"),
    (["loader.num_workers=-1"], "loader.num_workers"),
    (["dataset.seq_len=0"], "dataset.seq_len"),
    (["train.seed=-1"], "train.seed"),
    (["train.ckpt=/nonexistent.ckpt"], "train.ckpt"),
]


@pytest.mark.parametrize(("overrides", "key"), CONFIG_ERRORS)
def test_validate_refuses_naming_the_key(overrides, key) -> None:
    cfg = compose_config(overrides)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_gpu_accelerator_without_gpu_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"trainer\.accelerator.*no CUDA GPU"):
        validate(compose_config(["trainer.accelerator=gpu"]))


@pytest.mark.parametrize(
    ("override", "key"),
    [("model.layer.d_state=7", "d_state"), ("model.layer.init=nonsense", "init")],
)
def test_layer_errors_become_config_errors(tiny_copying, tmp_path, override, key) -> None:
    with pytest.raises(ConfigError, match=rf"model: .*{key}"):
        run_experiment([*tiny_copying, "model.layer.mode=dplr", override], output_dir=tmp_path)


def test_nan_loss_stops_naming_the_step_and_writes_no_checkpoint(tiny_copying, tmp_path) -> None:
    overrides = [*tiny_copying, "optimizer.lr=1e30", "model.layer.lr=1e30"]
    overrides += ["trainer.limit_train_batches=4", "trainer.max_epochs=2"]
    with pytest.raises(TrainingError, match=r"non-finite .* step \d+") as info:
        run_experiment(overrides, output_dir=tmp_path)
    assert "last finite loss" in str(info.value)
    assert not list(tmp_path.glob("checkpoints/*.ckpt"))
    assert not (tmp_path / "results.json").exists()


def test_empty_splits_are_refused(tiny, tmp_path) -> None:
    path = tmp_path / "five.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(size=(5, 8, 1)).astype("float32"), y=np.arange(5) % 2)
    overrides = [*tiny, "experiment=npz", f"dataset.path={path}"]
    with pytest.raises(ConfigError, match=r"dataset: expected non-empty .*empty: val"):
        run_experiment(overrides, output_dir=tmp_path / "run")


def _resume(tiny_copying: list[str], epochs: int) -> list[str]:
    return [
        *tiny_copying,
        "dataset.n_train=32",
        "trainer.limit_train_batches=3",
        f"trainer.max_epochs={epochs}",
        "model.dropout=0.0",  # the RNG stream is not part of a checkpoint
        "scheduler=constant",
        "train.test=false",
    ]


def test_last_ckpt_is_written_every_epoch(tiny_copying, tmp_path) -> None:
    # save_top_k=1 on a metric that stops improving used to leave last.ckpt behind
    results = run_experiment(_resume(tiny_copying, 3), output_dir=tmp_path)
    assert results["last_ckpt"] == str(tmp_path / "checkpoints" / "last.ckpt")
    saved = torch.load(results["last_ckpt"], map_location="cpu", weights_only=True)
    assert saved["global_step"] == results["global_step"] == 9
    assert json.loads((tmp_path / "results.json").read_text())["last_ckpt"] == results["last_ckpt"]


def test_sigint_mid_epoch_saves_last_and_resume_is_exact(
    tiny_copying, losses_by_step, tmp_path, monkeypatch
) -> None:
    """SIGINT at step 4 (mid epoch 2 of 3-batch epochs): last.ckpt holds step 4; resuming it
    gives the uninterrupted run's losses at every later step."""
    straight = run_experiment(_resume(tiny_copying, 3), output_dir=tmp_path / "straight")

    def interrupt_at_step_4(self, trainer, pl_module, batch, idx):
        if trainer.global_step == 4 and self.interrupted is None:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(LastCheckpoint, "on_train_batch_start", interrupt_at_step_4, raising=False)
    cut = run_experiment(_resume(tiny_copying, 3), output_dir=tmp_path / "cut")
    monkeypatch.undo()
    assert cut["interrupted"] == signal.SIGINT
    assert cut["global_step"] == 5 and "test" not in cut
    assert torch.load(cut["last_ckpt"], weights_only=True)["global_step"] == 5
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored

    resumed = run_experiment(
        [*_resume(tiny_copying, 3), f"train.ckpt={cut['last_ckpt']}", "train.continue_run=false"],
        output_dir=tmp_path / "resumed",
    )
    assert resumed["global_step"] == straight["global_step"] == 9
    ref = losses_by_step(tmp_path / "straight" / "csv" / "metrics.csv")
    got = losses_by_step(tmp_path / "resumed" / "csv" / "metrics.csv")
    assert sorted(got) == list(range(5, 9))
    for step, loss in got.items():
        assert loss == pytest.approx(ref[step], rel=1e-5, abs=1e-7), step


def test_ckpt_last_resumes_the_newest_run(tiny_copying, tmp_path) -> None:
    runs = tmp_path / "outputs" / "copying"
    first = run_experiment(_resume(tiny_copying, 1), output_dir=runs / "a")
    resumed = run_experiment([*_resume(tiny_copying, 2), "train.ckpt=last"], output_dir=runs / "b")
    assert resumed["resumed_from"] == first["last_ckpt"]
    assert resumed["global_step"] == 6


def test_resume_with_a_different_network_names_the_keys(tiny_copying, tmp_path) -> None:
    first = run_experiment(_resume(tiny_copying, 1), output_dir=tmp_path / "a")
    with pytest.raises(ConfigError, match=r"model\.d_model: 8 in the checkpoint, 16 now"):
        run_experiment(
            [*_resume(tiny_copying, 2), "model.d_model=16", f"train.ckpt={first['last_ckpt']}"],
            output_dir=tmp_path / "b",
        )


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_checkpoint_is_named(tiny_copying, tmp_path, damage) -> None:
    first = run_experiment(_resume(tiny_copying, 1), output_dir=tmp_path / "a")
    bad = tmp_path / "bad.ckpt"
    data = Path(first["last_ckpt"]).read_bytes()
    bad.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a checkpoint")
    with pytest.raises(ConfigError, match="checkpoint is corrupt"):
        run_experiment([*_resume(tiny_copying, 2), f"train.ckpt={bad}"], output_dir=tmp_path / "b")


def test_pickled_objects_in_a_checkpoint_are_refused(tiny_copying, tmp_path) -> None:
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": Path("x")}, evil)  # not a plain value
    with pytest.raises(ConfigError, match="weights_only"):
        run_experiment([*_resume(tiny_copying, 1), f"train.ckpt={evil}"], output_dir=tmp_path / "b")


def test_a_held_run_dir_gets_a_suffix(tmp_path) -> None:
    first, lock = claim_run_dir(tmp_path / "run")
    second, lock2 = claim_run_dir(tmp_path / "run")
    assert first == tmp_path / "run" and second == tmp_path / "run-1"
    lock.close()
    third, lock3 = claim_run_dir(tmp_path / "run")  # released: reusable
    assert third == tmp_path / "run"
    lock2.close()
    lock3.close()


def test_cli_config_errors_are_one_line(cli, tmp_path) -> None:
    proc = cli(["train.seed=-1"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "s4-train: config error: train.seed: expected an integer >= 0, got -1"
    ]


class _BrokenItems(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        from s4_tasks import DataFormatError

        raise DataFormatError(f"dataset.path: row {i} is malformed")


def test_a_data_error_in_a_worker_is_unwrapped() -> None:
    from s4_train.cli import worker_error_message

    loader = torch.utils.data.DataLoader(_BrokenItems(), num_workers=1)
    with pytest.raises(Exception) as info:
        next(iter(loader))
    assert "DataLoader worker process" in str(info.value)  # torch's wrapping
    assert worker_error_message(info.value) == "dataset.path: row 0 is malformed"
    assert worker_error_message(ValueError("plain")) is None


def test_cli_nan_run_exits_3_naming_the_step(cli, tiny_copying, tmp_path) -> None:
    proc = cli(
        [*tiny_copying, "optimizer.lr=1e30", "model.layer.lr=1e30", "train.test=false"],
        cwd=tmp_path,
    )
    assert proc.returncode == 3, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("s4-train: training stopped: non-finite") and "step" in last
    assert not list(tmp_path.glob("outputs/**/*.ckpt"))


def test_sigterm_at_an_epoch_end_batch_saves_last_and_resumes_exactly(
    tiny_copying, losses_by_step, tmp_path, monkeypatch
) -> None:
    """SIGTERM during the last batch of epoch 0: last.ckpt holds its end; resuming runs epoch
    0's validation and goes on with epoch 1 exactly like the uninterrupted run."""
    straight = run_experiment(_resume(tiny_copying, 3), output_dir=tmp_path / "straight")

    def terminate_at_step_2(self, trainer, pl_module, batch, idx):
        if trainer.global_step == 2 and self.interrupted is None:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(LastCheckpoint, "on_train_batch_start", terminate_at_step_2, raising=False)
    cut = run_experiment(_resume(tiny_copying, 3), output_dir=tmp_path / "cut")
    monkeypatch.undo()
    assert cut["interrupted"] == signal.SIGTERM and cut["global_step"] == 3
    state = torch.load(cut["last_ckpt"], weights_only=True)
    assert state["global_step"] == 3
    assert state["SequenceDataModule"] == {"epoch": 0, "batches_done": 3}  # all of epoch 0
    resumed = run_experiment(
        [*_resume(tiny_copying, 3), f"train.ckpt={cut['last_ckpt']}", "train.continue_run=false"],
        output_dir=tmp_path / "resumed",
    )
    assert resumed["global_step"] == straight["global_step"] == 9
    ref = losses_by_step(tmp_path / "straight" / "csv" / "metrics.csv")
    got = losses_by_step(tmp_path / "resumed" / "csv" / "metrics.csv")
    assert sorted(got) == list(range(3, 9))
    for step, loss in got.items():
        assert loss == pytest.approx(ref[step], rel=1e-5, abs=1e-7), step
