"""A smoke run's console: each line once, no advert, no FLOPs table, no third-party warnings."""

from __future__ import annotations

from collections import Counter

from s4_train.config import compose_config


def test_smoke_run_prints_each_line_once(cli, tmp_path) -> None:
    tiny = ["model.d_model=8", "model.n_layers=1", "model.layer.d_state=4"]
    proc = cli(["+debug=smoke", *tiny], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    # strip Hydra's timestamp prefix so that a line printed by two handlers compares equal
    bodies = [line.split("] - ", 1)[-1].removeprefix("INFO: ") for line in lines]
    duplicated = {b: n for b, n in Counter(bodies).items() if n > 1 and "checkpoint" not in b}
    assert not duplicated, duplicated
    assert proc.stderr.strip() == ""  # no warnings, no second copy of the log
    text = proc.stdout
    assert "Tip:" not in text and "FLOPs" not in text and "Warning" not in text
    assert "model: " in text and "parameters" in text  # our one-line summary
    assert len(lines) <= 12, lines
    assert lines[-1].startswith("s4-train: copying-s4d: 1 epochs, 4 steps")


def test_swapping_the_dataset_group_composes() -> None:
    cfg = compose_config(["dataset=adding"])
    assert cfg.dataset.name == "adding" and cfg.name == "copying-s4d"
