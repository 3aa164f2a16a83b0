"""A stand-in for the original's standalone ``s4.py`` (state-spaces/s4 ``models/s4/``), for the
tests of ``s4-bench original``: the same names and call signatures the suite uses, built on
our own layers (so the suite's plumbing is tested without the original, which is not part of
this project). ``Genred`` records the backend each reduction is called with."""

from typing import ClassVar

from torch import nn

import s4_layers
import ssm_kernels

has_pykeops = False  # the suite must then time the naive Cauchy and drop the keops backend


class Genred:
    backends_called: ClassVar[list] = []

    def __init__(self, formula, *args, **kwargs):
        self.formula = formula

    def __call__(self, *args, backend="auto", **kwargs):
        Genred.backends_called.append(backend)
        return backend


def keops_reduction(backend="GPU"):
    """What the original's keops functions do: build a Genred, call it with backend='GPU'."""
    return Genred("x")(backend=backend)


def cauchy_naive(v, z, w):
    return ssm_kernels.cauchy(v, z, w, backend="naive")


class DropoutNd(nn.Dropout):
    pass


class S4Block(nn.Module):
    """mode "nplr" (the original's name for DPLR) or "diag"; ``layer.kernel.kernel`` is the
    attribute the suite sets (the original reads it as its Cauchy backend)."""

    def __init__(self, d_model, mode="nplr", d_state=64, transposed=True, backend="cuda"):
        super().__init__()
        assert transposed
        self.inner = s4_layers.S4Block(d_model, mode={"nplr": "dplr", "diag": "diag"}[mode],
                                       d_state=d_state)  # fmt: skip
        self.layer = nn.Module()
        self.layer.kernel = nn.Module()
        self.layer.kernel.kernel = backend

    def forward(self, x):
        return self.inner(x)

    def setup_step(self, mode=None):
        self.inner.setup_step(mode=mode)

    def step(self, x, state):
        return self.inner.step(x, state)

    def default_state(self, *batch_shape, device=None):
        return self.inner.default_state(*batch_shape, device=device)
