"""A DSS-style layer (Gupta et al. 2022, "Diagonal State Spaces are as Effective as Structured
State Spaces") written against ssm-kernels + hippo-core alone: no s4-layers import.

DSS-softmax kernel, one SSM per feature h (N/2 conjugate pairs, Lambda from HiPPO-LegS):

    K_l = 2 Re( sum_n  w_n exp(l dt Lambda_n) / S_n ),   S_n = sum_{k<L} exp(k dt Lambda_n)

(the softmax over l normalises each mode, so no mode grows unboundedly with L), then
y = K * u + D u by FFT. ``python apps/examples/dss_layer.py`` checks it against a float64
unrolled recurrence.
"""

import copy
import math

import torch
from torch import nn

import hippo_core
from ssm_kernels import vandermonde


class DSSLayer(nn.Module):
    """(B, H, L) -> (B, H, L)."""

    def __init__(self, d_model: int, d_state: int = 64, dt_min=1e-3, dt_max=1e-1) -> None:
        super().__init__()
        Lambda = hippo_core.dplr("diag-legs", d_state, H=d_model).Lambda  # (H, N/2) complex
        self.Lambda = nn.Parameter(torch.view_as_real(torch.as_tensor(Lambda).to(torch.cfloat)))
        self.W = nn.Parameter(torch.randn(d_model, d_state // 2, 2) * 0.5**0.5)  # complex w
        log_dt = torch.empty(d_model).uniform_(math.log(dt_min), math.log(dt_max))
        self.log_dt = nn.Parameter(log_dt)  # (H,) log-uniform timescales
        self.D = nn.Parameter(torch.randn(d_model))

    def kernel(self, L: int) -> torch.Tensor:
        dtA = torch.exp(self.log_dt)[:, None] * torch.view_as_complex(self.Lambda)  # (H, N/2)
        # S_n = (exp(L dt Lambda) - 1) / (exp(dt Lambda) - 1): the geometric sum over l < L
        S = torch.expm1(L * dtA) / torch.expm1(dtA)  # (H, N/2)
        return vandermonde(torch.view_as_complex(self.W) / S, dtA, L)  # (H, L), 2 Re(.)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        L = u.shape[-1]
        K = self.kernel(L).to(u.dtype)
        y = torch.fft.irfft(torch.fft.rfft(u, 2 * L) * torch.fft.rfft(K, 2 * L), 2 * L)[..., :L]
        return y + self.D[:, None] * u


def recurrence(layer: DSSLayer, u: torch.Tensor) -> torch.Tensor:
    """Float64 reference: x_l = exp(dt Lambda) x_{l-1} + u_l,  y_l = 2 Re(sum_n w_n/S_n x_l)."""
    L, layer = u.shape[-1], copy.deepcopy(layer).double()  # every operation in float64
    dtA = torch.exp(layer.log_dt)[:, None] * torch.view_as_complex(layer.Lambda)
    c = torch.view_as_complex(layer.W) / (torch.expm1(L * dtA) / torch.expm1(dtA))
    x, ys = torch.zeros(*u.shape[:2], dtA.shape[-1], dtype=torch.cdouble), []
    for l in range(L):
        x = torch.exp(dtA) * x + u[..., l, None].double()
        ys.append(2 * (c * x).sum(-1).real + layer.D * u[..., l].double())
    return torch.stack(ys, -1)


if __name__ == "__main__":
    torch.manual_seed(0)
    layer, u = DSSLayer(d_model=4, d_state=16), torch.randn(2, 4, 300)
    with torch.no_grad():
        ref = recurrence(layer, u)
        err = (layer(u).double() - ref).norm() / ref.norm()
    print(f"DSS layer (FFT conv) vs float64 recurrence: relative error {err:.1e}")
    assert err < 1e-5
