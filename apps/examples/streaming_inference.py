"""Streaming (online) inference with S4: one sample in, one sample out, constant memory.

Train (or load) a model in convolution mode, then call ``setup_step()`` and feed samples one at
a time through ``step``. The output equals the convolution-mode output on the whole sequence.

    python apps/examples/streaming_inference.py
"""

import torch

from s4_layers import SequenceModel

torch.manual_seed(0)
model = SequenceModel(d_model=16, n_layers=2, layer={"mode": "dplr", "d_state": 32}).eval()
signal = torch.randn(1, 100, 16)  # (B, L, H)

with torch.no_grad():
    offline, _ = model(signal)  # convolution mode, whole sequence at once

    model.setup_step(mode="linear")  # O(N) DPLR step ("dense" uses the (N, N) matrices)
    state = model.default_state(1)
    online = []
    for t in range(signal.shape[1]):  # samples arrive one by one
        y_t, state = model.step(signal[:, t], state)
        online.append(y_t)
    online = torch.stack(online, dim=1)

err = ((online - offline).norm() / offline.norm()).item()
print(f"streaming vs convolution: relative difference {err:.1e}")
assert err < 1e-5
