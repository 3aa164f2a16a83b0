"""A stand-in for the original's ``s4d.py``: like it, it imports DropoutNd from the full
repository's ``src.models.nn``, which the suite provides from s4.py."""

from src.models.nn import DropoutNd  # noqa: F401
from torch import nn

import s4_layers


class S4D(nn.Module):
    def __init__(self, d_model, d_state=64):
        super().__init__()
        self.inner = s4_layers.S4D(d_model, d_state=d_state)

    def forward(self, u):
        return self.inner(u)[0], None
