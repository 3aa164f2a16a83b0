import pytest
import torch

from s4_tasks.decoders import build_decoder, pool_sequence


def _reference(h, decoder, pool):
    h = h.double()
    w, b = decoder.output.weight.double(), decoder.output.bias.double()
    B, L, _ = h.shape
    pooled = []
    for i in range(B):
        if pool == "last":
            v = h[i, L - 1]
        else:
            v = sum(h[i, l] for l in range(L))
            if pool == "mean":
                v = v / L
        pooled.append(w @ v + b)
    return torch.stack(pooled)


@pytest.mark.parametrize("pool", ["last", "mean", "sum"])
@pytest.mark.parametrize("kind", ["class", "regression"])
def test_pooled_decoder_matches_reference(pool, kind):
    torch.manual_seed(0)
    decoder = build_decoder(kind, d_model=6, d_output=4, pool=pool)
    h = torch.randn(3, 7, 6)
    out = decoder(h)
    assert out.shape == (3, 4)
    ref = _reference(h, decoder, pool)
    assert (out.double() - ref).norm() / ref.norm() <= 1e-5


def test_sequence_decoder_reads_the_last_steps():
    torch.manual_seed(1)
    decoder = build_decoder("seq_class", d_model=5, d_output=3, l_output=4)
    h = torch.randn(2, 9, 5)
    out = decoder(h)
    assert out.shape == (2, 4, 3)
    w, b = decoder.output.weight.double(), decoder.output.bias.double()
    for i in range(2):
        for t in range(4):
            ref = w @ h[i, 9 - 4 + t].double() + b
            assert (out[i, t].double() - ref).norm() / ref.norm() <= 1e-5
    every_step = build_decoder("seq_class", 5, 3)
    assert every_step(h).shape == (2, 9, 3)
    with pytest.raises(ValueError, match="L >= l_output=4, got L=3"):
        decoder(torch.randn(2, 3, 5))


def test_decoder_gradients():
    h = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    for decoder in (
        build_decoder("class", 3, 2, pool="mean").double(),
        build_decoder("seq_class", 3, 2, l_output=2).double(),
    ):
        assert torch.autograd.gradcheck(decoder, (h,))


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="output_kind must be one of"):
        build_decoder("labels", 4, 2)
    with pytest.raises(ValueError, match="pool must be one of"):
        build_decoder("class", 4, 2, pool="max")
    with pytest.raises(ValueError, match="l_output must be None or a positive int"):
        build_decoder("seq_class", 4, 2, l_output=0)
    with pytest.raises(ValueError, match="d_output must be a positive int"):
        build_decoder("class", 4, 0)
    with pytest.raises(ValueError, match=r"expects \(B, L, 4\), got \(2, 3\)"):
        build_decoder("class", 4, 2)(torch.randn(2, 3))


@pytest.mark.parametrize("pool", ["last", "mean", "sum"])
def test_length_aware_pooling_matches_per_example_slices(pool) -> None:
    torch.manual_seed(0)
    h = torch.randn(3, 7, 4, dtype=torch.float64)
    lengths = torch.tensor([7, 2, 5])
    pooled = pool_sequence(h, pool, lengths)
    for b, n in enumerate(lengths.tolist()):
        ref = pool_sequence(h[b : b + 1, :n], pool)[0]
        torch.testing.assert_close(pooled[b], ref, rtol=1e-12, atol=1e-12)
    junk = h.clone()
    junk[1, 2:] = 1e6  # padded steps must not matter
    torch.testing.assert_close(pool_sequence(junk, pool, lengths), pooled)


def test_length_aware_pooling_rejects_bad_lengths() -> None:
    with pytest.raises(ValueError, match="lengths: expected 2 values in"):
        pool_sequence(torch.zeros(2, 5, 3), "mean", torch.tensor([0, 3]))


def test_retrieval_decoder_is_the_mlp_of_the_four_way_comparison() -> None:
    from s4_tasks.decoders import RetrievalDecoder

    torch.manual_seed(0)
    dec = RetrievalDecoder(4, 2, "mean").double()
    h1, h2 = torch.randn(3, 6, 4, dtype=torch.float64), torch.randn(3, 5, 4, dtype=torch.float64)
    l1, l2 = torch.tensor([6, 2, 3]), torch.tensor([1, 5, 4])
    out = dec(h1, h2, l1, l2)
    for b in range(3):
        u, v = h1[b, : l1[b]].mean(0), h2[b, : l2[b]].mean(0)
        z = torch.cat([u, v, u * v, u - v])
        w1, b1, w2, b2 = dec.mlp[0].weight, dec.mlp[0].bias, dec.mlp[2].weight, dec.mlp[2].bias
        ref = w2 @ torch.nn.functional.gelu(w1 @ z + b1) + b2
        torch.testing.assert_close(out[b], ref, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="h2: expected"):
        dec(h1, h2[..., :3])
