"""S4Block: FFTConv (S4 or S4D kernel) + optional bottleneck / gating + output linear."""

from __future__ import annotations

import torch
from torch import nn

from s4_layers._checks import S4InputError, check_choice, check_signal, describe
from s4_layers._step_cache import apply_unless_identity, linear_step
from s4_layers.activations import activation as make_activation
from s4_layers.activations import plain_activation
from s4_layers.dropout import make_dropout
from s4_layers.fftconv import FFTConv
from s4_layers.step_plan import Stage, StepPlan, affine, step_with_plan

INITIALIZERS = ("uniform", "normal", "xavier", "zero", "one")


def _init_weight(weight: torch.Tensor, initializer: str, act: str | None) -> None:
    """The original's ``get_initializer``: Kaiming with the gain of ``act`` (GELU / SiLU taken
    as ReLU, GLU and identity as linear), Xavier normal, or a constant."""
    check_choice("initializer", initializer, INITIALIZERS)
    if act in ("relu", "tanh", "sigmoid"):
        gain = act
    elif act in ("gelu", "swish", "silu"):
        gain = "relu"  # close to ReLU: the original uses ReLU's gain
    else:
        gain = "linear"
    with torch.no_grad():
        if initializer == "uniform":
            nn.init.kaiming_uniform_(weight, nonlinearity=gain)
        elif initializer == "normal":
            nn.init.kaiming_normal_(weight, nonlinearity=gain)
        elif initializer == "xavier":
            nn.init.xavier_normal_(weight)
        else:
            nn.init.constant_(weight, 0.0 if initializer == "zero" else 1.0)


class _PointwiseLinear(nn.Module):
    """Linear over the feature axis of (B, H, L) (transposed) or (B, L, H), or of (B, H), then
    an activation ("glu" doubles the Linear's width first, as the original's LinearActivation)."""

    def __init__(
        self,
        d_in: int,
        d_out: int,
        transposed: bool,
        act: str | None = None,
        initializer: str | None = None,
        weight_norm: bool = False,
    ):
        super().__init__()
        self.transposed = transposed
        self.act_name = act
        self.linear = nn.Linear(d_in, 2 * d_out if act == "glu" else d_out)
        if initializer is not None:
            _init_weight(self.linear.weight, initializer, act)
        if weight_norm:  # w = g v / |v| per output row (keys parametrizations.weight.original0/1)
            self.linear = nn.utils.parametrizations.weight_norm(self.linear)
        self.act = make_activation(act, dim=-1)
        self.act_t = make_activation(act, dim=1)  # the feature axis of (B, H, L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.transposed and x.dim() == 3:
            if x.transpose(0, 1).is_contiguous():
                # x (B, H, L) laid out as (H, B, L), as a short direct convolution leaves it:
                # its (B L, H) rows are a view, and one GEMM writes (B, L, O) rows, the
                # layout of the residual stream (no transposing add after the block, the
                # activation runs on contiguous features, no (B, O, H) weight gradients)
                B, H, L = x.shape
                rows = self.linear(x.permute(0, 2, 1).reshape(B * L, H))  # one addmm
                return self.act(rows.view(B, L, rows.shape[-1])).transpose(1, 2)
            # W (O, H) @ x_b (H, L) as one bmm: matmul's broadcasting would fold (B, L) and
            # copy the activations to and from (B L, H) in both passes.
            W = self.linear.weight.expand(x.shape[0], -1, -1)
            return self.act_t(torch.baddbmm(self.linear.bias.unsqueeze(-1), W, x))
        if x.dim() == 2:  # one step (B, H): see linear_step
            return apply_unless_identity(self.act, linear_step(self.linear, x))
        return self.act(self.linear(x))


def _step_stage(module: nn.Module) -> Stage | None:
    """A _PointwiseLinear on a step's (B, in) as a plain function (for a StepPlan); None for
    an absent one (nn.Identity)."""
    if isinstance(module, nn.Identity):
        return None
    return affine(module.linear, plain_activation(module.act))


