"""``s4-bench`` dispatch: usage, unknown suites, ``--compare`` against a stored report."""

import json

import pytest

from s4_bench import cli

TINY_STEP = [
    "--batches",
    "1",
    "--d-model",
    "4",
    "--d-state",
    "4",
    "--chunk",
    "2",
    "--min-time",
    "0.01",
    "--device",
    "cpu",
    "--models",
    "s4d,s4-diag",
]


def test_usage_lists_suites(capsys):
    assert cli.main([]) == 0
    text = capsys.readouterr().out
    for suite in ("kernels", "layers", "step", "train", "quick", "all"):
        assert suite in text


def test_unknown_suite(capsys):
    assert cli.main(["nope"]) == 2
    assert "SUITE: expected one of" in capsys.readouterr().err


def test_compare_prints_ratios(tmp_path, capsys):
    ref = tmp_path / "ref.json"
    assert cli.main(["step", *TINY_STEP, "--out", str(ref)]) == 0
    capsys.readouterr()
    new = tmp_path / "new.json"
    assert cli.main(["step", *TINY_STEP, "--out", str(new), "--compare", str(ref)]) == 0
    text = capsys.readouterr().out
    assert "new / reference" in text and "steps_per_s new/ref" in text
    assert json.loads(new.read_text())["suite"] == "step"


def test_compare_refuses_bad_reference(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit, match="not valid JSON"):
        cli.main(["step", *TINY_STEP, "--out", str(tmp_path / "x.json"), "--compare", str(bad)])
    with pytest.raises(SystemExit, match="missing file"):
        cli.main(["step", *TINY_STEP, "--compare", str(tmp_path / "absent.json")])


def test_compare_refuses_other_suite(tmp_path):
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps({"suite": "layers"}))
    with pytest.raises(SystemExit, match="expected a step report"):
        cli.main(["step", *TINY_STEP, "--out", str(tmp_path / "n.json"), "--compare", str(ref)])


def test_time_fn_measures_on_the_threads_torch_is_set_to():
    """torch.utils.benchmark.Timer defaults to one thread; time_fn must keep the caller's
    setting (``--threads`` or torch's default), or every multi-threaded figure is 1-thread."""
    import torch

    from s4_bench.common import time_fn

    before = torch.get_num_threads()
    seen = []
    try:
        for threads in sorted({1, max(1, before)}):
            torch.set_num_threads(threads)
            time_fn(lambda: seen.append(torch.get_num_threads()), min_time=0.01)
            assert set(seen) == {threads}, (threads, set(seen))
            seen.clear()
    finally:
        torch.set_num_threads(before)


def test_paired_times_interleaves_in_rotated_order_and_takes_ratios_within_rounds():
    import time

    import pytest

    from s4_bench.common import paired_times

    calls = []

    def sleeper(name, seconds):
        def fn():
            calls.append(name)
            time.sleep(seconds)

        return fn

    out = paired_times({"fast": sleeper("fast", 0.002), "slow": sleeper("slow", 0.006)}, 0.0, 4)
    assert out["rounds"] == 4
    assert calls[:2] == ["fast", "slow"]  # the warm-up calls
    # rotated: fast first in even rounds, slow first in odd ones
    assert calls[2:] == ["fast", "slow", "slow", "fast", "fast", "slow", "slow", "fast"]
    assert len(out["seconds"]["fast"]) == len(out["seconds"]["slow"]) == 4
    assert out["ratio_to_first"]["fast"] == 1.0
    assert out["ratio_to_first"]["slow"] == pytest.approx(3.0, rel=0.5)
    assert out["median_s"]["slow"] > out["median_s"]["fast"]


def test_paired_times_rejects_bad_arguments():
    import pytest

    from s4_bench.common import paired_times

    with pytest.raises(ValueError, match="at least one function"):
        paired_times({})
    with pytest.raises(ValueError, match="min_rounds >= 1"):
        paired_times({"a": lambda: None}, 0.1, 0)
