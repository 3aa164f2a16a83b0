"""Epoch timing, SSM parameter norms, EMA weights and fine-tuning from pretrained weights."""

from __future__ import annotations

import csv
import math

import pytest
import torch

from s4_train import run_experiment
from s4_train.monitors import ssm_parameter_norms


def test_ssm_norms_match_a_direct_sum() -> None:
    from s4_layers import S4Block

    layer = S4Block(4, mode="diag", d_state=4, lr=0.001)
    norms = ssm_parameter_norms(layer)
    tagged = [(n, p) for n, p in layer.named_parameters() if hasattr(p, "_optim")]
    assert tagged and set(norms) == {n.rsplit(".", 1)[-1] for n, _ in tagged}
    for leaf, value in norms.items():
        ref = math.sqrt(sum(float((p.double() ** 2).sum()) for n, p in tagged if n.endswith(leaf)))
        assert value == pytest.approx(ref, rel=1e-12)


def test_timer_norms_and_ema_are_logged_and_used(tiny_copying, tmp_path) -> None:
    overrides = [*tiny_copying, "callbacks.ssm_norms=true", "callbacks.ema.enabled=true"]
    results = run_experiment([*overrides, "callbacks.ema.decay=0.5"], output_dir=tmp_path)
    with open(tmp_path / "csv" / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    keys = set().union(*rows)
    assert "time/epoch_seconds" in keys and any(k.startswith("ssm_norm/") for k in keys)
    assert results["test"]  # evaluated (with the averaged weights)


def test_pretrained_loads_matching_weights_and_reports_the_rest(tiny_copying, tmp_path) -> None:
    source = run_experiment([*tiny_copying, "train.test=false"], output_dir=tmp_path / "src")
    tuned = run_experiment(
        [
            *tiny_copying,
            "model.n_layers=2",  # a second layer the pretrained file does not have
            f"train.pretrained={source['last_ckpt']}",
            "trainer.max_steps=1",
            "train.test=false",
        ],
        output_dir=tmp_path / "tuned",
    )
    report = tuned["pretrained"]
    assert report["loaded"] and not report["unexpected"] and not report["mismatched"]
    assert report["missing"] and all(".1." in k for k in report["missing"])
    assert tuned["global_step"] == 1  # a fresh run, not a resume
    first = torch.load(source["last_ckpt"], weights_only=True)["state_dict"]
    encoder = [k for k in first if k.startswith("network.encoder")]
    assert encoder and set(encoder) <= set(report["loaded"])
