"""The SSM kernel factory: the kernel family by name (the original's ``mode`` argument)."""

from __future__ import annotations

from s4_layers._checks import check_choice
from s4_layers.kernel_base import SSMKernelBase
from s4_layers.kernel_diag import SSMKernelDiag
from s4_layers.kernel_dplr import SSMKernelDPLR
from s4_layers.kernel_lssl import SSMKernelLSSL

KERNEL_FAMILIES: dict[str, type] = {
    "diag": SSMKernelDiag,
    "dplr": SSMKernelDPLR,
    "lssl": SSMKernelLSSL,
}


def SSMKernel(mode: str = "dplr", d_model: int = 1, d_state: int = 64, **kw) -> SSMKernelBase:
    """``mode="diag"`` -> :class:`SSMKernelDiag` (S4D), ``"dplr"`` -> :class:`SSMKernelDPLR`
    (S4), ``"lssl"`` -> :class:`SSMKernelLSSL` (LSSL); ``disc=None`` means the family's
    default discretisation."""
    family = check_choice("mode", mode, KERNEL_FAMILIES)
    if kw.get("disc") is None:
        kw.pop("disc", None)
    return KERNEL_FAMILIES[family](d_model, d_state, **kw)


__all__ = ["KERNEL_FAMILIES", "SSMKernel"]
