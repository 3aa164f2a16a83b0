"""Two training steps of every language-modelling experiment (configs/experiment/lm/)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from s4_train import run_experiment

WIKI = " = Title = \n\n the cat sat on the mat . \n the dog sat on the log .\n" * 20

LM_EXPERIMENTS = {
    "lm/s4-char": ["dataset.seq_len=32"],
    "lm/s4-wt2-small": ["dataset.root={root}", "dataset.seq_len=16"],
    "lm/s4-wt103": ["dataset.root={root}", "dataset.seq_len=16"],
}


@pytest.fixture(scope="module")
def wiki_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wikitext")
    for split in ("train", "valid", "test"):
        (root / f"wiki.{split}.tokens").write_text(WIKI, encoding="utf-8")
    return root


def test_every_lm_experiment_is_covered(config_dir: Path) -> None:
    shipped = {f"lm/{p.stem}" for p in (config_dir / "experiment" / "lm").glob("*.yaml")}
    assert shipped == set(LM_EXPERIMENTS)


@pytest.mark.parametrize("name", sorted(LM_EXPERIMENTS))
def test_lm_experiment_trains_two_steps(name, tiny, wiki_root, tmp_path) -> None:
    extra = [o.format(root=wiki_root) for o in LM_EXPERIMENTS[name]]
    results = run_experiment([f"experiment={name}", *tiny, *extra], output_dir=tmp_path / "run")
    assert results["name"] == name
    assert results["global_step"] == 2
    loss = results["test"]["test/loss"]
    assert math.isfinite(loss) and loss > 0
    assert 0.0 <= results["test"]["test/accuracy"] <= 1.0
