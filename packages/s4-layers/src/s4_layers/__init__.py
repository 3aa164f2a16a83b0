"""S4 (DPLR) and S4D (diagonal) state space layers.

Every sequence module has ``forward(x, state=None, rate=1.0) -> (y, next_state)``,
``setup_step(mode=...)``, ``step(x, state) -> (y, state)`` and ``default_state(*batch)``.
"""

from s4_layers import compat, functional, reference
from s4_layers.__about__ import __version__
from s4_layers._checks import S4InputError
from s4_layers.activations import ACTIVATIONS, activation
from s4_layers.block import S4Block
from s4_layers.compat import load_official_state_dict, official_kwargs
from s4_layers.dropout import Dropout, StochasticDepth, TiedDropout
from s4_layers.fftconv import FFTConv
from s4_layers.kernel import KERNEL_FAMILIES, SSMKernel
from s4_layers.kernel_base import DT_TRANSFORMS, IMAG_TRANSFORMS, REAL_TRANSFORMS, SSMKernelBase
from s4_layers.kernel_diag import SSMKernelDiag
from s4_layers.kernel_dplr import STEP_MODES, SSMKernelDPLR
from s4_layers.kernel_lssl import SSMKernelLSSL
from s4_layers.lssl import LSSL
from s4_layers.memory import retain_freed_memory
from s4_layers.norm import NORMS, Normalization
from s4_layers.optim import param_groups, register
from s4_layers.pool import POOLS
from s4_layers.residual import RESIDUALS
from s4_layers.s4d import S4D
from s4_layers.sashimi import SaShiMi, s4_block_param_count, sashimi_param_count
from s4_layers.sequence_model import SequenceModel, SequenceResidualBlock

__all__ = [
    "ACTIVATIONS",
    "DT_TRANSFORMS",
    "IMAG_TRANSFORMS",
    "KERNEL_FAMILIES",
    "LSSL",
    "NORMS",
    "POOLS",
    "REAL_TRANSFORMS",
    "RESIDUALS",
    "S4D",
    "STEP_MODES",
    "Dropout",
    "FFTConv",
    "Normalization",
    "S4Block",
    "S4InputError",
    "SSMKernel",
    "SSMKernelBase",
    "SSMKernelDPLR",
    "SSMKernelDiag",
    "SSMKernelLSSL",
    "SaShiMi",
    "SequenceModel",
    "SequenceResidualBlock",
    "StochasticDepth",
    "TiedDropout",
    "__version__",
    "activation",
    "compat",
    "functional",
    "load_official_state_dict",
    "official_kwargs",
    "param_groups",
    "reference",
    "register",
    "retain_freed_memory",
    "s4_block_param_count",
    "sashimi_param_count",
]
