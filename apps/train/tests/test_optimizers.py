"""Optimizers from the optimizer section: torch's classes over s4_layers' parameter groups."""

from __future__ import annotations

import pytest
import torch

from s4_train.config import ConfigError, compose_config, validate
from s4_train.optimizers import OPTIMIZERS, build_optimizer


def _layer() -> torch.nn.Module:
    from s4_layers import S4Block

    return S4Block(4, mode="diag", d_state=4, lr=0.003)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_composes_and_keeps_the_ssm_group(name) -> None:
    cfg = compose_config([f"optimizer={name}", "optimizer.lr=0.02"])
    validate(cfg)
    from omegaconf import OmegaConf

    section = OmegaConf.to_container(cfg.optimizer)
    opt = build_optimizer(_layer(), section)
    assert isinstance(opt, OPTIMIZERS[name])
    lrs = sorted({g["lr"] for g in opt.param_groups})
    assert lrs == [0.003, 0.02]  # SSM parameters keep model.layer's lr
    ssm = [g for g in opt.param_groups if g["lr"] == 0.003]
    # dt, A, B: no weight decay; C follows the layer lr with the optimiser's decay (original)
    assert any(g["weight_decay"] == 0.0 for g in ssm)
    assert {g["weight_decay"] for g in ssm} <= {0.0, section["weight_decay"]}


def test_sgd_option_reaches_torch() -> None:
    opt = build_optimizer(
        _layer(),
        {"name": "sgd", "lr": 0.1, "weight_decay": 0.0, "momentum": 0.5, "nesterov": True},
    )
    assert opt.defaults["momentum"] == 0.5 and opt.defaults["nesterov"] is True


def test_an_option_of_another_optimizer_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"optimizer\.momentum"):
        validate(compose_config(["optimizer=adam", "+optimizer.momentum=0.9"]))
