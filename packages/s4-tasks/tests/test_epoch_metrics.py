"""torchmetrics-backed epoch metrics equal the functional metric on all data concatenated."""

import math

import pytest
import torch

from s4_tasks import metrics
from s4_tasks.epoch_metrics import TokenMean, epoch_metrics


@pytest.mark.parametrize("name", ["accuracy", "cross_entropy", "bits_per_dim", "perplexity"])
def test_uneven_batches_match_the_whole_epoch(name):
    torch.manual_seed(0)
    batches = [(torch.randn(b, 5, 7), torch.randint(0, 7, (b, 5))) for b in (1, 4, 2)]
    metric = TokenMean(name)
    for logits, y in batches:
        metric.update(logits, y)
    all_logits = torch.cat([b[0] for b in batches])
    all_y = torch.cat([b[1] for b in batches])
    expected = metrics.METRICS[name](all_logits.double(), all_y)
    got = metric.compute().double()
    torch.testing.assert_close(got, expected.double(), rtol=1e-6, atol=1e-7)


def test_perplexity_is_not_the_mean_of_batch_perplexities():
    easy = (torch.tensor([[10.0, 0.0]]), torch.tensor([0]))
    hard = (torch.tensor([[0.0, 10.0]]), torch.tensor([0]))
    metric = TokenMean("perplexity")
    metric.update(*easy)
    metric.update(*hard)
    ce = (metrics.cross_entropy(*easy) + metrics.cross_entropy(*hard)) / 2
    torch.testing.assert_close(metric.compute(), torch.exp(ce))
    mean_of_ppl = (metrics.perplexity(*easy) + metrics.perplexity(*hard)) / 2
    assert not math.isclose(float(metric.compute()), float(mean_of_ppl), rel_tol=0.1)


def test_mse_and_collection():
    pred, y = torch.randn(6, 3), torch.randn(6, 3)
    coll = epoch_metrics(["mse"], prefix="val/")
    coll.update(pred[:2], y[:2])
    coll.update(pred[2:], y[2:])
    out = coll.compute()
    torch.testing.assert_close(out["val/mse"], metrics.mse(pred, y))
    with pytest.raises(ValueError, match="names"):
        epoch_metrics(["f1"])
    with pytest.raises(ValueError, match="accuracy"):
        TokenMean("accuracy").update(torch.randn(2, 3), torch.zeros(3, dtype=torch.long))
