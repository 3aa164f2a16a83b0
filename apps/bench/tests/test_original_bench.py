"""``s4-bench original`` against a stand-in original (tests/fake_original, built on our own
layers): every section's rows, the summary, the adapters and the errors. The real original is
not part of this project; its figures come from a run with a user's checkout (docs/benchmarks)."""

import json
from pathlib import Path

import pytest

from s4_bench import cli, original

FAKE = Path(__file__).parent / "fake_original"
TINY = [
    "--d-model", "8", "--d-state", "4", "--batches", "1,3", "--layer-batch", "2",
    "--length", "32", "--cauchy-lengths", "16,32", "--ours-cauchy-backends", "torch",
    "--train-d-model", "4", "--train-batch", "2", "--train-length", "8", "--epochs", "2",
    "--task-scale", "0.005", "--min-time", "0.01", "--rounds", "2",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _clean_modules(clean_original_modules):
    """Every test here loads the original (conftest's clean_original_modules)."""


def test_every_section_writes_rows_for_both_sides_and_a_summary(tmp_path):
    out = tmp_path / "original.json"
    argv = ["--original-dir", str(FAKE), *TINY, "--data-dir", str(tmp_path), "--out", str(out)]
    assert original.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["suite"] == "original" and report["original"]["has_pykeops"] is False
    steps = {(r["case"], r["impl"], r["round"]) for r in report["step"]}
    for B in (1, 3):
        for r in (0, 1):
            assert {(f"diag@B={B}", "original", r), (f"diag@B={B}", "ours", r)} <= steps
            assert (f"dplr-dense@B={B}", "original", r) in steps
            assert {(f"s4d@B={B}", "ours", r), (f"dplr-linear@B={B}", "ours", r)} <= steps
    assert all(r["steps_per_s"] > 0 and r["pairs"] >= 5 for r in report["step"])
    # both sides' chunks were interleaved: ours carries the paired ratio where both ran
    paired = {r["case"] for r in report["step"] if "paired_speedup" in r}
    assert paired == {f"{k}@B={B}" for k in ("diag", "dplr-dense") for B in (1, 3)}
    # without pykeops the original runs its naive backend only, everywhere
    assert {r["backend"] for r in report["layers"] if r["impl"] == "original"} == {"naive", "-"}
    # our dplr layer timed against our diag layer, interleaved: on our dplr row only
    over = [(r["case"], r["round"]) for r in report["layers"] if "paired_over_diag" in r]
    assert over == [("dplr@B=2,L=32", 0), ("dplr@B=2,L=32", 1)]
    assert all(
        r["paired_over_diag"] > 0 and r["pairs_over_diag"] >= 8
        for r in report["layers"]
        if "paired_over_diag" in r
    )
    assert {r["backend"] for r in report["cauchy"] if r["impl"] == "original"} == {"naive"}
    assert {r["L"] for r in report["cauchy"]} == {16, 32}
    assert {(r["case"], r["impl"]) for r in report["epoch"]} == {
        ("s4d-minimal", "original"), ("s4d-minimal", "ours"), ("s4-dplr", "original"),
        ("s4-dplr", "ours"), ("npz-task", "original"),
    }  # fmt: skip
    # --epochs 2: one warm-up epoch each, then one pair of alternated epochs per round
    assert all(
        len(r["epochs_s"]) == 1 and r["epoch_s"] == r["epochs_s"][0] for r in report["epoch"]
    )
    by_side = {(r["case"], r["impl"], r["round"]): r for r in report["epoch"]}
    for case in ("s4d-minimal", "s4-dplr"):
        for r in (0, 1):
            ours, theirs = by_side[case, "ours", r], by_side[case, "original", r]
            assert ours["paired_speedup"] == pytest.approx(theirs["epoch_s"] / ours["epoch_s"])
            assert "paired_speedup" not in theirs
    summary = {(r["section"], r["case"]): r for r in report["summary"]}
    assert summary[("step", "diag@B=3")]["speedup"] > 0
    assert summary[("layers", "dplr@B=2,L=32")]["speedup"] > 0
    dplr_over = [r["paired_over_diag"] for r in report["layers"] if "paired_over_diag" in r]
    assert summary[("layers", "dplr@B=2,L=32")]["ours_over_our_diag"] == pytest.approx(
        sum(dplr_over) / 2  # the median of two rounds
    )
    assert "ours_over_our_diag" not in summary[("layers", "diag@B=2,L=32")]
    assert summary[("trainstep", "diag@B=2,H=4,L=8")]["speedup"] > 0
    assert "speedup" not in summary[("step", "s4d@B=1")]  # ours only
    assert summary[("epoch", "npz-task")]["ours_s"] is None


def test_summary_takes_the_originals_best_backend_per_round_and_the_median_over_rounds():
    report = {
        "layers": [
            {"case": "c", "impl": "original", "backend": "keops", "round": 0, "fwd_bwd_s": 4.0},
            {"case": "c", "impl": "original", "backend": "naive", "round": 0, "fwd_bwd_s": 6.0},
            {"case": "c", "impl": "original", "backend": "keops", "round": 1, "fwd_bwd_s": 9.0},
            {"case": "c", "impl": "original", "backend": "naive", "round": 1, "fwd_bwd_s": 5.0},
            {"case": "c", "impl": "ours", "backend": "auto", "round": 0, "fwd_bwd_s": 2.0},
            {"case": "c", "impl": "ours", "backend": "auto", "round": 1, "fwd_bwd_s": 3.0},
        ],
        "step": [
            {"case": "s", "impl": "original", "round": 0, "steps_per_s": 100.0},
            {"case": "s", "impl": "ours", "round": 0, "steps_per_s": 250.0},
        ],
        "cauchy": [
            {"case": "k", "impl": "original", "backend": "keops", "round": 0, "fwd_bwd_s": 1.0},
            {"case": "k", "impl": "ours", "backend": "torch", "round": 0, "fwd_bwd_s": 0.4},
            {"case": "k", "impl": "ours", "backend": "keops", "round": 0, "fwd_bwd_s": 0.1},
        ],
    }
    rows = {r["case"]: r for r in original.summarise(report)}
    # original: best of each round (4.0, 5.0), median 4.5; ours median 2.5
    assert rows["c"]["original_s"] == 4.5 and rows["c"]["ours_s"] == 2.5
    assert rows["c"]["speedup"] == pytest.approx(4.5 / 2.5)
    assert rows["s"]["speedup"] == pytest.approx(2.5)  # steps/s: ours / original
    assert rows["k"]["ours_s"] == 0.4  # the ratio uses our torch backend


def test_summary_prefers_the_median_of_paired_ratios_to_the_ratio_of_medians():
    report = {
        "step": [
            {"case": "s", "impl": "original", "round": 0, "steps_per_s": 100.0},
            {"case": "s", "impl": "ours", "round": 0, "steps_per_s": 250.0, "paired_speedup": 2.1},
            {"case": "s", "impl": "original", "round": 1, "steps_per_s": 150.0},
            {"case": "s", "impl": "ours", "round": 1, "steps_per_s": 240.0, "paired_speedup": 1.9},
            {"case": "s", "impl": "ours", "round": 2, "steps_per_s": 260.0, "paired_speedup": 2.3},
        ]
    }
    (row,) = original.summarise(report)
    assert row["speedup"] == 2.1  # the median of 2.1, 1.9 and 2.3, not 250 / 125
    assert row["ours_steps_per_s"] == 250.0 and row["original_steps_per_s"] == 125.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sections", "step,warp"], "--sections: expected names"),
        (["--original-backends", "cuda"], "--original-backends: expected keops and/or naive"),
        (["--ours-cauchy-backends", "keops"], "--ours-cauchy-backends: expected torch"),
        (["--task-scale", "2"], "--task-scale: expected a value in"),
    ],
)
def test_bad_options_are_named(argv, message, capsys):
    with pytest.raises(SystemExit):
        original.parse(["--original-dir", str(FAKE), *argv])
    assert message in capsys.readouterr().err


def test_all_leaves_out_the_suite_that_needs_the_originals_checkout():
    assert "original" in cli.SUITES and "original" in cli.NEEDS_INPUT
