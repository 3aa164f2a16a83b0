"""Step mode == conv mode through whole networks (teacher forcing, float64), prompt warm-up by
forward-with-state == a step loop, and the sampler (temperature, top-p, seed)."""

from __future__ import annotations

import pytest
import torch
from s4_generate import GenerateError, generate, sample_tokens, teacher_forced_logits, warm_up

from s4_train.network import DataSpec, build_network

SPEC = DataSpec(
    d_input=11, d_output=11, l_max=32, input_kind="token", output_kind="seq_class", l_output=32
)
TASK = {"encoder": "auto", "positional": "none", "pool": "last"}


def _network(backbone: str, mode: str = "dplr"):
    torch.manual_seed(0)
    model = {
        "backbone": backbone,
        "d_model": 8,
        "n_layers": 2,
        "dropout": 0.0,
        "prenorm": True,
        "norm": "layer",
        "residual": True,
        "layer": {"mode": mode, "d_state": 4, "dt_min": 0.01, "dt_max": 0.3},
        "sashimi": {"pool": [2, 4], "expand": 2, "ff": 2, "unet": True},
    }
    return build_network(model, TASK, SPEC).double().eval()


NETWORKS = [("sequence_model", "dplr"), ("sequence_model", "diag"), ("sashimi", "dplr")]


def _rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize(("backbone", "mode"), NETWORKS)
def test_teacher_forced_step_logits_equal_conv_logits(backbone, mode):
    network = _network(backbone, mode)
    tokens = torch.randint(0, 11, (2, 32))
    with torch.no_grad():
        conv = teacher_forced_logits(network, tokens, "conv")
        step = teacher_forced_logits(network, tokens, "step")
    assert conv.shape == step.shape == (2, 32, 11)
    assert _rel(step, conv) < 1e-8


@pytest.mark.parametrize(("backbone", "mode"), NETWORKS)
@pytest.mark.parametrize("length", [8, 13])
def test_warm_up_by_forward_with_state_equals_a_step_loop(backbone, mode, length):
    network = _network(backbone, mode)
    prompt = torch.randint(0, 11, (3, length))
    with torch.no_grad():
        logits, state = warm_up(network, prompt)
        reference = teacher_forced_logits(network, prompt, "step")[:, -1]
        assert _rel(logits, reference) < 1e-8
        # the warmed state continues like the step loop's
        full = torch.cat([prompt, torch.randint(0, 11, (3, 3))], 1)
        y = network.backbone.step(network.encoder(full[:, length : length + 1])[:, 0], state)[0]
        after = teacher_forced_logits(network, full, "step")[:, length]
        assert _rel(network.decoder.output(y), after) < 1e-8


def test_generate_keeps_the_prompt_and_is_reproducible():
    network = _network("sashimi")
    prompt = torch.randint(0, 11, (2, 5))
    a = generate(network, prompt, 20, generator=torch.Generator().manual_seed(3))
    b = generate(network, prompt, 20, generator=torch.Generator().manual_seed(3))
    assert a.shape == (2, 20) and torch.equal(a[:, :5], prompt) and torch.equal(a, b)
    assert int(a.min()) >= 0 and int(a.max()) < 11
    with pytest.raises(GenerateError, match="l_sample: expected > the prompt length 5"):
        generate(network, prompt, 5)


def test_sampler_temperature_and_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).repeat(4000, 1)
    g = torch.Generator().manual_seed(0)
    freq = torch.bincount(sample_tokens(logits, generator=g), minlength=4) / 4000
    assert torch.allclose(freq.double(), torch.tensor([0.5, 0.3, 0.15, 0.05]).double(), atol=0.03)
    # top_p = 0.7: the smallest set reaching 0.7 is {0, 1}, renormalised to 5/8, 3/8
    freq = torch.bincount(sample_tokens(logits, top_p=0.7, generator=g), minlength=4) / 4000
    assert freq[2] == 0 and freq[3] == 0
    assert abs(float(freq[0]) - 0.625) < 0.03
    # a tiny top_p keeps only the most likely token; a tiny temperature is (nearly) argmax
    assert torch.all(sample_tokens(logits, top_p=1e-6, generator=g) == 0)
    assert torch.all(sample_tokens(logits, temperature=1e-3, generator=g) == 0)
