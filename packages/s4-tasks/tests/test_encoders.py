import math

import pytest
import torch

from s4_tasks.encoders import build_encoder, sinusoidal_table


def test_linear_encoder_matches_float64_reference():
    torch.manual_seed(0)
    enc = build_encoder("linear", d_input=3, d_model=8)
    x = torch.randn(2, 5, 3)
    out = enc(x)
    w = enc.project.weight.double()
    b = enc.project.bias.double()
    ref = torch.zeros(2, 5, 8, dtype=torch.float64)
    for i in range(2):
        for l in range(5):
            for m in range(8):
                ref[i, l, m] = sum(x[i, l, k].double() * w[m, k] for k in range(3)) + b[m]
    assert out.shape == (2, 5, 8)
    assert (out.double() - ref).norm() / ref.norm() <= 1e-6


def test_embedding_encoder_is_a_table_lookup():
    torch.manual_seed(1)
    enc = build_encoder("embedding", d_input=7, d_model=4)
    tokens = torch.randint(0, 7, (3, 6))
    out = enc(tokens)
    table = enc.project.weight
    for i in range(3):
        for l in range(6):
            assert torch.equal(out[i, l], table[tokens[i, l]])


def test_sinusoidal_table_matches_the_formula():
    for d_model in (6, 7):
        table = sinusoidal_table(9, d_model).double()
        ref = torch.zeros(9, d_model, dtype=torch.float64)
        for l in range(9):
            for j in range(d_model):
                i = j // 2
                angle = l / 10000 ** (2 * i / d_model)
                ref[l, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
        assert (table - ref).abs().max() <= 1e-6


def test_positional_encodings_are_added():
    torch.manual_seed(2)
    tokens = torch.randint(0, 5, (2, 10))
    plain = build_encoder("embedding", 5, 6)
    sinus = build_encoder("embedding", 5, 6, positional="sinusoidal")
    sinus.load_state_dict(plain.state_dict())  # no parameters of its own
    assert torch.allclose(sinus(tokens) - plain(tokens), sinusoidal_table(10, 6).expand(2, -1, -1))
    # The cached table grows for longer inputs and serves shorter ones.
    longer = torch.randint(0, 5, (1, 25))
    assert torch.allclose(sinus(longer) - plain(longer), sinusoidal_table(25, 6)[None])
    assert torch.allclose(sinus(tokens) - plain(tokens), sinusoidal_table(10, 6).expand(2, -1, -1))
    assert "position.table" not in sinus.state_dict()
    learned = build_encoder("linear", 2, 6, positional="learned", l_max=12)
    x = torch.randn(2, 10, 2)
    expected = learned.project(x) + learned.position.table[:10]
    assert torch.allclose(learned(x), expected)
    with pytest.raises(ValueError, match="at most l_max=12 steps, got L=13"):
        learned(torch.randn(1, 13, 2))


def test_encoder_gradients():
    enc = build_encoder("linear", 2, 3, positional="sinusoidal").double()
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(enc, (x,))
    learned = build_encoder("linear", 2, 3, positional="learned", l_max=4).double()
    assert torch.autograd.gradcheck(learned, (x,))


def test_bad_arguments_and_inputs_are_reported():
    with pytest.raises(ValueError, match="encoder kind"):
        build_encoder("conv", 2, 3)
    with pytest.raises(ValueError, match="positional must be one of"):
        build_encoder("linear", 2, 3, positional="rotary")
    with pytest.raises(ValueError, match="need a positive int l_max"):
        build_encoder("linear", 2, 3, positional="learned")
    with pytest.raises(ValueError, match="d_model must be a positive int"):
        build_encoder("linear", 2, 0)
    linear = build_encoder("linear", 2, 3)
    with pytest.raises(ValueError, match=r"float \(B, L, 2\)"):
        linear(torch.randn(4, 5))
    with pytest.raises(ValueError, match=r"float \(B, L, 2\)"):
        linear(torch.ones(1, 4, 2, dtype=torch.long))
    embed = build_encoder("embedding", 5, 3)
    with pytest.raises(ValueError, match=r"integer token ids \(B, L\)"):
        embed(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"\[0, 5\), got \[0, 5\]"):
        embed(torch.tensor([[0, 5]]))
