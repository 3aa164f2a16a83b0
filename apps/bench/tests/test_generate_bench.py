"""Smoke test of ``s4-bench generate`` at tiny shapes: it runs and writes valid JSON and a plot."""

import json

from s4_bench import cli, generate


def test_generate_bench_writes_json(tmp_path):
    out = tmp_path / "generate.json"
    argv = ["--out", str(out), "--d-model", "4", "--n-layers", "1", "--d-state", "4"]
    argv += ["--context", "16", "--new", "4", "--recompute-new", "2", "--prefix", "16"]
    assert cli.main(["generate", *argv]) == 0
    report = json.loads(out.read_text())
    assert report["suite"] == "generate"
    assert {(r["model"], r["batch"]) for r in report["sample"]} == {
        (m, b) for m in generate.MODELS for b in (1, 16)
    }
    for row in report["sample"]:
        assert row["step_samples_per_s"] > 0 and row["recompute_samples_per_s"] > 0
        assert row["speedup"] == row["step_samples_per_s"] / row["recompute_samples_per_s"]
    assert {r["model"] for r in report["warmup"]} == set(generate.MODELS)
    assert all(r["forward_with_state_s"] > 0 and r["step_loop_s"] > 0 for r in report["warmup"])
    assert out.with_suffix(".png").exists()  # the plot beside the JSON (matplotlib is a test dep)
