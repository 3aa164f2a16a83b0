"""Smoke test of ``s4-bench layers`` at tiny shapes: it runs and writes valid JSON."""

import json

from s4_bench import layers


def test_layers_bench_writes_json(tmp_path):
    out = tmp_path / "layers.json"
    argv = [
        "--out",
        str(out),
        "--batch",
        "2",
        "--d-model",
        "4",
        "--d-state",
        "4",
        "--lengths",
        "16",
        "--repeats",
        "1",
        "--step-steps",
        "4",
        "--step-batches",
        "1",
        "--state-length",
        "8",
        "--device",
        "cpu",
    ]
    assert layers.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["suite"] == "layers"
    assert {r["model"] for r in report["conv"]} == set(layers.MODELS)
    for row in report["conv"]:
        assert row["forward_ms"] > 0 and row["forward_backward_ms"] > 0
    assert {(r["model"], r["mode"]) for r in report["step"]} == {
        ("s4d", "diag"),
        ("s4-diag", "diag"),
        ("s4-dplr", "dense"),
        ("s4-dplr", "linear"),
    }
    assert all(r["steps_per_s"] > 0 for r in report["step"])
    assert all(r["forward_with_state_ms"] > 0 and r["step_loop_ms"] > 0 for r in report["state"])