def length_mask(lengths, batch: int, L: int, device=None) -> torch.Tensor | None:
    """(B, 1, L) float mask, 1 where l < lengths[b]; None when every sequence is full.

    lengths: an int, or a (B,) / (1,) integer tensor, each in [0, L] (suffix padding)."""
    if lengths is None:
        return None
    if isinstance(lengths, bool) or not isinstance(lengths, (int, torch.Tensor)):
        raise S4InputError(f"lengths: expected an int or a (B,) tensor, got {lengths!r}")
    lengths = torch.as_tensor(lengths, device=device).reshape(-1)
    if lengths.is_floating_point() or lengths.is_complex() or lengths.numel() not in (1, batch):
        raise S4InputError(
            f"lengths: expected integers of shape (B,) = ({batch},) or (1,), got "
            f"{describe(lengths)}"
        )
    if (lengths < 0).any() or (lengths > L).any():
        raise S4InputError(f"lengths: expected values in [0, L={L}], got {lengths.tolist()}")
    if bool((lengths == L).all()):
        return None
    positions = torch.arange(L, device=lengths.device)
    return (positions < lengths[:, None]).unsqueeze(1).float()


class S4Block(nn.Module):
    r"""The S4 / S4D layer: ``y = out(drop(mult_act(gate(x) * conv(bottleneck(x)))))``.

    Options shared with the original S4Block keep its meaning and defaults:

    Args:
        d_model: H.  mode: "dplr" (S4) or "diag" (S4D).  d_state: N.  init: hippo_core init.
        channels, bidirectional, activation (inside FFTConv, default "gelu"), l_max,
            swap_channels, drop_kernel: see :class:`FFTConv`.
        dropout: inside FFTConv and again after the gating (as the original); ``tie_dropout``
            shares each mask along the sequence.
        bottleneck: None or b: the SSM runs on H / b features, ``Linear(H, H / b)`` first (the
            GSS design; the gate branch still sees all of x).
        gate: None, or an expansion factor e: ``v = gate_act(Linear(H, e H)(x))`` multiplies the
            convolution output (projected to e H by ``output_gate`` when its width differs).
        gate_act, mult_act: activations (None: identity).
        final_act: activation after the output Linear ("glu", the default: Linear to 2H then
            GLU; "id": plain Linear), or None: no output Linear at all (the output keeps the
            convolution's width).  postact: the original's deprecated name for final_act.
        initializer: None or "uniform" | "normal" (Kaiming with the activation's gain) |
            "xavier" | "zero" | "one", for every Linear of the block.
        weight_norm: weight normalisation of every Linear of the block.
        transposed: (B, H, L) if True else (B, L, H).
        dt_min, dt_max, lr, disc (None: zoh for diag, bilinear for dplr), real_transform,
        imag_transform, backend, **kernel_kw: passed to the kernel.
    forward(x, state=None, rate=1.0, lengths=None) -> (y, next_state); ``lengths`` zeroes the
    padded positions l >= lengths[b] of x before anything else, so padding never reaches the
    real positions (also with a bidirectional kernel).
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
        tie_dropout: bool = False,
        bottleneck: int | None = None,
        gate: int | None = None,
        gate_act: str | None = None,
        mult_act: str | None = None,
        final_act: str | None = "glu",
        postact: str | None = None,
        initializer: str | None = None,
        weight_norm: bool = False,
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
        if postact is not None:  # the original's deprecated alias
            final_act = postact
        if bottleneck is not None and (
            isinstance(bottleneck, bool)
            or not isinstance(bottleneck, int)
            or bottleneck < 1
            or d_model % bottleneck
        ):
            raise S4InputError(
                f"bottleneck: expected None or an int dividing d_model={d_model}, "
                f"got {bottleneck!r}"
            )
        self.d_model, self.transposed, self.gate = d_model, transposed, gate
        self.bottleneck = bottleneck
        linear_kw = {"initializer": initializer, "weight_norm": weight_norm}
        d_inner = d_model // (bottleneck or 1)
        if bottleneck is not None:
            self.input_linear = _PointwiseLinear(d_model, d_inner, True, None, **linear_kw)
        self.layer = FFTConv(
            d_inner,
            d_state=d_state,
            channels=channels,
            bidirectional=bidirectional,
            activation=activation,
            dropout=dropout,
            tie_dropout=tie_dropout,
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
            self.input_gate = _PointwiseLinear(d_model, d_model * gate, True, gate_act, **linear_kw)
            if d_conv != d_model * gate:
                self.output_gate = _PointwiseLinear(d_conv, d_model * gate, True, None, **linear_kw)
            d_conv = d_model * gate
        self.mult_act = make_activation(mult_act, dim=1)  # features: dim 1 of (B,H,L) and (B,H)
        self.drop = make_dropout(dropout, tie=tie_dropout, transposed=True)
        if final_act is None:  # the original: no output linear at all
            self.output_linear = nn.Identity()
            self.d_output = d_conv
        else:
            self.output_linear = _PointwiseLinear(d_conv, d_model, True, final_act, **linear_kw)
            self.d_output = d_model

    def _pre(self, x: torch.Tensor) -> torch.Tensor:
        return self.input_linear(x) if self.bottleneck is not None else x

    def _post(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.gate is not None:
            if hasattr(self, "output_gate"):
                y = self.output_gate(y)
            y = y * self.input_gate(x)
        return self.output_linear(self.drop(self.mult_act(y)))

    def forward(
        self,
        x: torch.Tensor,
        state: torch.Tensor | None = None,
        rate: float = 1.0,
        return_states: bool = False,
        lengths: int | torch.Tensor | None = None,
    ):
        layout = "(B, H, L)" if self.transposed else "(B, L, H)"
        axis = 1 if self.transposed else 2
        expected = f"{layout} with H={self.d_model}"
        check_signal("x", x, self.d_model, axis, 3, expected, self.layer.D.dtype)
        if not self.transposed:  # internally (B, H, L); the FFT wants L last anyway
            x = x.transpose(1, 2)
        mask = length_mask(lengths, x.shape[0], x.shape[-1], device=x.device)
        if mask is not None:
            x = x * mask.to(x.dtype)
        y, next_state = self.layer(
            self._pre(x), state=state, rate=rate, return_states=return_states
        )
        y = self._post(x, y)
        return (y if self.transposed else y.transpose(1, 2)), next_state

    def default_state(self, *batch: int, device=None) -> torch.Tensor:
        return self.layer.default_state(*batch, device=device)

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        self.layer.setup_step(mode=mode, rate=rate)

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, H), state (B, H', N/2) -> (y (B, d_output), next state): through the
        block's :class:`~s4_layers.step_plan.StepPlan` where it applies, else module by
        module."""
        return step_with_plan(self, self._build_step_plan, x, state, self._step_modules)

    def _build_step_plan(self) -> StepPlan | None:
        if self.layer.bidirectional:
            return None  # the module path raises the layer's error
        parts = self.layer._step_plan_parts()
        if parts is None:
            return None
        gate = None
        if self.gate is not None:
            gate_in = _step_stage(self.input_gate)
            if hasattr(self, "output_gate"):
                gate_out = _step_stage(self.output_gate)
                gate = lambda x, y: gate_out(y) * gate_in(x)
            else:
                gate = lambda x, y: y * gate_in(x)
        parts["skipped"] += (self.drop,)
        return StepPlan(
            self,
            d_in=self.d_model,
            pre=_step_stage(self.input_linear) if self.bottleneck is not None else None,
            gate=gate,
            post=(plain_activation(self.mult_act), _step_stage(self.output_linear)),
            **parts,
        )

    def _step_modules(self, x: torch.Tensor, state: torch.Tensor):
        """The step module by module (every check, every module called)."""
        y, state = self.layer.step(self._pre(x), state)
        if self.gate is not None:
            return self._post(x, y), state
        # _post without its identity modules (each call costs about as much as a small op)
        y = apply_unless_identity(self.drop, apply_unless_identity(self.mult_act, y))
        return apply_unless_identity(self.output_linear, y), state
