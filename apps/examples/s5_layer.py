"""An S5-style layer (Smith et al. 2023, "Simplified State Space Layers"): ONE multi-input,
multi-output diagonal SSM shared by all H features, written against ssm-kernels + hippo-core
alone (no s4-layers import). S5 runs a parallel scan; since the system is time-invariant its
convolution kernel is exact too, and that is what the Vandermonde kernel computes:

    x_l = Abar x_{l-1} + Bbar u_l,  y_l = 2 Re(C x_l) + D u_l      (P/2 conjugate pairs)
    Abar = exp(dt Lambda),  Bbar = (Abar - 1) / Lambda * B             (ZOH)
    K[o, i, l] = 2 Re( sum_p C[o, p] Bbar[p, i] Abar_p^l ),  y = sum_i K[:, i] * u_i

``python apps/examples/s5_layer.py`` checks it against a float64 unrolled recurrence.
"""

import copy
import math

import torch
from torch import nn

import hippo_core
from ssm_kernels import vandermonde


class S5Layer(nn.Module):
    """(B, H, L) -> (B, H, L); one state of size P shared by the H features."""

    def __init__(self, d_model: int, d_state: int = 64, dt_min=1e-3, dt_max=1e-1) -> None:
        super().__init__()
        H, P2 = d_model, d_state // 2
        Lambda = hippo_core.dplr("diag-legs", d_state).Lambda[0]  # (P/2,) S4D-LegS eigenvalues
        self.Lambda = nn.Parameter(torch.view_as_real(torch.as_tensor(Lambda).to(torch.cfloat)))
        self.B = nn.Parameter(torch.randn(P2, H, 2) * (0.5 / H) ** 0.5)  # complex (P/2, H)
        self.C = nn.Parameter(torch.randn(H, P2, 2) * (0.5 / P2) ** 0.5)  # complex (H, P/2)
        log_dt = torch.empty(P2).uniform_(math.log(dt_min), math.log(dt_max))
        self.log_dt = nn.Parameter(log_dt)  # (P/2,): S5 keeps one timescale per state
        self.D = nn.Parameter(torch.randn(H))

    def discrete(self):
        """(dt Lambda (P/2,), Bbar (P/2, H), C (H, P/2)) of the ZOH-discretised system."""
        Lambda = torch.view_as_complex(self.Lambda)
        dtA = torch.exp(self.log_dt) * Lambda
        Bbar = (torch.expm1(dtA) / Lambda)[:, None] * torch.view_as_complex(self.B)
        return dtA, Bbar, torch.view_as_complex(self.C)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        L = u.shape[-1]
        dtA, Bbar, C = self.discrete()
        v = C[:, None, :] * Bbar.T[None, :, :]  # (H_out, H_in, P/2): C[o, p] Bbar[p, i]
        K = vandermonde(v, dtA.expand_as(v), L).to(u.dtype)  # (H_out, H_in, L)
        U = torch.fft.rfft(u, 2 * L)  # (B, H_in, F)
        Y = torch.einsum("oif,bif->bof", torch.fft.rfft(K, 2 * L), U)
        return torch.fft.irfft(Y, 2 * L)[..., :L] + self.D[:, None] * u


def recurrence(layer: S5Layer, u: torch.Tensor) -> torch.Tensor:
    """Float64 reference: the unrolled MIMO recurrence of the docstring."""
    dtA, Bbar, C = copy.deepcopy(layer).double().discrete()  # every operation in float64
    x, ys = torch.zeros(u.shape[0], dtA.shape[0], dtype=torch.cdouble), []
    for l in range(u.shape[-1]):
        x = torch.exp(dtA) * x + u[..., l].cdouble() @ Bbar.T  # (B, P/2)
        ys.append(2 * (x @ C.T).real + layer.D * u[..., l].double())
    return torch.stack(ys, -1)


if __name__ == "__main__":
    torch.manual_seed(0)
    layer, u = S5Layer(d_model=4, d_state=16), torch.randn(2, 4, 300)
    with torch.no_grad():
        ref = recurrence(layer, u)
        err = (layer(u).double() - ref).norm() / ref.norm()
    print(f"S5 layer (Vandermonde kernel + FFT conv) vs float64 recurrence: rel. error {err:.1e}")
    assert err < 1e-5
