"""Smoke test of ``s4-bench layers`` at tiny shapes: it runs, writes valid JSON and a plot."""

import json

from s4_bench import layers

TINY = [
    "--batch",
    "2",
    "--d-model",
    "4",
    "--d-state",
    "4",
    "--lengths",
    "16",
    "32",
    "--min-time",
    "0.01",
    "--state-batches",
    "1",
    "--state-length",
    "8",
    "--device",
    "cpu",
]


def test_layers_bench_writes_json_and_plot(tmp_path):
    out = tmp_path / "layers.json"
    assert layers.main([*TINY, "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["suite"] == "layers"
    assert report["machine"]["torch"] and "git_revision" in report["machine"]
    assert {r["model"] for r in report["conv"]} == set(layers.MODELS)
    assert {r["L"] for r in report["conv"]} == {16, 32}
    for row in report["conv"]:
        assert 0 < row["forward_min_s"] <= row["forward_s"]
        assert row["forward_backward_s"] > 0
    assert {(r["model"], r["mode"]) for r in report["state"]} == {
        ("s4d", "diag"),
        ("s4-diag", "diag"),
        ("s4-dplr", "dense"),
        ("s4-dplr", "linear"),
    }
    assert all(r["forward_with_state_s"] > 0 and r["step_loop_s"] > 0 for r in report["state"])
    assert out.with_suffix(".png").stat().st_size > 1000


def test_unknown_model_is_refused(capsys):
    try:
        layers.main(["--models", "s5", "--device", "cpu"])
    except SystemExit as err:
        assert "--models" in str(err) and "s5" in str(err)
    else:
        raise AssertionError("expected SystemExit")
