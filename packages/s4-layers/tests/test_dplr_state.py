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


@pytest.mark.parametrize("rank", [1, 2])
def test_feedback_terms_are_the_o_n_step_terms_simplified(ref, rank):
    """_feedback_terms' closed forms (Q = M = G, I - W M = W, 1 + Lt = 2 D2) against the
    feedback rows built from the O(N r) step's own terms, float64."""
    from s4_layers.functional.discretize import (
        complex_to_real,
        dplr_linear_step_terms,
        real_to_complex,
    )
    from s4_layers.functional.dplr_state import _feedback_terms

    s = ref.random_system("legs", 16, H=3, channels=1, rank=rank)
    got = _feedback_terms(s.dt, s.A, s.P, s.B)
    lin = dplr_linear_step_terms(s.dt, s.A, s.P, s.B)
    lt, p_dt, W, M = lin["D2a"], lin["p_dt"], lin["W"], lin["M"]
    q = complex_to_real(lt.conj() * real_to_complex(p_dt))
    eye = torch.eye(rank, dtype=torch.float64)
    alpha = torch.einsum("hrs,shn->rhn", eye - W @ M, p_dt) + torch.einsum("hrs,shn->rhn", W, q)
    beta = torch.einsum("hrs,shn,hn->hr", W, p_dt, lin["D2dtB"].flatten(-2))
    expected = {
        "lt": lt,
        "log_lt": torch.log(lt),
        "D2P": real_to_complex(lin["D2P"]),
        "D2dtB": torch.view_as_complex(lin["D2dtB"].contiguous()),
        "alpha_c": real_to_complex(alpha).conj(),
        "beta": beta,
    }
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].shape == value.shape, name
        if name == "log_lt":  # the branch of the log: compare exp
            assert ref.rel_err(torch.exp(got[name]), lt) < 1e-13, name
        else:
            assert ref.rel_err(got[name], value.resolve_conj()) < 1e-13, name


@pytest.mark.parametrize(("rank", "L"), [(1, 64), (2, 37)])
def test_kernel_series_algebra_in_channel_blocks_equals_one_block(ref, monkeypatch, rank, L):
    """_FeedbackSolve runs its per-channel algebra in blocks of channels (_SOLVE_BLOCK): with
    blocks of 2 and 1 channels (5 channels, so a short last block) K and every gradient are
    those of one block, float64."""
    from s4_layers.functional import dplr_state
    from s4_layers.functional.dplr import dplr_kernel

    s = ref.random_system("legs", 8, H=5, channels=2, rank=rank)
    inputs = [t.clone().requires_grad_() for t in (s.dt, s.A, s.P, s.B, s.C)]
    K_bar = torch.randn(2, 5, L, dtype=torch.float64)

    def run(block):
        monkeypatch.setattr(dplr_state, "_SOLVE_BLOCK", block)
        K = dplr_kernel(*inputs, L)
        return K, torch.autograd.grad(K, inputs, K_bar)

    K1, grads1 = run(1 << 17)
    for block, count in ((2 * L, 3), (L, 5)):
        K, grads = run(block)
        assert len(dplr_state._channel_blocks(5, L)) == count
        assert ref.rel_err(K, K1) < 1e-13
        for g, g1 in zip(grads, grads1):
            assert ref.rel_err(g, g1) < 1e-13


@pytest.mark.parametrize("rank", [1, 2])
def test_gradcheck_forward_state_feedback(ref, rank):
    """The state paths are differentiated by autograd through the series algebra (Newton's
    iteration included): gradcheck over every input, float64, L = 6 (three doublings)."""
    s = ref.random_system("legs", 4, H=2, channels=1, rank=rank)
    u = torch.randn(2, 2, 6, dtype=torch.float64)
    x0 = torch.randn(2, 2, 2, dtype=torch.complex128)
    inputs = [t.clone().requires_grad_() for t in (s.dt, s.A, s.P, s.B, s.C, u, x0)]
    assert torch.autograd.gradcheck(dplr_forward_state_feedback, inputs)
