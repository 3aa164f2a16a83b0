"""FFTConv: SSM kernel + FFT convolution + D skip + activation + dropout."""

from __future__ import annotations

import torch
from torch import nn

from s4_layers._checks import S4InputError, check_signal
from s4_layers._step_cache import apply_unless_identity, parameter_key
from s4_layers.activations import activation as make_activation
from s4_layers.activations import plain_activation
from s4_layers.dropout import make_dropout
from s4_layers.functional.conv import skip_conv
from s4_layers.kernel import SSMKernel
from s4_layers.step_plan import StepPlan, step_with_plan


class FFTConv(nn.Module):
    r"""``y = act(drop(K * u + D u))`` with K from an SSM kernel; (B, H, L) -> (B, channels * H, L).

    Options shared with the original FFTConv keep its meaning and defaults:

    Args:
        d_model: H.  d_state: N.  channels: output copies per feature (C and D have a
        channels axis).  bidirectional: adds an anticausal kernel (needs no state; step and
        state passing are then unavailable).  activation: after the dropout (None, the
        original's default: none; "glu" doubles the kernel channels first, so the output keeps
        channels * H features).  dropout: before the activation; ``tie_dropout``: one mask per
        (batch, feature) for the whole sequence.  drop_kernel: dropout on the kernel K
        (training only).  swap_channels: flatten the output as (H, channels) instead of
        (channels, H).  transposed: (B, H, L) if True else (B, L, H).  mode (alias ``kernel``):
        "dplr" (S4) or "diag" (S4D).  l_max: kernel length bound (see the kernels).
        **kernel_kw: passed to the kernel (init, dt_min, dt_max, lr, disc, n_ssm, ...).
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 64,
        channels: int = 1,
        bidirectional: bool = False,
        activation: str | None = None,
        dropout: float = 0.0,
        transposed: bool = True,
        mode: str = "dplr",
        l_max: int | None = None,
        tie_dropout: bool = False,
        drop_kernel: float = 0.0,
        swap_channels: bool = False,
        kernel: str | None = None,
        **kernel_kw,
    ) -> None:
        super().__init__()
        if kernel is not None:  # the original's newer name for mode
            mode = kernel
        self.H, self.channels, self.bidirectional = d_model, channels, bidirectional
        self.transposed, self.swap_channels = transposed, swap_channels
        # GLU halves its input: compute 2 * channels copies so channels * H remain
        self.kernel_channels = 2 * channels if activation == "glu" else channels
        self.kernel = SSMKernel(
            mode,
            d_model,
            d_state,
            channels=self.kernel_channels * (1 + bidirectional),
            l_max=l_max,
            **kernel_kw,
        )
        self.D = nn.Parameter(torch.randn(self.kernel_channels, d_model))
        self.activation = make_activation(activation, dim=1)
        self.dropout = make_dropout(dropout, tie=tie_dropout, transposed=True)
        self.drop_kernel = make_dropout(drop_kernel)
        self.d_output = channels * d_model
        self._eval_kernel: tuple | None = None  # (key, K) of the last evaluation call

    def _flatten(self, y: torch.Tensor) -> torch.Tensor:
        """(B, c, H[, L]) -> (B, c H[, L]) (or (B, H c[, L]) with swap_channels)."""
        return (y.transpose(1, 2) if self.swap_channels else y).flatten(1, 2)

    def _to_bhl(self, x: torch.Tensor) -> torch.Tensor:
        layout = "(B, H, L)" if self.transposed else "(B, L, H)"
        axis = 1 if self.transposed else 2
        check_signal("x", x, self.H, axis, 3, f"{layout} with H={self.H}", self.D.dtype)
        return x if self.transposed else x.transpose(1, 2)

    def _no_state_if_bidirectional(self, state) -> None:
        if self.bidirectional and state is not None:
            raise S4InputError("state: expected None for a bidirectional layer, got a tensor")

    def forward(
        self,
        x: torch.Tensor,
        state: torch.Tensor | None = None,
        rate: float = 1.0,
        return_states: bool = False,
    ):
        """Returns ``(y, next_state)``; next_state is None unless a state was given (pass
        ``default_state(B)`` to start from zero). With ``return_states=True`` (diag kernel only)
        the second output is every state (B, H, N/2, L) instead; its last slice is next_state."""
        u = self._to_bhl(x)
        self._no_state_if_bidirectional(state)
        L = u.shape[-1]
        K = self._conv_kernel(L, rate)  # (channels [* 2], H, L), once a forward
        if self.bidirectional:  # D u: lag 0 of the causal half
            c = self.kernel_channels
            y = skip_conv(u.unsqueeze(1), K[:c], self.D, K[c:])
        else:
            y = skip_conv(u.unsqueeze(1), K, self.D)  # K * u + D u: (B, channels, H, L)
        next_state = None
        if return_states:
            if self.kernel.mode != "diag" or self.bidirectional:
                raise S4InputError(
                    "return_states: expected a unidirectional diag kernel, got "
                    f"mode={self.kernel.mode!r}, bidirectional={self.bidirectional}"
                )
            next_state = self.kernel.all_states(u, state, rate=rate)
            if state is not None:
                y = y + self.kernel.state_output(state, L, rate=rate)
        elif state is not None:
            y_state, next_state = self.kernel.forward_state(u, state, rate=rate)
            y = y + y_state
        y = self.activation(self.dropout(self._flatten(y)))
        return (y if self.transposed else y.transpose(1, 2)), next_state

    def _conv_kernel(self, L: int, rate: float) -> torch.Tensor:
        """K (channels [* 2], H, L). In evaluation without autograd (eval mode, no_grad or
        inference_mode) it is kept for the next call with the same L, rate and parameters
        (their storage and version: an optimiser step or a load_state_dict invalidates it),
        so a validation pass derives it once instead of once a batch: at short L that is
        most of a forward's fixed cost. ``train()`` and ``eval()`` drop it too: writes through
        ``param.data`` (which bypass the version counter, as Lightning's weight averaging
        swaps weights) are seen from the next ``eval()`` on."""
        if self.training or torch.is_grad_enabled():
            self._eval_kernel = None
            return self.drop_kernel(self.kernel(L, rate=rate))
        key = (L, rate, parameter_key(self.kernel))
        if self._eval_kernel is not None and self._eval_kernel[0] == key:
            return self._eval_kernel[1]
        K = self.kernel(L, rate=rate)  # drop_kernel is the identity in eval mode
        self._eval_kernel = (key, K)
        return K

    def train(self, mode: bool = True) -> FFTConv:
        self._eval_kernel = None  # parameters are about to change: nothing to keep
        return super().train(mode)

    def default_state(self, *batch: int, device=None) -> torch.Tensor:
        return self.kernel.default_state(*batch, device=device)

    def setup_step(self, mode: str | None = None, rate: float = 1.0) -> None:
        if self.bidirectional:
            raise S4InputError("setup_step: expected a unidirectional layer, got bidirectional")
        self.kernel.setup_step(mode=mode, rate=rate)

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, H), state (B, H, N/2) -> (y (B, channels * H), next state): through the
        layer's :class:`~s4_layers.step_plan.StepPlan` where it applies, else
        module by module."""
        if self.bidirectional:
            raise S4InputError("step: expected a unidirectional layer, got bidirectional")
        return step_with_plan(self, self._build_step_plan, x, state, self._step_modules)

    def _step_plan_parts(self) -> dict | None:
        """The kernel's step and what follows it, as :class:`StepPlan` arguments (None for a
        kernel without a step cache of functional forms: LSSL's)."""
        if self.kernel.mode not in ("diag", "dplr"):
            return None
        self.kernel._current_step_cache()  # re-derived here if the parameters changed
        return {
            "kernel_cache": (self.kernel, "_step_cache"),
            "H": self.H,
            "N2": self.kernel.N // 2,
            "D": self.D,
            "flatten": self._flatten if self.swap_channels else None,
            "conv": (plain_activation(self.activation, inplace=True),),
            "skipped": (self.dropout,),
        }

    def _build_step_plan(self) -> StepPlan | None:
        parts = self._step_plan_parts()
        return None if parts is None else StepPlan(self, d_in=self.H, contiguous=True, **parts)

    def _step_modules(self, x: torch.Tensor, state: torch.Tensor):
        """The step module by module (every check, every module called)."""
        y, state = self.kernel.step(x, state)
        y = self._flatten(torch.addcmul(y, self.D, x.unsqueeze(1)))  # + D u
        # the kernel's y may be strided (diag: the bmm's (H, B) layout, kept through these
        # elementwise ops because GELU is faster on it); the output is contiguous (B, c H)
        y = apply_unless_identity(self.activation, apply_unless_identity(self.dropout, y))
        return y.contiguous(), state
