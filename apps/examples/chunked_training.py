"""Chunked training with carried state (truncated backpropagation through time for S4D).

A long sequence is cut into chunks; each chunk starts from the state the previous one ended
in (detached, so gradients stop at chunk boundaries while the forward pass stays exact).

    python apps/examples/chunked_training.py
"""

import torch

from s4_layers import SequenceModel, param_groups

torch.manual_seed(0)
H, L, chunk = 8, 128, 32
model = SequenceModel(d_model=H, n_layers=2, layer={"mode": "diag", "d_state": 16})
opt = torch.optim.AdamW(param_groups(model, lr=3e-3, weight_decay=0.01))
x = torch.randn(4, L, H)
target = torch.roll(x, shifts=5, dims=1)  # a 5-step delay, across chunk boundaries

for epoch in range(2):
    state, total = model.default_state(4), 0.0
    for start in range(0, L, chunk):
        y, state = model(x[:, start : start + chunk], state=state)
        loss = torch.nn.functional.mse_loss(y, target[:, start : start + chunk])
        opt.zero_grad()
        loss.backward()
        opt.step()
        state = [s.detach() for s in state]  # carry the state, cut the graph
        total += loss.item()
    print(f"epoch {epoch}: mean chunk loss {total / (L // chunk):.4f}")

# The carried state makes chunked inference exact: the chunks equal the whole sequence.
model.eval()
with torch.no_grad():
    whole, _ = model(x)
    state, parts = model.default_state(4), []
    for start in range(0, L, chunk):
        y, state = model(x[:, start : start + chunk], state=state)
        parts.append(y)
    err = ((torch.cat(parts, 1) - whole).norm() / whole.norm()).item()
print(f"chunked vs whole-sequence forward: relative difference {err:.1e}")
assert err < 1e-5
