"""Stateful training over token streams: exact state carry through the network (S4 and S4D),
tbptt detaches, and a tiny synthetic stream dataset trains end to end."""

from __future__ import annotations

import pytest
import torch

from s4_train import run_experiment
from s4_train.network import build_network
from s4_train.spec import DataSpec
from s4_train.stateful import StreamChunks, batchify

VOCAB = 7
SPEC = DataSpec(
    d_input=VOCAB, d_output=VOCAB, l_max=16, input_kind="token", output_kind="seq_class"
)
TASK = {"encoder": "auto", "positional": "none", "pool": "mean", "metrics": []}


def _model(mode: str) -> dict:
    return {
        "backbone": "sequence_model",
        "d_model": 6,
        "n_layers": 2,
        "dropout": 0.0,
        "prenorm": True,
        "norm": "layer",
        "residual": True,
        "layer": {"mode": mode, "d_state": 4, "lr": None},
    }


@pytest.mark.parametrize("mode", ["dplr", "diag"])
def test_two_chunks_with_carried_state_equal_one_of_twice_the_length(mode) -> None:
    """bptt through the carried state (float64): outputs and gradients of two consecutive
    chunks == one forward over the whole sequence (the stateless convolution)."""
    torch.manual_seed(0)
    net = build_network(_model(mode), TASK, SPEC).double()
    x = torch.randint(0, VOCAB, (3, 16))
    full = net(x)
    state = net.backbone.default_state(3)
    first, state = net.forward_with_state(x[:, :8], state)
    second, _ = net.forward_with_state(x[:, 8:], state)
    chunked = torch.cat([first, second], dim=1)
    assert (chunked - full).abs().max() / full.abs().max() < 1e-10

    weights = torch.randn_like(full)
    grads_full = torch.autograd.grad((full * weights).sum(), list(net.parameters()))
    grads_chunk = torch.autograd.grad((chunked * weights).sum(), list(net.parameters()))
    for a, b in zip(grads_full, grads_chunk, strict=True):
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-10)


def test_tbptt_detaches_the_carried_state() -> None:
    from s4_train import SequenceLightningModule

    module = SequenceLightningModule(
        model=_model("diag"),
        task=TASK,
        optimizer={"name": "adamw", "lr": 1e-3, "weight_decay": 0.0},
        scheduler={"name": "constant"},
        spec=dict(SPEC.__dict__),
        metrics=[],
        state={"mode": "tbptt", "seq_len": 8},
    )
    x = torch.randint(0, VOCAB, (2, 16))
    out1 = module._forward_carrying_state(x[:, :8], "train")
    carried = module._carried["train"]
    leaves = [t for t in carried if isinstance(t, torch.Tensor)]
    assert leaves and all(not t.requires_grad for t in leaves)  # no grad into batch 1
    out1.sum().backward()  # frees batch 1's graph
    out2 = module._forward_carrying_state(x[:, 8:], "train")
    out2.sum().backward()  # would raise if batch 2's graph reached into batch 1's
    # and the carried forward is the exact continuation
    with torch.no_grad():
        ref = module.network(x)[:, 8:]
    assert torch.allclose(out2.detach(), ref, rtol=1e-4, atol=1e-5)
    module.on_train_epoch_start()
    assert "train" not in module._carried  # reset at every epoch start


def test_batchify_and_chunks_give_next_token_targets() -> None:
    stream = torch.arange(23)
    rows = batchify(stream, 2)
    assert rows.tolist() == [list(range(11)), list(range(11, 22))]
    chunks = StreamChunks(stream, batch_size=2, seq_len=4)
    assert len(chunks) == 2 and chunks.dropped_tokens == 2  # 10 inputs per row: 4 + 4 (+ 2)
    x, y = chunks[1]
    assert x.tolist() == [[4, 5, 6, 7], [15, 16, 17, 18]]
    assert y.tolist() == [[5, 6, 7, 8], [16, 17, 18, 19]]
    with pytest.raises(ValueError, match=r"train\.state\.seq_len"):
        StreamChunks(stream, 2, 0)


