"""The trained network: s4_tasks encoder -> S4 backbone -> s4_tasks decoder.

Shapes: x (B, L, d_input) float or (B, L) long -> encoder -> (B, L, d_model) -> backbone
(B, L, d_model) -> decoder -> (B, d_output) (class / regression) or (B, l_output, d_output)
(per-step classification).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from s4_train.spec import DataSpec


def _first(output: Any) -> torch.Tensor:
    """Sequence modules return ``(y, next_state)``; keep ``y``."""
    return output[0] if isinstance(output, tuple) else output


class MinimalS4DStack(nn.Module):
    """Residual stack of the pedagogical ``s4_layers.S4D`` layer, (B, L, H) -> (B, L, H).

    Per layer: z = x (B, H, L); [LayerNorm if prenorm]; z = S4D(z); dropout; x = z + x;
    [LayerNorm if postnorm]. The same shape as the original minimal S4D example model.
    ``tie_dropout``: both dropouts (inside S4D and after it) draw one mask per (batch,
    feature) for the whole sequence, as the original example does (``DropoutNd`` in s4d.py,
    ``nn.Dropout1d`` in example.py); otherwise they drop elements.
    """

    def __init__(
        self,
        d_model: int,
        n_layers: int,
        d_state: int = 64,
        dropout: float = 0.0,
        lr: float | None = None,
        prenorm: bool = False,
        residual: bool = True,
        tie_dropout: bool = False,
    ) -> None:
        super().__init__()
        from s4_layers import S4D
        from s4_layers.dropout import make_dropout

        self.prenorm = prenorm
        self.residual = residual
        self.layers = nn.ModuleList(
            S4D(
                d_model,
                d_state=d_state,
                dropout=dropout,
                transposed=True,
                lr=lr,
                tie_dropout=tie_dropout,
            )
            for _ in range(n_layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_layers))
        self.dropouts = nn.ModuleList(
            make_dropout(dropout, tie=tie_dropout, transposed=True) for _ in range(n_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(-1, -2)  # (B, H, L)
        for layer, norm, dropout in zip(self.layers, self.norms, self.dropouts):
            z = x
            if self.prenorm:
                z = norm(z.transpose(-1, -2)).transpose(-1, -2)
            z = dropout(_first(layer(z)))
            x = z + x if self.residual else z
            if not self.prenorm:
                x = norm(x.transpose(-1, -2)).transpose(-1, -2)
        return x.transpose(-1, -2)


class SequenceNetwork(nn.Module):
    """encoder -> backbone -> decoder; ``forward(x, lengths=None) -> logits or predictions``.

    ``lengths`` (B,) of padded token tasks go to the pooling decoder, so padded steps never
    reach the pooled features (exact for causal backbones: a step only sees earlier steps).
    """

    def __init__(
        self, encoder: nn.Module, backbone: nn.Module, decoder: nn.Module, pair: bool = False
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.backbone = backbone
        self.decoder = decoder
        self.pair = pair

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.pair:
            return self._forward_pair(x, lengths)
        h = self.encoder(x)
        h = _first(self.backbone(h))
        return self.decoder(h) if lengths is None else self.decoder(h, lengths)

    def _forward_pair(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """x (B, 2, L), lengths (B, 2): both documents in one (2B, L) backbone pass."""
        B = x.shape[0]
        h = _first(self.backbone(self.encoder(torch.cat([x[:, 0], x[:, 1]]))))
        l1, l2 = (None, None) if lengths is None else (lengths[:, 0], lengths[:, 1])
        return self.decoder(h[:B], h[B:], l1, l2)

    def forward_with_state(self, x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """(B, L, ...) and the backbone state after the previous chunk -> (output, next state).

        Exact continuation: a sequence split into consecutive chunks, each run with the state
        the previous one returned, gives the outputs of one run over the whole sequence (the
        backbone's forward-with-state path; ``s4_layers.SequenceModel`` only).
        """
        h = self.encoder(x)
        h, next_state = self.backbone(h, state=state)
        return self.decoder(h), next_state


def _enum_name(value: Any) -> Any:
    return getattr(value, "name", value)


def layer_kwargs(layer: dict[str, Any]) -> dict[str, Any]:
    """S4Block keyword arguments from ``model.layer``: Enums by name, ``None`` entries dropped
    (the layer's own default applies)."""
    return {k: _enum_name(v) for k, v in layer.items() if v is not None}


def build_backbone(model: dict[str, Any]) -> nn.Module:
    """``model`` is the ``model`` config section as a plain dict."""
    backbone = _enum_name(model["backbone"])
    layer = layer_kwargs(dict(model.get("layer") or {}))
    if backbone == "sequence_model":
        from s4_layers import SequenceModel

        return SequenceModel(
            model["d_model"],
            n_layers=model["n_layers"],
            transposed=False,
            dropout=model["dropout"],
            prenorm=model["prenorm"],
            norm=model["norm"],
            layer=layer,
            pool=model.get("pool"),
            residual=model["residual"],
            **{
                key: model[key]
                for key in ("tie_dropout", "n_repeat", "track_norms", "dropinp", "drop_path")
                if key in model
            },
        )
    if backbone == "s4d_minimal":
        return MinimalS4DStack(
            model["d_model"],
            model["n_layers"],
            d_state=layer.get("d_state", 64),
            dropout=model["dropout"],
            lr=layer.get("lr"),
            prenorm=model["prenorm"],
            residual=model["residual"],
            tie_dropout=bool(model.get("tie_dropout", False)),
        )
    if backbone == "sashimi":
        from s4_layers import SaShiMi

        sashimi = dict(model.get("sashimi") or {})
        return SaShiMi(
            model["d_model"],
            n_layers=model["n_layers"],
            dropout=model["dropout"],
            layer=layer,
            **{k: list(v) if k == "pool" else v for k, v in sashimi.items()},
        )
    raise ValueError(
        f"model.backbone: expected 'sequence_model', 's4d_minimal' or 'sashimi', got {backbone!r}"
    )


class AdaptiveLMDecoder(nn.Module):
    """(B, L, d_model) -> the last ``l_output`` steps -> adaptive softmax log-probs (B, l, V)."""

    def __init__(self, softmax: nn.Module, l_output: int | None) -> None:
        super().__init__()
        self.softmax, self.l_output = softmax, l_output

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.l_output is not None:
            if h.shape[1] < self.l_output:
                raise ValueError(
                    f"adaptive softmax decoder: expected L >= l_output={self.l_output}, "
                    f"got L={h.shape[1]}"
                )
            h = h[:, -self.l_output :]
        return self.softmax(h)


def build_adaptive_lm(
    adaptive: dict[str, Any], task: dict[str, Any], model: dict[str, Any], spec: DataSpec
) -> tuple[nn.Module, nn.Module, nn.Module]:
    """``task.adaptive``: AdaptiveInput encoder, backbone, AdaptiveSoftmax decoder (tied if
    ``tie_weights``). Needs a token-in, per-step-class-out task over one vocabulary."""
    from s4_tasks.decoders import AdaptiveSoftmax
    from s4_tasks.encoders import AdaptiveInput

    if spec.input_kind != "token" or spec.output_kind != "seq_class":
        raise ValueError(
            "task.adaptive.enabled: expected a token-in, per-step classification (LM) dataset, "
            f"got input_kind={spec.input_kind!r}, output_kind={spec.output_kind!r}"
        )
    if spec.d_input != spec.d_output:
        raise ValueError(
            f"task.adaptive.enabled: expected one vocabulary (d_input == d_output), got "
            f"{spec.d_input} and {spec.d_output}"
        )
    if _enum_name(task.get("positional", "none")) != "none":
        raise ValueError(
            "task.positional: expected 'none' with task.adaptive.enabled, got "
            f"{_enum_name(task['positional'])!r}"
        )
    cutoffs = [int(c) for c in adaptive.get("cutoffs") or []]
    div_val = float(adaptive.get("div_val", 4.0))
    try:
        encoder = AdaptiveInput(spec.d_input, model["d_model"], cutoffs, div_val)
    except ValueError as err:
        raise ValueError(f"task.adaptive.{err}") from None
    tie = encoder if adaptive.get("tie_weights") else None
    softmax = AdaptiveSoftmax(model["d_model"], spec.d_output, cutoffs, div_val, tie_to=tie)
    return encoder, build_backbone(model), AdaptiveLMDecoder(softmax, spec.l_output)


def build_network(model: dict[str, Any], task: dict[str, Any], spec: DataSpec) -> SequenceNetwork:
    """Encoder, backbone and decoder for ``spec`` from the ``model`` and ``task`` sections."""
    from s4_tasks.decoders import build_decoder
    from s4_tasks.encoders import build_encoder

    adaptive = dict(task.get("adaptive") or {})
    if adaptive.get("enabled"):
        return SequenceNetwork(*build_adaptive_lm(adaptive, task, model, spec))
    kind = _enum_name(task.get("encoder", "auto"))
    if kind == "auto":
        kind = "embedding" if spec.input_kind == "token" else "linear"
    positional = _enum_name(task.get("positional", "none"))
    encoder = build_encoder(
        kind,
        spec.d_input,
        model["d_model"],
        positional=None if positional == "none" else positional,
        l_max=spec.l_max,
    )
    pool = _enum_name(task.get("pool", "last"))
    if spec.pair:
        from s4_tasks.decoders import RetrievalDecoder

        decoder = RetrievalDecoder(model["d_model"], spec.d_output, pool)
    else:
        decoder = build_decoder(
            spec.output_kind, model["d_model"], spec.d_output, pool=pool, l_output=spec.l_output
        )
    return SequenceNetwork(encoder, build_backbone(model), decoder, pair=spec.pair)
