"""Adaptive input embeddings and adaptive softmax against float64 brute force."""

import pytest
import torch

from s4_tasks.decoders import AdaptiveSoftmax
from s4_tasks.encoders import AdaptiveInput, adaptive_clusters


def test_clusters_widths():
    assert adaptive_clusters(100, [10, 40], 64, 4) == [(0, 10, 64), (10, 40, 16), (40, 100, 4)]
    for bad in ([40, 10], [0], [100], [5.5]):
        with pytest.raises(ValueError, match="cutoffs"):
            adaptive_clusters(100, bad, 64, 4)


def test_adaptive_input_matches_per_token_brute_force():
    torch.manual_seed(0)
    layer = AdaptiveInput(50, 8, [5, 20], div_val=2).double()
    x = torch.randint(0, 50, (3, 7))
    out = layer(x)
    for b in range(3):
        for t in range(7):
            token = int(x[b, t])
            i = 0 if token < 5 else 1 if token < 20 else 2
            lo = (0, 5, 20)[i]
            expected = layer.projections[i].weight @ layer.embeddings[i].weight[token - lo]
            torch.testing.assert_close(out[b, t], expected)
    with pytest.raises(ValueError, match="x"):
        layer(torch.tensor([[50]]))


def _brute_force_log_probs(sm, h):
    """log p(w) for every w, one word at a time, materialising every softmax."""
    c0 = sm.clusters[0][1]
    head_words = sm.head_proj(h) @ sm.word_weights[0].T + sm.word_biases[0]
    logits = [head_words]
    if sm.cluster_logits is not None:
        logits.append(sm.cluster_logits(h))
    head = torch.cat(logits, -1)
    head = head - torch.logsumexp(head, -1, keepdim=True)
    out = torch.empty(*h.shape[:-1], sm.vocab, dtype=h.dtype)
    for w in range(sm.vocab):
        if w < c0:
            out[..., w] = head[..., w]
            continue
        i = next(k for k, (lo, hi, _) in enumerate(sm.clusters) if lo <= w < hi)
        lo = sm.clusters[i][0]
        tail = sm.tail_proj[i - 1](h) @ sm.word_weights[i].T + sm.word_biases[i]
        out[..., w] = head[..., c0 + i - 1] + tail[..., w - lo] - torch.logsumexp(tail, -1)
    return out


@pytest.mark.parametrize("cutoffs", [[], [6], [4, 12]])
def test_adaptive_softmax_normalised_and_matches_brute_force(cutoffs):
    torch.manual_seed(1)
    sm = AdaptiveSoftmax(8, 30, cutoffs, div_val=2).double()
    h = torch.randn(2, 5, 8, dtype=torch.float64)
    logp = sm(h)
    assert logp.shape == (2, 5, 30)
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(2, 5, dtype=torch.float64))
    torch.testing.assert_close(logp, _brute_force_log_probs(sm, h), rtol=1e-12, atol=1e-12)


def test_one_cluster_is_the_full_softmax():
    torch.manual_seed(2)
    sm = AdaptiveSoftmax(8, 30, []).double()
    h = torch.randn(4, 8, dtype=torch.float64)
    full = torch.log_softmax(
        h @ (sm.word_weights[0] @ sm.head_proj.weight).T + sm.word_biases[0], -1
    )
    torch.testing.assert_close(sm(h), full)


def test_gradcheck_float64():
    torch.manual_seed(3)
    sm = AdaptiveSoftmax(4, 12, [3, 7], div_val=2).double()
    h = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(sm, (h,))


def test_tied_weights_are_shared():
    emb = AdaptiveInput(30, 8, [4, 12], div_val=2)
    sm = AdaptiveSoftmax(8, 30, [4, 12], div_val=2, tie_to=emb)
    for i in range(3):
        assert sm.word_weights[i] is emb.embeddings[i].weight
    n_params = sum(
        p.numel() for p in {id(p): p for p in [*emb.parameters(), *sm.parameters()]}.values()
    )
    untied = AdaptiveSoftmax(8, 30, [4, 12], div_val=2)
    assert n_params < sum(p.numel() for p in emb.parameters()) + sum(
        p.numel() for p in untied.parameters()
    )
    with pytest.raises(ValueError, match="tie_to"):
        AdaptiveSoftmax(8, 30, [5, 12], div_val=2, tie_to=emb)
