"""``s4-bench train`` on tiny overrides: the JSON report has accuracy, chance and wall time."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("s4_train", reason="s4-bench train needs s4-train installed")

from s4_bench import train as train_bench

TINY = [
    "model.d_model=8",
    "model.n_layers=1",
    "model.layer.d_state=4",
    "dataset.seq_len=24",
    "dataset.n_tokens=4",
    "dataset.n_train=16",
    "dataset.n_val=8",
    "dataset.n_test=8",
    "loader.batch_size=4",
    "trainer.accelerator=cpu",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.num_sanity_val_steps=0",
    "callbacks.progress_bar=none",
    "logger=csv",
]


def test_train_bench_writes_the_report(tmp_path, capsys) -> None:
    out = tmp_path / "train.json"
    code = train_bench.main(["--out", str(out), "--run-dir", str(tmp_path / "run"), *TINY])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["suite"] == "train" and data["experiment"] == "copying-s4d"
    assert data["overrides"] == TINY
    assert data["chance"] == pytest.approx(1 / 8)
    assert 0.0 <= data["val_accuracy"] <= 1.0 and 0.0 <= data["test_accuracy"] <= 1.0
    assert data["test_loss"] > 0
    assert data["epochs"] == 1 and data["global_step"] == 2
    assert data["wall_seconds"] >= data["fit_seconds"] > 0
    assert data["machine"]["torch_threads"] >= 1
    assert (tmp_path / "run" / "results.json").is_file()
    assert "test accuracy" in capsys.readouterr().out


def test_train_bench_reports_a_config_error(tmp_path, capsys) -> None:
    code = train_bench.main(["--out", str(tmp_path / "t.json"), "model.d_modle=3"])
    assert code == 2
    assert "model.d_modle" in capsys.readouterr().err
    assert not (tmp_path / "t.json").exists()


def test_default_output_path() -> None:
    args = train_bench.build_parser().parse_args([])
    assert str(args.out) == "bench-results/train.json" and args.overrides == []


def test_plain_loop_matches_the_run_and_reports_the_ratio(tmp_path, capsys) -> None:
    out = tmp_path / "train.json"
    assert train_bench.main(["--out", str(out), "--run-dir", str(tmp_path / "run"), *TINY]) == 0
    data = json.loads(out.read_text())
    assert data["plain_loop"]["epochs"] == data["epochs"] == 1
    assert data["plain_loop"]["seconds_per_epoch_mean"] > 0
    assert data["trainer_over_plain_loop"] == pytest.approx(
        data["trainer_seconds_per_epoch"] / data["plain_loop"]["seconds_per_epoch_mean"]
    )
    assert "plain loop" in capsys.readouterr().out
