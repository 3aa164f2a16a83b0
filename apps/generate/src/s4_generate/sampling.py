r"""Autoregressive sampling through step mode.

A network is ``encoder -> backbone -> decoder`` (``s4_train.network.SequenceNetwork``) with a
token encoder without positions, a backbone with ``forward(x, state)``, ``setup_step()``,
``step(x, state)``, ``default_state(B)`` (SequenceModel, SaShiMi) and a per-step decoder.

- :func:`warm_up`: the prompt x_0..x_{l-1} through forward-with-state (one convolution; a
  SaShiMi prompt is cut to a multiple of prod(pool), the rest stepped) -> logits of x_l, state.
- :func:`generate`: then one step per new token: x_t ~ p(. | x_<t), O(1) work each.
- :func:`sample_tokens`: temperature and nucleus (top-p) sampling of one token per row.
- :func:`teacher_forced_logits`: logits of every step of a given sequence by the conv path or
  the step path (the two agree to float64 rounding; the tests check it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from s4_generate.options import GenerateError


def check_generative(network: nn.Module, spec) -> None:
    """The network can be stepped: token inputs and per-step targets (``spec``, a DataSpec),
    an encoder without positions, a backbone with step mode, a per-step linear decoder."""
    from s4_tasks.decoders import SequenceDecoder

    if spec.input_kind != "token" or spec.output_kind != "seq_class":
        raise GenerateError(
            f"dataset: expected next-token data (input_kind='token', output_kind='seq_class'), "
            f"got {spec.input_kind!r}, {spec.output_kind!r} ({spec.name})"
        )
    position = getattr(network.encoder, "position", None)
    if position is not None:
        raise GenerateError(
            f"task.positional: expected none for step-by-step generation, got "
            f"{type(position).__name__}"
        )
    if not isinstance(network.decoder, SequenceDecoder):
        raise GenerateError(
            "decoder: expected a per-step (seq_class) linear decoder, got "
            f"{type(network.decoder).__name__}"
        )
    for name in ("step", "setup_step", "default_state"):
        if not hasattr(network.backbone, name):
            raise GenerateError(
                f"model.backbone: expected a backbone with {name}() (step mode), got "
                f"{type(network.backbone).__name__}"
            )


def _embed(network: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """(B, l) tokens -> (B, l, H) features."""
    return network.encoder(tokens)


def _logits(network: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """Per-step decoder on (B, ..., H) features -> (B, ..., V)."""
    return network.decoder.output(h)


def teacher_forced_logits(network: nn.Module, tokens: torch.Tensor, mode: str) -> torch.Tensor:
    """Logits (B, L, V) of every step of ``tokens`` (B, L): ``mode="conv"`` runs the network
    as in training, ``"step"`` feeds the tokens one at a time through step mode."""
    if mode == "conv":
        return network(tokens)
    if mode != "step":
        raise GenerateError(f"mode: expected 'conv' or 'step', got {mode!r}")
    backbone = network.backbone
    backbone.setup_step()
    state = backbone.default_state(tokens.shape[0], device=tokens.device)
    h = _embed(network, tokens)
    out = []
    for t in range(tokens.shape[1]):
        y, state = backbone.step(h[:, t], state)
        out.append(_logits(network, y))
    return torch.stack(out, 1)


def warm_up(network: nn.Module, prompt: torch.Tensor):
    """Prompt (B, l) -> (logits of the next token (B, V), state after the prompt).

    The longest prefix that the backbone's forward accepts with a state (a multiple of
    ``backbone.chunk`` = prod(pool) for SaShiMi, any length otherwise) runs as one convolution
    with state; the remaining < chunk tokens are stepped."""
    backbone = network.backbone
    B, length = prompt.shape
    state = backbone.default_state(B, device=prompt.device)
    chunk = int(getattr(backbone, "chunk", 1))
    m = (length // chunk) * chunk
    h = _embed(network, prompt)
    logits = None
    if m:
        y, state = backbone(h[:, :m], state=state)
        logits = _logits(network, y[:, -1])
    backbone.setup_step()
    for t in range(m, length):
        y, state = backbone.step(h[:, t], state)
        logits = _logits(network, y)
    return logits, state


def sample_tokens(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""One token per row of ``logits`` (B, V): ``p = softmax(logits / temperature)``; with
    ``top_p < 1`` only the smallest set of most likely tokens whose mass reaches top_p is kept
    (the most likely one always), renormalised."""
    probs = torch.softmax(logits.double() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # keep token k while the mass before it is < top_p
        keep = (sorted_p.cumsum(-1) - sorted_p) < top_p
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(
    network: nn.Module,
    prompt: torch.Tensor,
    l_sample: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    on_step: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Continue ``prompt`` (B, l) to (B, l_sample) tokens, prompt included; ``on_step(B)`` is
    called after every new token (progress bars)."""
    B, length = prompt.shape
    if l_sample <= length:
        raise GenerateError(f"l_sample: expected > the prompt length {length}, got {l_sample}")
    logits, state = warm_up(network, prompt)
    backbone = network.backbone
    tokens = [prompt]
    for t in range(length, l_sample):
        token = sample_tokens(logits, temperature, top_p, generator)
        tokens.append(token[:, None])
        if on_step is not None:
            on_step(B)
        if t + 1 < l_sample:
            y, state = backbone.step(_embed(network, token[:, None])[:, 0], state)
            logits = _logits(network, y)
    return torch.cat(tokens, 1)
