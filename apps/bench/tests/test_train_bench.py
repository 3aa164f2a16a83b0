"""``s4-bench train`` on tiny overrides: the JSON report has accuracy, chance and wall time."""

from __future__ import annotations

import json
import sys

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
        data["trainer_seconds_per_epoch"] / data["plain_loop"]["seconds_per_epoch_best"]
    )
    assert data["plain_loop_seconds_per_epoch"] == data["plain_loop"]["seconds_per_epoch_best"]
    assert "plain loop" in capsys.readouterr().out


def test_plain_loop_leaves_out_the_warmup_epoch_and_uses_the_run_schedule(tmp_path) -> None:
    out = tmp_path / "train.json"
    tiny = [o for o in TINY if not o.startswith("trainer.max_epochs")] + ["trainer.max_epochs=3"]
    assert train_bench.main(["--out", str(out), "--run-dir", str(tmp_path / "run"), *tiny]) == 0
    data = json.loads(out.read_text())
    for side in (data["trainer"], data["plain_loop"]):
        assert len(side["epoch_seconds"]) == 3
        assert side["seconds_per_epoch_best"] == min(side["epoch_seconds"][1:])
    assert data["plain_loop"]["steps_per_epoch"] == 2  # trainer.limit_train_batches
    assert data["trainer_over_plain_loop"] == pytest.approx(
        data["trainer"]["seconds_per_epoch_best"] / data["plain_loop"]["seconds_per_epoch_best"]
    )


def test_rounds_repeat_the_pair_and_report_the_median_of_their_ratios(tmp_path, capsys) -> None:
    out = tmp_path / "train.json"
    argv = ["--out", str(out), "--run-dir", str(tmp_path / "run"), "--rounds", "3", *TINY]
    assert train_bench.main(argv) == 0
    data = json.loads(out.read_text())
    rounds = data["rounds"]
    assert len(rounds) == 3
    for r in rounds:
        best = r["trainer"]["seconds_per_epoch_best"], r["plain_loop"]["seconds_per_epoch_best"]
        assert r["ratio"] == pytest.approx(best[0] / best[1])
    assert data["trainer_over_plain_loop"] == sorted(r["ratio"] for r in rounds)[1]
    assert (tmp_path / "run" / "round-1" / "results.json").is_file()
    assert (tmp_path / "run" / "round-2" / "results.json").is_file()
    assert "3 rounds: median ratio" in capsys.readouterr().out


def test_interleave_pairs_each_trainer_epoch_with_a_plain_epoch(tmp_path, capsys) -> None:
    out = tmp_path / "train.json"
    tiny = [o for o in TINY if not o.startswith("trainer.max_epochs")] + ["trainer.max_epochs=3"]
    argv = ["--out", str(out), "--run-dir", str(tmp_path / "run"), "--interleave", *tiny]
    assert train_bench.main(argv) == 0
    data = json.loads(out.read_text())
    (only,) = data["rounds"]
    assert len(only["trainer"]["epoch_seconds"]) == len(only["plain_loop"]["epoch_seconds"]) == 3
    pairs = only["pair_ratios"]
    assert pairs == pytest.approx(
        [
            t / p
            for t, p in zip(only["trainer"]["epoch_seconds"], only["plain_loop"]["epoch_seconds"])
        ]
    )
    assert only["ratio"] == pytest.approx(sorted(pairs[1:])[0] / 2 + sorted(pairs[1:])[1] / 2)
    assert data["trainer_over_plain_loop"] == only["ratio"]
    assert data["global_step"] == 6  # the plain loop's epochs do not touch the run
    assert "median of the epoch pairs' ratios" in capsys.readouterr().out