def _stream_builder(*, n_tokens: int = 400, seed: int = 0):
    """A tiny LM dataset: a noisy periodic token stream, exposed as ``info["streams"]``."""
    from s4_tasks.base import SequenceDataset

    g = torch.Generator().manual_seed(seed)
    period = torch.arange(n_tokens) % VOCAB
    noise = torch.randint(0, VOCAB, (n_tokens,), generator=g)
    stream = torch.where(torch.rand(n_tokens, generator=g) < 0.1, noise, period).long()
    streams = {"train": stream, "val": stream[: n_tokens // 2], "test": stream[n_tokens // 2 :]}
    pairs = [(stream[i : i + 16], stream[i + 1 : i + 17]) for i in range(0, n_tokens - 17, 16)]
    return SequenceDataset(
        train=pairs, val=pairs[:2], test=pairs[:2], d_input=VOCAB, d_output=VOCAB, l_max=16,
        input_kind="token", output_kind="seq_class", l_output=16, name="toy_stream",
        chance=1 / VOCAB, info={"streams": streams},
    )  # fmt: skip


@pytest.mark.parametrize("layer_mode", ["dplr", "diag"])
def test_tbptt_trains_on_a_stream_and_logs_lm_metrics(layer_mode, tiny, tmp_path, monkeypatch):
    from s4_tasks import registry

    monkeypatch.setitem(registry.DATASETS, "toy_stream", _stream_builder)
    overrides = [o for o in tiny if not o.startswith("trainer.limit_")]
    overrides += ["dataset=npz", "~dataset", "+dataset.name=toy_stream", "task.pool=last"]
    overrides += [f"model.layer.mode={layer_mode}", "train.state.mode=tbptt"]
    overrides += ["train.state.seq_len=16", "loader.batch_size=4", "trainer.max_epochs=2"]
    results = run_experiment(overrides, output_dir=tmp_path)
    # 400 tokens / 4 rows = 100 per row, 99 inputs -> 6 chunks of 16 per epoch
    assert results["global_step"] == 12
    for key in ("test/cross_entropy", "test/perplexity", "test/bits_per_dim"):
        assert key in results["test"]
    ce = results["test"]["test/cross_entropy"]
    assert results["test"]["test/perplexity"] == pytest.approx(torch.tensor(ce).exp().item(), 1e-4)


def test_perplexity_is_exp_of_the_mean_cross_entropy_not_a_mean_of_exps() -> None:
    import math

    from s4_train.lm_metrics import MeanCrossEntropyTransform

    torch.manual_seed(0)
    batches = [(torch.randn(2, 5, VOCAB) * s, torch.randint(0, VOCAB, (2, 5))) for s in (1, 4)]
    ppl, bits = MeanCrossEntropyTransform("perplexity"), MeanCrossEntropyTransform("bits_per_dim")
    total, count = 0.0, 0
    for logits, y in batches:
        ppl.update(logits, y)
        bits.update(logits, y)
        for b in range(2):  # brute force: per-token -log softmax
            for t in range(5):
                total -= float(torch.log_softmax(logits[b, t].double(), -1)[y[b, t]])
                count += 1
    assert float(ppl.compute()) == pytest.approx(math.exp(total / count), rel=1e-6)
    assert float(bits.compute()) == pytest.approx(total / count / math.log(2), rel=1e-6)


def _lm_module(state: dict, layer_mode: str = "dplr"):
    from s4_train import SequenceLightningModule

    return SequenceLightningModule(
        model=_model(layer_mode),
        task=TASK,
        optimizer={"name": "adamw", "lr": 1e-3, "weight_decay": 0.0},
        scheduler={"name": "constant"},
        spec=dict(SPEC.__dict__),
        metrics=[],
        state=state,
    )


def _grads(module, loss):
    return torch.autograd.grad(loss, [p for p in module.parameters() if p.requires_grad])


@pytest.mark.parametrize("layer_mode", ["dplr", "diag"])
def test_bptt_step_over_two_chunks_equals_one_batch_of_twice_the_length(layer_mode) -> None:
    """bptt (float64): the training loss and every gradient of one step over K = 2 consecutive
    chunks (state carried attached) == a stateless batch of the whole 2L-token sequence."""
    torch.manual_seed(0)
    module = _lm_module({"mode": "bptt", "seq_len": 8, "bptt_batches": 2}, layer_mode).double()
    full = _lm_module({"mode": "reset"}, layer_mode).double()
    full.network.load_state_dict(module.network.state_dict())
    tokens = torch.randint(0, VOCAB, (3, 17))
    x, y = tokens[:, :16], tokens[:, 1:]
    grouped = (torch.stack([x[:, :8], x[:, 8:]]), torch.stack([y[:, :8], y[:, 8:]]))  # (K,B,L)
    loss_bptt = module._step(grouped, "train")
    loss_full = full._step((x, y), "train")
    assert abs(float(loss_bptt.detach() - loss_full.detach())) < 1e-12 * float(loss_full.detach())
    for a, b in zip(_grads(module, loss_bptt), _grads(full, loss_full), strict=True):
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-12)
    # the state after chunk 2 is carried into the next step detached
    leaves = [t for t in module._carried["train"] if isinstance(t, torch.Tensor)]
    assert leaves and all(not t.requires_grad for t in leaves)


def test_bptt_gradient_reaches_the_first_chunk_and_tbptt_does_not() -> None:
    """d out(chunk 2) / d embedding rows used only in chunk 1: non-zero in bptt (the carried
    state is attached), exactly zero in tbptt (detached at the chunk boundary)."""
    torch.manual_seed(0)
    first = torch.randint(0, 3, (2, 8))  # tokens 0..2 only in chunk 1
    second = torch.randint(3, VOCAB, (2, 8))  # tokens 3..6 only in chunk 2
    for mode in ("bptt", "tbptt"):
        module = _lm_module({"mode": mode, "seq_len": 8, "bptt_batches": 2})
        if mode == "bptt":
            out2 = module._forward_carrying_state(torch.stack([first, second]), "train")[2:]
        else:
            module._forward_carrying_state(first, "train")
            out2 = module._forward_carrying_state(second, "train")
        (grad,) = torch.autograd.grad(out2.sum(), [module.network.encoder.project.weight])
        reach = float(grad[:3].abs().sum())
        assert (reach > 0) if mode == "bptt" else (reach == 0.0), (mode, reach)
        assert float(grad[3:].abs().sum()) > 0  # chunk 2's own tokens always get a gradient


def test_chunks_group_for_bptt() -> None:
    stream = torch.arange(41)
    chunks = StreamChunks(stream, batch_size=2, seq_len=4, group=2)
    # 20 tokens per row, 19 inputs: 2 groups of 2 chunks of 4 (16) + 3 left
    assert len(chunks) == 2 and chunks.dropped_tokens == 3
    x, y = chunks[1]
    assert x.shape == (2, 2, 4) and x[0].tolist() == [[8, 9, 10, 11], [28, 29, 30, 31]]
    assert torch.equal(y, x + 1)
    with pytest.raises(ValueError, match=r"train\.state\.bptt_batches"):
        StreamChunks(stream, 2, 4, group=0)


@pytest.mark.parametrize("layer_mode", ["dplr", "diag"])
def test_bptt_trains_on_a_stream(layer_mode, tiny, tmp_path, monkeypatch):
    from s4_tasks import registry

    monkeypatch.setitem(registry.DATASETS, "toy_stream", _stream_builder)
    overrides = [o for o in tiny if not o.startswith("trainer.limit_")]
    overrides += ["dataset=npz", "~dataset", "+dataset.name=toy_stream", "task.pool=last"]
    overrides += [f"model.layer.mode={layer_mode}", "train.state.mode=bptt"]
    overrides += ["train.state.seq_len=16", "train.state.bptt_batches=2"]
    overrides += ["loader.batch_size=4", "trainer.max_epochs=2"]
    results = run_experiment(overrides, output_dir=tmp_path)
    # 99 inputs per row -> 6 chunks of 16 -> 3 optimizer steps of 2 chunks per epoch
    assert results["global_step"] == 6
    assert "test/cross_entropy" in results["test"]


def test_epoch_cross_entropy_is_token_weighted_over_unequal_batches() -> None:
    from s4_train.lm_metrics import MeanCrossEntropyTransform

    torch.manual_seed(2)
    big, small = (torch.randn(4, 6, VOCAB), torch.randint(0, VOCAB, (4, 6)))
    tail = (torch.randn(1, 6, VOCAB) * 5, torch.randint(0, VOCAB, (1, 6)))
    metric = MeanCrossEntropyTransform("cross_entropy")
    metric.update(big, small)
    metric.update(*tail)
    logits = torch.cat([big, tail[0]]).double()
    targets = torch.cat([small, tail[1]])
    expected = -torch.log_softmax(logits, -1).gather(-1, targets[..., None]).mean()
    assert float(metric.compute()) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize("mode", ["tbptt", "bptt"])
def test_validation_reads_the_whole_stream_with_the_state_carried(mode) -> None:
    """The epoch's val cross-entropy over 3 chunks == the CE of one pass over each row's
    whole stream (float64), for every carrying mode."""
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader

    from s4_train import SequenceLightningModule

    torch.manual_seed(3)
    module = SequenceLightningModule(
        model=_model("dplr"), task=TASK,
        optimizer={"name": "adamw", "lr": 1e-3, "weight_decay": 0.0},
        scheduler={"name": "constant"}, spec=dict(SPEC.__dict__),
        metrics=["cross_entropy", "perplexity"],
        state={"mode": mode, "seq_len": 5, "bptt_batches": 2},
    ).double()  # fmt: skip
    stream = torch.randint(0, VOCAB, (2 * 16 + 1,))
    chunks = StreamChunks(stream, batch_size=2, seq_len=5)
    assert len(chunks) == 3
    x, y = chunks.rows[:, :15], chunks.rows[:, 1:16]
    with torch.no_grad():
        logits = module.network(x)
    expected = float(torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1)))
    trainer = pl.Trainer(
        precision="64-true", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    (metrics,) = trainer.validate(module, DataLoader(chunks, batch_size=None), verbose=False)
    assert metrics["val/cross_entropy"] == pytest.approx(expected, rel=1e-6)
    assert metrics["val/perplexity"] == pytest.approx(torch.tensor(expected).exp().item(), 1e-5)
