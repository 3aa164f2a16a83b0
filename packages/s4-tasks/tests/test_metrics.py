import math

import pytest
import torch

from s4_tasks import METRICS, METRICS_FOR, loss_for
from s4_tasks.metrics import accuracy, bits_per_dim, cross_entropy, mse, perplexity


def _reference_ce(logits, y):
    """Mean of logsumexp(logits) - logits[y], with explicit float64 loops."""
    flat = logits.double().reshape(-1, logits.shape[-1])
    targets = y.reshape(-1)
    total = 0.0
    for row, t in zip(flat, targets):
        peak = max(row.tolist())
        lse = peak + math.log(sum(math.exp(v - peak) for v in row.tolist()))
        total += lse - float(row[int(t)])
    return total / len(targets)


@pytest.mark.parametrize("shape", [(6,), (3, 5)])
def test_class_metrics_match_references(shape):
    torch.manual_seed(0)
    logits = torch.randn(*shape, 7) * 3
    y = torch.randint(0, 7, shape)
    ce_ref = _reference_ce(logits, y)
    assert float(cross_entropy(logits, y)) == pytest.approx(ce_ref, rel=1e-5)
    assert float(bits_per_dim(logits, y)) == pytest.approx(ce_ref / math.log(2), rel=1e-5)
    assert float(METRICS["bits_per_byte"](logits, y)) == pytest.approx(
        ce_ref / math.log(2), rel=1e-5
    )
    assert float(perplexity(logits, y)) == pytest.approx(math.exp(ce_ref), rel=1e-5)
    flat_logits, flat_y = logits.reshape(-1, 7), y.reshape(-1)
    hits = sum(
        int(max(range(7), key=lambda c: float(r[c])) == int(t)) for r, t in zip(flat_logits, flat_y)
    )
    assert float(accuracy(logits, y)) == pytest.approx(hits / len(flat_y))


def test_accuracy_extremes_and_uniform_perplexity():
    y = torch.tensor([0, 2, 1])
    perfect = torch.nn.functional.one_hot(y, 4).float() * 10
    assert float(accuracy(perfect, y)) == 1.0
    assert float(accuracy(-perfect, torch.tensor([0, 2, 1]))) < 1.0
    uniform = torch.zeros(3, 4)
    assert float(perplexity(uniform, y)) == pytest.approx(4.0)
    assert float(bits_per_dim(uniform, y)) == pytest.approx(2.0)


def test_mse_matches_reference_and_checks_shapes():
    torch.manual_seed(1)
    pred, target = torch.randn(4, 2), torch.randn(4, 2)
    ref = sum((float(p) - float(t)) ** 2 for p, t in zip(pred.flatten(), target.flatten())) / 8
    assert float(mse(pred, target)) == pytest.approx(ref, rel=1e-6)
    with pytest.raises(ValueError, match=r"same shape, got \(4, 2\) and \(4,\)"):
        mse(pred, target[:, 0])


def test_losses_are_differentiable():
    logits = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1, 0, 3])
    assert torch.autograd.gradcheck(lambda z: cross_entropy(z, y), (logits,))
    assert torch.autograd.gradcheck(lambda z: bits_per_dim(z, y), (logits,))
    pred = torch.randn(3, 1, dtype=torch.float64, requires_grad=True)
    target = torch.randn(3, 1, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: mse(p, target), (pred,))


def test_shape_and_dtype_errors():
    with pytest.raises(ValueError, match=r"logits \(5, 3\) and y \(4,\)"):
        cross_entropy(torch.randn(5, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="integer class targets"):
        accuracy(torch.randn(2, 3), torch.zeros(2))


def test_registry_and_loss_for():
    assert set(METRICS) == {
        "accuracy",
        "cross_entropy",
        "bits_per_dim",
        "bits_per_byte",
        "perplexity",
        "mse",
    }
    assert loss_for("class") is cross_entropy and loss_for("seq_class") is cross_entropy
    assert loss_for("regression") is mse
    for kind, names in METRICS_FOR.items():
        assert set(names) <= set(METRICS), kind
    with pytest.raises(ValueError, match="output_kind must be one of"):
        loss_for("ranking")