def test_interleave_with_the_original_pairs_its_loop_too(tmp_path, capsys) -> None:
    from pathlib import Path

    fake = Path(__file__).parent / "fake_original"
    out = tmp_path / "train.json"
    small = [
        "model.d_model=8", "model.n_layers=1", "model.layer.d_state=4", "trainer.max_epochs=2",
        "trainer.limit_train_batches=2", "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2", "trainer.num_sanity_val_steps=0",
        "callbacks.progress_bar=none", "logger=none",
    ]  # fmt: skip
    argv = ["--out", str(out), "--run-dir", str(tmp_path / "run"), "--npz-task", "--interleave",
            "--original-dir", str(fake), *small]  # fmt: skip
    before = set(sys.modules)
    try:
        assert train_bench.main(argv) == 0
    finally:  # load_original registers the original's modules (and src.models.nn)
        for name in set(sys.modules) - before:
            if name.split(".")[0] in {"s4_original", "s4d_original", "src"}:
                del sys.modules[name]
    data = json.loads(out.read_text())
    (only,) = data["rounds"]
    assert len(only["original"]["epoch_seconds"]) == 2
    assert only["pair_ratio_to_originals"][1] == pytest.approx(
        only["trainer"]["epoch_seconds"][1] / only["original"]["epoch_seconds"][1]
    )
    assert data["trainer_over_original_loop"] == only["ratio_to_original"]
    assert "the original's plain loop" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--interleave", "--no-plain-loop"], "--interleave needs the plain loop"),
        (["--original-dir", "x"], "--original-dir needs --interleave and --npz-task"),
    ],
)
def test_interleave_option_errors(tmp_path, capsys, flags, message) -> None:
    assert train_bench.main(["--out", str(tmp_path / "t.json"), *flags, *TINY]) == 2
    assert message in capsys.readouterr().err


def test_rounds_below_one_are_an_error(tmp_path, capsys) -> None:
    argv = ["--out", str(tmp_path / "t.json"), "--rounds", "0", *TINY]
    assert train_bench.main(argv) == 2
    assert "--rounds: expected >= 1" in capsys.readouterr().err


def test_npz_task_runs_the_issue_case_on_synthetic_data(tmp_path) -> None:
    out = tmp_path / "train.json"
    small = [
        "model.d_model=8",
        "model.n_layers=1",
        "model.layer.d_state=4",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2",
        "trainer.num_sanity_val_steps=0",
        "callbacks.progress_bar=none",
        "logger=none",
        "--no-plain-loop",
    ]
    args = ["--out", str(out), "--run-dir", str(tmp_path / "run"), "--npz-task", *small]
    assert train_bench.main(args) == 0
    data = json.loads(out.read_text())
    assert data["experiment"] == "npz" and data["chance"] == pytest.approx(0.1)
    assert data["results"]["dataset"] == data["dataset"]
    assert (tmp_path / "run-data" / "npz-task.npz").is_file()


def test_short_cases_write_epoch_and_step_rows(tmp_path, monkeypatch) -> None:
    from s4_bench import train_short

    # the same code path on tiny shapes: 2 epochs of 2 batches, a 2-layer-sized step
    monkeypatch.setattr(
        train_short,
        "EPOCH_CASES",
        {
            "s4d-minimal": (["model=s4d_minimal"], 12, 128, 32),
            "s4-dplr": (["model=s4"], 16, 128, 32),
        },
    )
    monkeypatch.setattr(
        train_short,
        "SHARED",
        ["model.d_model=8", "model.n_layers=1", "model.layer.d_state=4", "loader.batch_size=64"],
    )
    real_step = train_short.step_case
    monkeypatch.setattr(
        train_short, "step_case", lambda mode, B, H, N, L, t: real_step(mode, 4, 8, 4, 16, t)
    )
    out = tmp_path / "short.json"
    assert (
        train_bench.main(["--short", "--epochs", "2", "--min-time", "0.01", "--out", str(out)]) == 0
    )
    data = json.loads(out.read_text())
    assert data["suite"] == "train" and data["kind"] == "short"
    assert [r["case"] for r in data["epoch"]] == ["s4d-minimal", "s4-dplr"]
    for row in data["epoch"]:
        assert row["steps_per_epoch"] == 2 and len(row["epoch_seconds"]) == 2
        assert row["seconds_per_epoch_best"] == row["epoch_seconds"][1]
    assert [r["case"] for r in data["step"]] == ["step-dplr", "step-diag"]
    for row in data["step"]:
        assert row["step_min_s"] > 0 and 0 < row["kernel_share"] < 1.5


def test_write_task_is_a_balanced_enough_10_class_npz(tmp_path) -> None:
    import numpy as np

    from s4_bench.train_short import write_task

    with np.load(write_task(tmp_path / "t.npz", 40, 400, 50)) as f:
        assert f["x_train"].shape == (400, 40) and f["x_train"].dtype == np.float32
        assert f["x_val"].shape == f["x_test"].shape == (50, 40)
        assert set(np.unique(f["y_train"])) == set(range(10))
