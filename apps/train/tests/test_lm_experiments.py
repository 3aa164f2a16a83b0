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
    # the published cutoffs need WT103's 267k words: cut the tiny vocabulary instead
    "lm/s4-wt103": ["dataset.root={root}", "dataset.seq_len=16", "task.adaptive.cutoffs=[4,8]"],
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


def test_wt103_config_has_the_published_adaptive_setup() -> None:
    from s4_train.config import compose_config

    cfg = compose_config(["experiment=lm/s4-wt103"])
    assert cfg.task.adaptive.enabled and cfg.task.adaptive.tie_weights
    assert list(cfg.task.adaptive.cutoffs) == [19997, 39997, 199997]
    assert cfg.task.adaptive.div_val == 4
    assert (cfg.model.d_model, cfg.model.n_layers, cfg.dataset.seq_len) == (1024, 16, 8192)


def _adaptive_network(tie: bool):
    import torch

    from s4_train.network import build_network
    from s4_train.spec import DataSpec

    spec = DataSpec(
        d_input=20, d_output=20, l_max=6, input_kind="token", output_kind="seq_class"
    )  # fmt: skip
    model = {
        "backbone": "sequence_model", "d_model": 8, "n_layers": 1, "dropout": 0.0,
        "prenorm": True, "norm": "layer", "residual": True,
        "layer": {"mode": "diag", "d_state": 4, "lr": None},
    }  # fmt: skip
    task = {"adaptive": {"enabled": True, "cutoffs": [5, 12], "div_val": 2, "tie_weights": tie}}
    torch.manual_seed(0)
    return build_network(model, task, spec)


@pytest.mark.parametrize("tie", [False, True])
def test_adaptive_network_gives_normalised_log_probs_and_ties_weights(tie) -> None:
    import torch

    from s4_tasks import AdaptiveInput, AdaptiveSoftmax

    net = _adaptive_network(tie)
    assert isinstance(net.encoder, AdaptiveInput)
    assert isinstance(net.decoder.softmax, AdaptiveSoftmax)
    x = torch.randint(0, 20, (2, 6))
    logp = net(x)
    assert logp.shape == (2, 6, 20)
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 6), atol=1e-5)
    pairs = zip(net.encoder.embeddings, net.decoder.softmax.word_weights, strict=True)
    shared = [emb.weight is weight for emb, weight in pairs]
    assert all(shared) if tie else not any(shared)
    n_params = sum(p.numel() for p in net.parameters())  # shared tensors counted once
    untied = sum(p.numel() for p in _adaptive_network(False).parameters())
    assert (n_params < untied) if tie else (n_params == untied)


def test_adaptive_rejects_a_non_lm_task() -> None:
    from s4_train.network import build_network
    from s4_train.spec import DataSpec

    spec = DataSpec(d_input=3, d_output=4, l_max=6, input_kind="real", output_kind="class")
    model = {"backbone": "s4d_minimal", "d_model": 8, "n_layers": 1, "dropout": 0.0,
             "prenorm": True, "residual": True, "layer": {}}  # fmt: skip
    with pytest.raises(ValueError, match=r"task\.adaptive\.enabled: expected a token-in"):
        build_network(model, {"adaptive": {"enabled": True, "cutoffs": [2]}}, spec)
