"""Smoke test of ``s4-bench step``: every model and batch gets a positive steps/s."""

import json

from s4_bench import step


def test_step_bench_writes_json(tmp_path):
    out = tmp_path / "step.json"
    argv = [
        "--batches",
        "1",
        "3",
        "--d-model",
        "4",
        "--d-state",
        "4",
        "--chunk",
        "3",
        "--min-time",
        "0.01",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    assert step.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["suite"] == "step"
    assert {(r["model"], r["B"]) for r in report["step"]} == {
        (m, b) for m in step.MODELS for b in (1, 3)
    }
    assert all(r["steps_per_s"] > 0 for r in report["step"])
    assert "x_original" not in report["step"][0]  # ratios only at the original's shapes
    assert out.with_suffix(".png").exists()
