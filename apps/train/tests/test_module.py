"""The LightningModule: loss and metrics per split, SSM param groups, optimizer settings."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

from s4_tasks.metrics import accuracy, cross_entropy
from s4_train import DataSpec, SequenceLightningModule

MODEL = {
    "backbone": "sequence_model",
    "d_model": 8,
    "n_layers": 1,
    "dropout": 0.0,
    "prenorm": True,
    "norm": "layer",
    "residual": True,
    "layer": {"mode": "diag", "d_state": 4, "lr": 0.002},
}
TASK = {"encoder": "auto", "positional": "none", "pool": "last", "metrics": []}
OPTIMIZER = {"name": "adamw", "lr": 0.01, "weight_decay": 0.05, "betas": [0.8, 0.99], "eps": 1e-7}
SCHEDULER = {"name": "constant", "warmup_steps": 0}
SPEC = DataSpec(3, 4, 12, "real", "class", None, "toy", 0.25)


def _module(**kw) -> SequenceLightningModule:
    args = {
        "model": MODEL,
        "task": TASK,
        "optimizer": OPTIMIZER,
        "scheduler": SCHEDULER,
        "spec": dict(SPEC.__dict__),
        "metrics": ["accuracy", "cross_entropy"],
    }
    return SequenceLightningModule(**{**args, **kw})


def _csv_rows(root) -> list[dict[str, str]]:
    import csv

    (path,) = root.rglob("metrics.csv")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _loader(n=8):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 12, 3, generator=g), torch.randint(0, 4, (n,), generator=g)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)


def test_step_loss_is_the_task_loss_and_metrics_are_logged() -> None:
    module = _module()
    x, y = next(iter(_loader()))
    logged = {}

    def log(name, value, **kw):  # epoch metrics (torchmetrics objects) are read by compute()
        logged[name] = (float(value.compute() if hasattr(value, "compute") else value), kw)

    module.log = log
    loss = module.validation_step((x, y), 0)
    logits = module(x)
    assert float(loss) == pytest.approx(float(cross_entropy(logits, y)), rel=1e-6)
    assert not logged  # val metrics are epoch means: logged once, at the epoch end
    module.on_validation_epoch_end()
    assert logged["val/accuracy"][0] == pytest.approx(float(accuracy(logits, y)))
    assert logged["val/loss"][0] == pytest.approx(float(loss), rel=1e-6)
    assert logged["val/loss"][1]["sync_dist"] and logged["val/loss"][1]["prog_bar"]


def test_epoch_means_are_weighted_by_batch_size_and_reset() -> None:
    module = _module()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(7, 12, 3, generator=g), torch.randint(0, 4, (7,), generator=g)
    batches = [(x[:5], y[:5]), (x[5:], y[5:])]  # unequal sizes: 5 and 2
    logged = {}
    module.log = lambda name, value, **kw: logged.__setitem__(name, float(value))
    module.on_validation_epoch_start()
    losses = [float(module.validation_step(b, i)) for i, b in enumerate(batches)]
    module.on_validation_epoch_end()
    # the mean over the 7 samples, not the mean of the two batch means
    with torch.no_grad():
        per_sample = torch.nn.functional.cross_entropy(module(x).double(), y, reduction="none")
    assert logged["val/loss"] == pytest.approx(float(per_sample.mean()), rel=1e-5)
    assert logged["val/loss"] == pytest.approx((5 * losses[0] + 2 * losses[1]) / 7, rel=1e-6)
    assert abs(logged["val/loss"] - sum(losses) / 2) > 1e-6
    logged.clear()
    module.on_validation_epoch_end()  # reset: nothing left to log without new batches
    assert not logged


def test_train_loss_is_logged_per_step_and_metrics_per_epoch() -> None:
    module = _module()
    batches = list(_loader())[:2]
    logged = {}
    module.log = lambda name, value, **kw: logged.__setitem__(name, (float(value.detach()), kw))
    losses = [module.training_step(b, i) for i, b in enumerate(batches)]
    assert set(logged) == {"train/loss_step"}  # outside a trainer: every step
    assert logged["train/loss_step"][0] == pytest.approx(float(losses[-1]))
    assert logged["train/loss_step"][1]["on_step"] and not logged["train/loss_step"][1]["on_epoch"]
    assert module.last_train_loss is not None and not module.last_train_loss.requires_grad
    assert float(module.last_train_loss) == float(losses[-1])
    module.on_train_epoch_end()
    sizes = [len(b[1]) for b in batches]
    mean = sum(n * float(v) for n, v in zip(sizes, losses, strict=True)) / sum(sizes)
    assert logged["train/loss_epoch"][0] == pytest.approx(mean, rel=1e-6)
    assert logged["train/loss_epoch"][1]["prog_bar"]
    assert 0.0 <= logged["train/accuracy"][0] <= 1.0 and "train/cross_entropy" in logged


@pytest.mark.parametrize("every", [1, 3])
def test_step_loss_reaches_self_log_only_on_the_loggers_steps(tmp_path, every) -> None:
    """train/loss_step is handed to self.log on the steps Lightning writes to the loggers
    (log_every_n_steps), and the CSV holds exactly those steps with their losses."""
    from lightning.pytorch.loggers import CSVLogger

    module = _module()
    calls = []
    log = module.log

    def spy(name, value, **kw):
        if name == "train/loss_step":
            calls.append((module.trainer.global_step, float(value)))
        log(name, value, **kw)

    module.log = spy
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=7,
        logger=CSVLogger(tmp_path),
        log_every_n_steps=every,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    trainer.fit(module, train_dataloaders=_loader(n=64))
    assert [s for s, _ in calls] == [s for s in range(7) if (s + 1) % every == 0]
    rows = [r for r in _csv_rows(tmp_path) if r.get("train/loss_step")]
    assert [int(r["step"]) for r in rows] == [s for s, _ in calls]
    assert [float(r["train/loss_step"]) for r in rows] == pytest.approx([v for _, v in calls])


def test_unknown_metric_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"task\.metrics"):
        _module(metrics=["accuracy", "f1"])


def test_optimizer_uses_ssm_param_groups(tmp_path) -> None:
    module = _module()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        num_sanity_val_steps=0,
    )
    trainer.fit(module, train_dataloaders=_loader())
    optimizer = trainer.optimizers[0]
    assert isinstance(optimizer, torch.optim.AdamW)
    groups = optimizer.param_groups
    assert groups[0]["betas"] == (0.8, 0.99) and groups[0]["eps"] == 1e-7
    in_groups = [id(p) for g in groups for p in g["params"]]
    assert sorted(in_groups) == sorted(id(p) for p in module.parameters())  # each exactly once
    ssm = [g for g in groups if g["weight_decay"] == 0.0]
    assert ssm, "expected an SSM group with weight decay 0"
    assert any(g["lr"] == pytest.approx(0.002) for g in ssm)  # model.layer.lr
    assert any(
        g["weight_decay"] == pytest.approx(0.05) and g["lr"] == pytest.approx(0.01) for g in groups
    )


def test_training_reduces_the_loss_on_a_learnable_toy_task(tmp_path) -> None:
    torch.manual_seed(0)
    x = torch.randn(32, 12, 3)
    y = (x[:, -1, 0] > 0).long()  # depends on the last step: learnable in a few steps
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    module = _module(optimizer={**OPTIMIZER, "lr": 0.05})
    before = float(cross_entropy(module(x), y))
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=15,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(module, train_dataloaders=loader)
    after = float(cross_entropy(module(x), y))
    assert after < 0.5 * before
