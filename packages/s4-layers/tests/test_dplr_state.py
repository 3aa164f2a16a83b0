"""functional.dplr_state: DPLR state forwarding as a diagonal system with low-rank feedback,
against the float64 unrolled recurrence and the generating-function state paths."""

import pytest
import torch

from s4_layers.functional.dplr import dplr_forward_state, dplr_next_state, dplr_state_output
from s4_layers.functional.dplr_state import dplr_forward_state_feedback


@pytest.mark.parametrize(
    ("init", "rank", "L"),
    [("legs", 1, 1), ("legs", 1, 37), ("legs", 2, 64), ("fout", 1, 300), ("legt", 2, 50)],
)
def test_feedback_form_equals_the_recurrence_float64(ref, init, rank, L):
    s = ref.random_system(init, 8, H=3, channels=2, rank=rank)
    u = torch.randn(4, 3, L, dtype=torch.float64)
    x0 = torch.randn(4, 3, 4, dtype=torch.complex128)
    y, x_L = dplr_forward_state_feedback(s.dt, s.A, s.P, s.B, s.C, u, x0)
    _, x_ref, _ = ref.recurrence(s.dt, s.A, s.B, s.C, u, P=s.P, disc="bilinear", state=x0)
    zero = torch.zeros_like(u)
    y_ref, _, _ = ref.recurrence(s.dt, s.A, s.B, s.C, zero, P=s.P, disc="bilinear", state=x0)
    assert y.shape == (4, 2, 3, L) and x_L.shape == (4, 3, 4)
    assert ref.rel_err(y, y_ref) < 1e-12
    assert ref.rel_err(x_L, x_ref) < 1e-12


def test_forward_state_equals_the_separate_generating_function_paths(ref):
    s = ref.random_system("legs", 16, H=2, channels=1, rank=1)
    u = torch.randn(3, 2, 128, dtype=torch.float64)
    x0 = torch.randn(3, 2, 8, dtype=torch.complex128)
    y, x_L = dplr_forward_state(s.dt, s.A, s.P, s.B, s.C, u, x0)
    assert ref.rel_err(y, dplr_state_output(s.dt, s.A, s.P, s.C, x0, 128)) < 1e-11
    assert ref.rel_err(x_L, dplr_next_state(s.dt, s.A, s.P, s.B, u, x0)) < 1e-11


def test_float32_inputs_come_back_in_float32_and_match_float64(ref):
    s = ref.random_system("legs", 8, H=3, channels=1, rank=1)
    u = torch.randn(2, 3, 200, dtype=torch.float64)
    x0 = torch.randn(2, 3, 4, dtype=torch.complex128)
    y64, x64 = dplr_forward_state_feedback(s.dt, s.A, s.P, s.B, s.C, u, x0)
    args32 = [
        t.to(torch.complex64 if t.is_complex() else torch.float32)
        for t in (s.dt, s.A, s.P, s.B, s.C, u, x0)
    ]
    y32, x32 = dplr_forward_state_feedback(*args32)
    assert y32.dtype == torch.float32 and x32.dtype == torch.complex64
    assert ref.rel_err(y32, y64) < 1e-5 and ref.rel_err(x32, x64) < 1e-5


def test_empty_batch():
    from s4_layers import reference as ref

    s = ref.random_system("legs", 8, H=3, channels=2, rank=1)
    y, x_L = dplr_forward_state(
        s.dt, s.A, s.P, s.B, s.C, torch.zeros(0, 3, 16, dtype=torch.float64),
        torch.zeros(0, 3, 4, dtype=torch.complex128),
    )  # fmt: skip
    assert y.shape == (0, 2, 3, 16) and x_L.shape == (0, 3, 4)
