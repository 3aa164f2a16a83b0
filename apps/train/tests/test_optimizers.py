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


@pytest.mark.parametrize("name", ["adamw", "adam"])
def test_adam_family_is_fused_unless_the_config_says_otherwise(name) -> None:
    section = {"name": name, "lr": 0.01, "weight_decay": 0.0, "betas": [0.9, 0.999], "eps": 1e-8}
    assert build_optimizer(_layer(), {**section, "fused": None}).defaults["fused"] is True
    assert build_optimizer(_layer(), {**section, "fused": False}).defaults["fused"] is False
    complex_param = torch.nn.Linear(2, 2)
    complex_param.extra = torch.nn.Parameter(torch.zeros(2, dtype=torch.cfloat))
    assert not build_optimizer(complex_param, {**section, "fused": None}).defaults["fused"]


def test_fused_adamw_follows_the_per_parameter_loop() -> None:
    """Same updates as torch's unfused AdamW, to float32 rounding, over a few steps."""
    torch.manual_seed(0)
    nets = [_layer(), _layer()]
    nets[1].load_state_dict(nets[0].state_dict())
    section = {"name": "adamw", "lr": 0.01, "weight_decay": 0.01, "betas": [0.9, 0.999]}
    unfused = {**section, "fused": False}
    opts = [build_optimizer(nets[0], section), build_optimizer(nets[1], unfused)]
    x = torch.randn(2, 4, 16)
    for _ in range(3):
        for net, opt in zip(nets, opts):
            opt.zero_grad()
            net(x)[0].square().mean().backward()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
