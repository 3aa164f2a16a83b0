"""S4Block: FFTConv (S4 or S4D kernel) + optional gating + output linear / GLU."""

from __future__ import annotations

import torch
from torch import nn

from s4_layers._checks import check_signal
from s4_layers.activations import activation as make_activation
from s4_layers.fftconv import FFTConv


class _PointwiseLinear(nn.Module):
    """Linear over the feature axis of (B, H, L) (transposed) or (B, L, H), or of (B, H)."""

    def __init__(self, d_in: int, d_out: int, transposed: bool, act: str | None = None):
        super().__init__()
        self.transposed = transposed
        self.act_name = act
        self.linear = nn.Linear(d_in, 2 * d_out if act == "glu" else d_out)
        self.act = make_activation(act, dim=-1)
        self.act_t = make_activation(act, dim=1)  # the feature axis of (B, H, L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.transposed and x.dim() == 3:
            # W (O, H) @ x_b (H, L) as one bmm: matmul's broadcasting would fold (B, L) and
            # copy the activations to and from (B L, H) in both passes.
            W = self.linear.weight.expand(x.shape[0], -1, -1)
            return self.act_t(torch.baddbmm(self.linear.bias.unsqueeze(-1), W, x))
        return self.act(self.linear(x))


class S4Block(nn.Module):
    r"""The S4 / S4D layer of the papers: ``y = out(drop(mult_act(gate(x) * conv(x))))``.

    Args:
        d_model: H.  mode: "dplr" (S4) or "diag" (S4D).  d_state: N.  init: hippo_core init.
        channels, bidirectional, activation, dropout, l_max: see :class:`FFTConv`.
        gate: None, or an expansion factor e: ``v = gate_act(Linear(H, e H)(x))`` multiplies
            the convolution output (first projected to e H).  gate_act, mult_act: activations.
        final_act: "glu" (Linear to 2H then GLU, default), another activation, or None (plain
            Linear).  transposed: (B, H, L) if True else (B, L, H).
        dt_min, dt_max, lr, disc (None: zoh for diag, bilinear for dplr), real_transform,
        imag_transform, backend, **kernel_kw: passed to the kernel.
    forward(x, state=None, rate=1.0) -> (y, next_state); y has the shape of x.
    """

    def __init__(
        self,
        d_model: int,
        mode: str = "dplr",
        d_state: int = 64,
        init: str = "legs",
        channels: int = 1,
        bidirectional: bool = False,
        activation: str | None = "gelu",
        dropout: float = 0.0,
        gate: int | None = None,
        gate_act: str | None = "id",
        mult_act: str | None = "id",
        final_act: str | None = "glu",
        transposed: bool = True,
        l_max: int | None = None,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        lr: float | dict | None = None,
        disc: str | None = None,
        real_transform: str = "exp",
        imag_transform: str = "none",
        backend: str | None = None,
        **kernel_kw,
    ) -> None:
        super().__init__()
        self.d_model, self.transposed, self.gate = d_model, transposed, gate
        self.layer = FFTConv(
            d_model,
            d_state=d_state,
            channels=channels,
            bidirectional=bidirectional,
            activation=activation,
            dropout=dropout,
            transposed=True,  # internally (B, H, L), see forward
            mode=mode,
            l_max=l_max,
            init=init,
            dt_min=dt_min,
            dt_max=dt_max,
            lr=lr,
            disc=disc,
            real_transform=real_transform,
            imag_transform=imag_transform,
            backend=backend,
            **kernel_kw,
        )
        d_conv = self.layer.d_output
        if gate is not None:
            self.input_gate = _PointwiseLinear(d_model, d_model * gate, True, gate_act)
            self.output_gate = _PointwiseLinear(d_conv, d_model * gate, True, None)
            d_conv = d_model * gate
        self.mult_act = make_activation(mult_act, dim=1)  # features: dim 1 of (B,H,L) and (B,H)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.output_linear = _PointwiseLinear(d_conv, d_model, True, final_act)

    def _post(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.gate is not None:
            y = self.mult_act(self.output_gate(y) * self.input_gate(x))
        return self.output_linear(self.drop(y))

    def forward(
        self,
        x: torch.Tensor,
        state: torch.Tensor | None = None,
        rate: float = 1.0,
        return_states: bool = False,
    ):
        layout = "(B, H, L)" if self.transposed else "(B, L, H)"
        axis = 1 if self.transposed else 2
        expected = f"{layout} with H={self.d_model}"
        check_signal("x", x, self.d_model, axis, 3, expected, self.layer.D.dtype)
        if not self.transposed:  # internally (B, H, L); the FFT wants L last anyway
            x = x.transpose(1, 2)
        y, next_state = self.layer(x, state=state, rate=rate, return_states=return_states)
        y = self._post(x, y)
        return (y if self.transposed else y.transpose(1, 2)), next_state

    def default_state(self, *batch: int, device=None) -> torch.Tensor:
        return self.layer.default_state(*batch, device=device)

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        self.layer.setup_step(mode=mode, rate=rate)

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, H), state (B, H, N/2) -> (y (B, H), next state)."""
        y, state = self.layer.step(x, state)
        return self._post(x, y), state
