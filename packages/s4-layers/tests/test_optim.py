"""param_groups: every parameter exactly once, SSM settings honoured, optimiser builds."""

import torch

from s4_layers import S4D, SequenceModel, param_groups


def test_every_parameter_once_with_its_settings():
    model = SequenceModel(8, n_layers=2, layer={"mode": "dplr", "d_state": 8, "lr": 1e-3})
    groups = param_groups(model, lr=1e-2, weight_decay=0.1)
    ids = [id(p) for g in groups for p in g["params"]]
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(ids) == len(set(ids)) == len(trainable)
    by_param = {id(p): g for g in groups for p in g["params"]}
    for name, p in model.named_parameters():
        g = by_param[id(p)]
        if name.split(".")[-1] in ("log_dt", "A_real", "A_imag", "B", "P"):
            assert (g["lr"], g["weight_decay"]) == (1e-3, 0.0), name
        elif name.endswith("kernel.C"):  # a float lr reaches C; its weight decay stays default
            assert (g["lr"], g["weight_decay"]) == (1e-3, 0.1), name
        elif "norm" in name or name.endswith("bias"):
            assert (g["lr"], g["weight_decay"]) == (1e-2, 0.0), name
        else:
            assert (g["lr"], g["weight_decay"]) == (1e-2, 0.1), name
    opt = torch.optim.AdamW(groups)
    y, _ = model(torch.randn(2, 10, 8))
    y.sum().backward()
    opt.step()


def test_frozen_ssm_parameters_are_buffers():
    layer = S4D(4, lr=0.0)
    names = {n for n, _ in layer.named_parameters()}
    assert not names & {"log_dt", "log_A_real", "A_imag"}
    groups = param_groups(layer, lr=1e-3, weight_decay=0.0)
    assert sum(len(g["params"]) for g in groups) == len(list(layer.parameters()))
