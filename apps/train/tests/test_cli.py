"""The s4-train console script in fresh processes: help, config errors, a run, and DDP."""

from __future__ import annotations

import json

import pytest


def test_help_lists_groups_and_experiments(cli, tmp_path) -> None:
    proc = cli(["--help"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "s4-train" in out and "experiment=" in out
    for name in ("experiment: ", "copying-s4d", "smnist-s4d", "sc10-s4", "trainer: ", "ddp"):
        assert name in out, name


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.d_modle=64", ["model.d_modle", "not in 'ModelConfig'"]),
        ("trainer.max_epochs=many", ["trainer.max_epochs", "could not be converted to Integer"]),
    ],
)
def test_config_errors_are_short_and_name_the_key(cli, tmp_path, override, expected) -> None:
    proc = cli([override], cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    for text in expected:
        assert text in proc.stderr
    assert "Traceback" not in proc.stderr  # a message, not a stack trace
    assert len(proc.stderr.splitlines()) < 15
    assert not (tmp_path / "outputs").exists()  # failed before anything ran


def test_semantic_config_error_exits_2_naming_the_key(cli, tmp_path) -> None:
    proc = cli(["experiment=npz"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "dataset.path" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_dataset_files_say_how_to_get_them(cli, tmp_path) -> None:
    empty = tmp_path / "no-mnist-here"
    empty.mkdir()
    proc = cli(["experiment=smnist-s4d", f"dataset.root={empty}"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "s4-data download mnist" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_run_writes_outputs(cli, tiny_copying, tmp_path) -> None:
    run_dir = tmp_path / "run"
    # the default rich progress bar, in a process without a terminal
    args = [*tiny_copying, "callbacks.progress_bar=rich", f"hydra.run.dir={run_dir}"]
    proc = cli(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "s4-train: copying-s4d" in proc.stdout
    results = json.loads((run_dir / "results.json").read_text())
    assert results["global_step"] == 2 and results["world_size"] == 1
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / ".hydra" / "config.yaml").is_file()


@pytest.mark.slow
def test_ddp_two_cpu_processes(cli, tiny_copying, tmp_path) -> None:
    """Lightning's DDP strategy, 2 processes on CPU (gloo), a few steps on a tiny model."""
    run_dir = tmp_path / "ddp"
    args = [*tiny_copying, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]
    args += ["trainer.limit_train_batches=3", "dataset.n_train=32", f"hydra.run.dir={run_dir}"]
    proc = cli(args, cwd=tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["world_size"] == 2
    # 32 samples / 2 processes / batch 4 = 4 batches per process, limited to 3 steps
    assert results["global_step"] == 3
    assert results["test"]["test/loss"] > 0
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


def test_help_hides_schema_nodes_and_shows_the_smoke_flag(cli, tmp_path) -> None:
    proc = cli(["--help"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "schema_" not in proc.stdout
    assert "+debug: smoke" in proc.stdout
    datasets = next(line for line in proc.stdout.splitlines() if line.startswith("dataset: "))
    assert "adding" in datasets.split(": ", 1)[1].split(", ")


def test_smoke_flag_wins_over_the_experiment(cli, tmp_path) -> None:
    proc = cli(["experiment=smnist-s4d", "+debug=smoke", "--cfg", "job"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    import yaml

    cfg = yaml.safe_load(proc.stdout)
    assert cfg["name"] == "smnist-s4d"
    assert cfg["trainer"]["max_epochs"] == 1 and cfg["trainer"]["limit_train_batches"] == 4
    assert cfg["loader"]["batch_size"] == 8
