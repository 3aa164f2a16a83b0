"""Smoke test of ``s4-bench kernels`` at tiny shapes: it runs and writes valid JSON.

Never asserts on timings (the machine is shared); only on structure and bookkeeping.
"""

import json

from s4_bench import kernels


def _run(tmp_path, *extra):
    out = tmp_path / "kernels.json"
    argv = ["--H", "2", "--N", "4", "--L", "16", "--repeats", "1", "--out", str(out), *extra]
    assert kernels.main(argv) == 0
    return json.loads(out.read_text())


def test_isolated_run_writes_json_with_memory_and_ratios(tmp_path):
    report = _run(tmp_path, "--ops", "cauchy", "--backends", "torch")
    assert report["suite"] == "kernels"
    assert report["config"]["backends"] == ["naive", "torch"]  # naive added as the baseline
    rows = {r["backend"]: r for r in report["results"]}
    assert set(rows) == {"naive", "torch"}
    for row in rows.values():
        assert row["status"] == "ok", row
        assert row["fwd_s"] > 0 and row["fwd_bwd_s"] > 0
        assert row["fwd_peak_mb"] is not None and row["fwd_bwd_peak_mb"] >= row["fwd_peak_mb"]
    assert rows["naive"]["speedup_fwd_bwd_vs_naive"] == 1.0
    assert rows["torch"]["speedup_fwd_vs_naive"] > 0
    assert "torch" in report["backends"] and report["backends"]["torch"]["available"]
    assert (tmp_path / "kernels.png").exists()  # time and memory against L, beside the JSON


def test_in_process_run_covers_every_op(tmp_path):
    report = _run(tmp_path, "--backends", "naive,torch", "--no-isolate", "--L", "16,33")
    seen = {(r["op"], r["backend"], r["L"]) for r in report["results"]}
    assert len(seen) == 3 * 2 * 2
    assert all(r["status"] == "ok" for r in report["results"])
    assert report["config"]["memory"].startswith("not measured")


def test_naive_over_budget_is_recorded_as_skipped(tmp_path):
    report = _run(
        tmp_path,
        "--ops",
        "vandermonde",
        "--backends",
        "torch",
        "--no-isolate",
        "--naive-max-gb",
        "0",
    )
    naive = next(r for r in report["results"] if r["backend"] == "naive")
    torch_row = next(r for r in report["results"] if r["backend"] == "torch")
    assert naive["status"] == "skipped" and "naive-max-gb" in naive["reason"]
    assert torch_row["status"] == "ok" and torch_row["speedup_fwd_vs_naive"] is None


def test_markdown_table_from_a_saved_report(tmp_path, capsys):
    report = _run(tmp_path, "--ops", "cauchy", "--backends", "torch", "--no-isolate")
    capsys.readouterr()
    assert kernels.main(["--markdown", str(tmp_path / "kernels.json")]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert table[0].startswith("| op | backend |")
    assert len(table) == 2 + len(report["results"])


def test_cuda_device_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible: the error path needs a machine without one")
    with pytest.raises(SystemExit) as info:
        kernels.main(["--device", "cuda", "--out", str(tmp_path / "k.json")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--device: expected a CUDA device visible to torch, got 'cuda'" in err


def test_unknown_device_is_a_clear_error(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit):
        kernels.main(["--device", "tpu", "--out", str(tmp_path / "k.json")])
    assert "--device: expected cpu or cuda[:i], got 'tpu'" in capsys.readouterr().err


def test_time_over_keops_is_recorded(tmp_path):
    """Every row carries its time relative to keops in the same run (None without keops)."""
    report = _run(tmp_path, "--ops", "cauchy", "--backends", "torch", "--no-isolate")
    for row in report["results"]:
        assert "fwd_bwd_time_over_keops" in row and row["fwd_bwd_time_over_keops"] is None
    import pytest

    from ssm_kernels import backends

    if not backends()["keops"].available:
        pytest.skip(f"keops backend: {backends()['keops'].reason} (the None case was checked)")
    report = _run(tmp_path, "--ops", "cauchy", "--backends", "torch,keops", "--no-isolate")
    rows = {r["backend"]: r for r in report["results"]}
    assert rows["keops"]["fwd_bwd_time_over_keops"] == 1.0
    expected = rows["torch"]["fwd_bwd_min_s"] / rows["keops"]["fwd_bwd_min_s"]
    assert rows["torch"]["fwd_bwd_time_over_keops"] == expected
