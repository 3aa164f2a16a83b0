"""functional.step: the fused step forms against the float64 unrolled recurrence and against
their plain twins; gradients; state layouts; the fast boundary check."""

import copy
import pickle

import pytest
import torch

from s4_layers._step_cache import StateBuffers, linear_step, step_input_ok
from s4_layers.functional.discretize import (
    discretize_diag,
    dplr_bilinear_dense,
    dplr_linear_step,
    dplr_linear_step_terms,
)
from s4_layers.functional.step import (
    diag_step,
    diag_step_terms,
    dplr_dense_step,
    dplr_dense_step_terms,
    dplr_linear_fused_step,
    dplr_linear_fused_terms,
)


def _inputs(batch, H, N2, dtype=torch.complex128):
    x = torch.randn(batch, H, N2, dtype=dtype)
    u = torch.randn(batch, H, dtype=torch.float64 if dtype == torch.complex128 else torch.float32)
    return x, u


@pytest.mark.parametrize("disc", ["zoh", "bilinear"])
def test_diag_step_equals_the_recurrence_float64(ref, disc):
    s = ref.random_system("diag-lin", 8, H=3, channels=2)
    x, u = _inputs(5, 3, 4)
    dA, dB, _ = discretize_diag(s.dt, s.A, s.B, disc)
    y, x_next = diag_step(diag_step_terms(dA, dB, s.C), x, u)
    y_ref, x_ref = ref.step(s.dt, s.A, s.B, s.C, u, x, disc=disc)
    assert y.shape == (5, 2, 3) and x_next.shape == (5, 3, 4)
    assert ref.rel_err(x_next, x_ref) < 1e-12
    assert ref.rel_err(y, y_ref) < 1e-12


@pytest.mark.parametrize("rank", [1, 2])
def test_dense_step_equals_the_recurrence_and_the_complex_dense_step(ref, rank):
    s = ref.random_system("legs", 8, H=3, channels=2, rank=rank)
    x, u = _inputs(5, 3, 4)
    E, dB = dplr_bilinear_dense(s.dt, s.A, s.P, s.B)
    y, x_next = dplr_dense_step(dplr_dense_step_terms(E, dB, s.C), x, u)
    y_ref, x_ref = ref.step(s.dt, s.A, s.B, s.C, u, x, P=s.P, disc="bilinear")
    assert ref.rel_err(x_next, x_ref) < 1e-12
    assert ref.rel_err(y, y_ref) < 1e-12
    # the real (H, N, N) block matrices against the complex dense step on [x, conj x]
    lam = torch.cat([s.A, s.A.conj()], -1)
    Pf, Bf = torch.cat([s.P, s.P.conj()], -1), torch.cat([s.B, s.B.conj()], -1)
    Af = torch.diag_embed(lam) - torch.einsum("rhi,rhj->hij", Pf, Pf.conj())
    eye = torch.eye(8, dtype=Af.dtype)
    back = torch.linalg.inv(eye - s.dt[:, None, None] / 2 * Af)
    dA_c = back @ (eye + s.dt[:, None, None] / 2 * Af)
    dB_c = (back @ (s.dt[:, None] * Bf).unsqueeze(-1)).squeeze(-1)
    xf = torch.einsum("hij,bhj->bhi", dA_c, torch.cat([x, x.conj()], -1)) + dB_c * u[..., None]
    assert ref.rel_err(x_next, xf[..., :4]) < 1e-12
    Cf = torch.cat([s.C, s.C.conj()], -1)
    assert ref.rel_err(y, torch.einsum("chn,bhn->bch", Cf, xf).real) < 1e-12


@pytest.mark.parametrize("rank", [1, 2])
def test_linear_fused_step_equals_the_recurrence_and_the_plain_linear_step(ref, rank):
    s = ref.random_system("legs", 8, H=3, channels=2, rank=rank)
    x, u = _inputs(5, 3, 4)
    y, x_next = dplr_linear_fused_step(dplr_linear_fused_terms(s.dt, s.A, s.P, s.B, s.C), x, u)
    y_ref, x_ref = ref.step(s.dt, s.A, s.B, s.C, u, x, P=s.P, disc="bilinear")
    assert ref.rel_err(x_next, x_ref) < 1e-12
    assert ref.rel_err(y, y_ref) < 1e-12
    plain = dplr_linear_step(dplr_linear_step_terms(s.dt, s.A, s.P, s.B), x, u)
    assert ref.rel_err(x_next, plain) < 1e-12


def _forms(ref):
    return _forms_of(ref, ref.random_system("legs", 6, H=2, channels=1, rank=1))


@pytest.mark.parametrize("form", ["diag", "dense", "linear"])
def test_step_forms_accept_a_strided_state(ref, form):
    """An H-major (transposed) or sliced state gives the same step as a contiguous one."""
    step, terms = _forms(ref)[form]
    x, u = _inputs(4, 2, 3)
    y, x_next = step(terms, x, u)
    strided = x.transpose(0, 1).contiguous().transpose(0, 1)
    y2, x2 = step(terms, strided, u)
    assert torch.equal(x_next, x2) or ref.rel_err(x2, x_next) < 1e-14
    assert ref.rel_err(y2, y) < 1e-14
    wide = torch.randn(4, 2, 6, dtype=torch.complex128)
    wide[..., ::2] = x
    y3, x3 = step(terms, wide[..., ::2], u)  # last axis strided
    assert ref.rel_err(x3, x_next) < 1e-14 and ref.rel_err(y3, y) < 1e-14


@pytest.mark.parametrize("form", ["diag", "dense", "linear"])
def test_step_forms_gradcheck_float64(ref, form):
    step, terms = _forms(ref)[form]
    x, u = _inputs(2, 2, 3)
    x.requires_grad_(True)
    u.requires_grad_(True)

    def f(x, u):
        y, x_next = step(terms, x, u)
        return y, torch.view_as_real(x_next)

    assert torch.autograd.gradcheck(f, (x, u))


@pytest.mark.parametrize("form", ["diag", "dense", "linear"])
@pytest.mark.parametrize(("channels", "batch"), [(1, 1), (1, 5), (2, 2), (2, 3)])
def test_step_forms_with_the_skip_term_equal_the_recurrence_float64(ref, form, channels, batch):
    """With D, a form returns y + D u flattened channel-major to (batch, channels H): against
    the float64 recurrence, with and without recycled states (batch == channels included:
    the layouts are told apart by the form, not by the shapes)."""
    s = ref.random_system("legs", 8, H=3, channels=channels, rank=1)
    step, terms = _forms_of(ref, s)[form]
    D = torch.randn(channels, 3, dtype=torch.float64)
    P = None if form == "diag" else s.P
    disc = "zoh" if form == "diag" else "bilinear"
    x = x_ref = torch.randn(batch, 3, 4, dtype=torch.complex128)
    for _ in range(3):
        u = torch.randn(batch, 3, dtype=torch.float64)
        with torch.no_grad():
            y, x = step(terms, x, u, D)
        y_ref, x_ref = ref.step(s.dt, s.A, s.B, s.C, u, x_ref, P=P, disc=disc)
        expected = (torch.as_tensor(y_ref) + D * u.unsqueeze(1)).flatten(1, 2)  # (batch, c H)
        assert y.shape == (batch, channels * 3)
        assert ref.rel_err(y, expected) < 1e-12 and ref.rel_err(x, x_ref) < 1e-12


@pytest.mark.parametrize("form", ["diag", "dense", "linear"])
def test_step_forms_with_the_skip_term_gradcheck_float64(ref, form):
    step, terms = _forms(ref)[form]
    x, u = _inputs(2, 2, 3)
    D = torch.randn(1, 2, dtype=torch.float64, requires_grad=True)
    x.requires_grad_(True)
    u.requires_grad_(True)

    def f(x, u, D):
        y, x_next = step(terms, x, u, D)
        return y, torch.view_as_real(x_next)

    assert torch.autograd.gradcheck(f, (x, u, D))


def test_step_input_ok_accepts_only_what_the_full_checks_accept():
    state = torch.zeros(2, 3, 4, dtype=torch.complex64)
    u = torch.randn(2, 3)
    assert step_input_ok(u, state, 3, 4, torch.float32)
    assert step_input_ok(u.half(), state, 3, 4, torch.float32)  # lower precision is taken
    assert not step_input_ok(u.double(), state, 3, 4, torch.float32)  # would lose precision
    assert not step_input_ok(u, state.to(torch.complex128), 3, 4, torch.float32)
    assert not step_input_ok(u[:1], state, 3, 4, torch.float32)  # batch mismatch
    assert not step_input_ok(torch.randn(2, 4), state, 3, 4, torch.float32)  # wrong H
    assert not step_input_ok(u.unsqueeze(-1), state, 3, 4, torch.float32)
    assert not step_input_ok(u.to(torch.int64), state, 3, 4, torch.float32)
    assert not step_input_ok(u, state[..., :3], 3, 4, torch.float32)
    assert not step_input_ok(u.numpy(), state, 3, 4, torch.float32)


# ---------------------------------------------------------------------------------------------
# recycled state buffers (StateBuffers) and the cached transposed Linear weight (linear_step)


@pytest.mark.parametrize("form", ["diag", "dense", "linear"])
def test_recycled_states_match_the_recurrence_and_never_overwrite_a_live_state(ref, form):
    """Without autograd the step writes its new state into a recycled buffer: a long loop
    (buffers reused) equals the float64 recurrence, and every state the caller still holds
    (kept states, views, a numpy array) keeps its values while later steps run."""
    s = ref.random_system("legs", 8, H=3, channels=2, rank=1)
    step, terms = _forms_of(ref, s)[form]
    u = torch.randn(12, 5, 3, dtype=torch.float64)
    x = x_ref = torch.randn(5, 3, 4, dtype=torch.complex128)
    P = None if form == "diag" else s.P
    disc = "zoh" if form == "diag" else "bilinear"
    kept, copies = [], []
    with torch.no_grad():
        for t in range(12):
            y, x = step(terms, x, u[t])
            y_ref, x_ref = ref.step(s.dt, s.A, s.B, s.C, u[t], x_ref, P=P, disc=disc)
            assert ref.rel_err(x, x_ref) < 1e-12 and ref.rel_err(y, y_ref) < 1e-12
            holder = {0: x, 1: x[1:], 2: torch.view_as_real(x), 3: x.numpy()}.get(t % 6)
            if holder is not None:  # held in some form; states with no holder are recycled
                kept.append(holder)
                copies.append(torch.as_tensor(holder).clone())
        for held, copy in zip(kept, copies, strict=True):
            assert torch.equal(torch.as_tensor(held), copy)
    assert len(terms["states"]._buffers) <= terms["states"].keep  # bounded: old ones dropped


def _forms_of(ref, s):
    """Each step form with its terms for the system s: {name: (step, terms)}."""
    dA, dB, _ = discretize_diag(s.dt, s.A, s.B, "zoh")
    return {
        "diag": (diag_step, diag_step_terms(dA, dB, s.C)),
        "dense": (
            dplr_dense_step,
            dplr_dense_step_terms(*dplr_bilinear_dense(s.dt, s.A, s.P, s.B), s.C),
        ),
        "linear": (dplr_linear_fused_step, dplr_linear_fused_terms(s.dt, s.A, s.P, s.B, s.C)),
    }


def test_state_buffers_are_reused_only_once_dropped():
    pool = StateBuffers(keep=2)
    shape, dt, dev = torch.Size([2, 3, 4]), torch.complex64, torch.device("cpu")
    a = pool.empty(shape, dt, dev)
    b = pool.empty(shape, dt, dev)
    assert a.data_ptr() != b.data_ptr()
    a_ptr = a.data_ptr()
    del a
    assert pool.empty(shape, dt, dev).data_ptr() == a_ptr  # dropped: recycled
    c = pool.empty(shape, dt, dev)  # b is held; the recycled a was dropped again
    assert c.data_ptr() in (a_ptr,) and c.data_ptr() != b.data_ptr()
    view = c[0]
    del c
    d = pool.empty(shape, dt, dev)  # c's storage still has a view: not reused
    assert d.data_ptr() != view.data_ptr() and d.data_ptr() != b.data_ptr()
    assert pool.empty(torch.Size([1, 3, 4]), dt, dev).shape == (1, 3, 4)  # another batch
    with torch.enable_grad():  # a tensor saved by autograd is in use
        w = torch.ones(2, 3, 4, dtype=dt, requires_grad=True)
        e = pool.empty(shape, dt, dev).zero_()
        loss = (w * e).abs().sum()
        e_ptr = e.data_ptr()
        del e
        assert all(pool.empty(shape, dt, dev).data_ptr() != e_ptr for _ in range(3))
        del loss


def test_state_buffers_hold_their_views_and_still_recycle_only_dropped_states():
    """Views derived once per buffer are handed back with it (and for the buffer as an old
    state), are counted in its baseline (a dropped buffer is recycled, one whose storage the
    caller still views is not), and are never pickled or copied."""
    pool = StateBuffers(keep=2, views=lambda t: (torch.view_as_real(t), t[0]))
    shape, dt, dev = torch.Size([2, 3, 4]), torch.complex64, torch.device("cpu")
    a, (a_real, a0) = pool.empty_with_views(shape, dt, dev)
    assert a_real.data_ptr() == a.data_ptr() and a_real.shape == (2, 3, 4, 2)
    assert pool.views_of(a)[0] is a_real  # held, not derived again
    assert pool.views_of(a.clone())[0] is not a_real  # not one of the pool's: derived
    b = pool.empty(shape, dt, dev)
    a_ptr = a.data_ptr()
    del a, a_real, a0
    c, (c_real, _) = pool.empty_with_views(shape, dt, dev)
    assert c.data_ptr() == a_ptr and c_real.data_ptr() == a_ptr  # recycled with its views
    del c_real
    mine = c[1]  # the caller's own view of the storage
    del c
    d = pool.empty(shape, dt, dev)
    assert d.data_ptr() not in (a_ptr, b.data_ptr()) and mine.data_ptr() != d.data_ptr()
    twin = copy.deepcopy(pool)
    restored = pickle.loads(pickle.dumps(StateBuffers(keep=3)))
    assert twin._buffers == [] and restored._buffers == [] and restored.keep == 3
    assert len(twin.empty_with_views(shape, dt, dev)[1]) == 2  # the same views function


@pytest.mark.parametrize("form", ["diag", "dense", "linear"])
def test_step_forms_with_grad_allocate_fresh_states(ref, form):
    """With autograd recording, the new state is never a recycled buffer (a saved tensor
    must not change): two steps' gradients equal the float64 ones of the plain twins."""
    step, terms = _forms(ref)[form]
    x, u = _inputs(2, 2, 3)
    x.requires_grad_(True)

    def two_steps(x, u):
        y1, x1 = step(terms, x, u)
        y2, x2 = step(terms, x1, 2 * u)
        return y1.sum() + y2.sum() + torch.view_as_real(x2).sum()

    assert torch.autograd.gradcheck(two_steps, (x, u))
    assert "states" not in terms  # no buffer was ever made


def test_linear_step_equals_the_module_and_follows_weight_changes():
    lin = torch.nn.Linear(6, 4).double()
    x = torch.randn(5, 6, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(linear_step(lin, x), lin(x), rtol=1e-14, atol=1e-14)
        assert torch.allclose(linear_step(lin, x.t().contiguous().t()), lin(x), atol=1e-14)
        lin.weight.mul_(2)  # in place (an optimiser step): the cached W^T is refreshed
        assert torch.allclose(linear_step(lin, x), lin(x), atol=1e-14)
        lin.load_state_dict({"weight": torch.randn(4, 6), "bias": torch.randn(4)})
        assert torch.allclose(linear_step(lin, x), lin(x), atol=1e-14)
    # with autograd the module itself runs: gradients reach the weight
    out = linear_step(lin, x).sum()
    out.backward()
    assert lin.weight.grad is not None and torch.allclose(lin.weight.grad, x.sum(0).expand(4, 6))
    # a forward hook is honoured (the module call)
    calls = []
    lin.register_forward_hook(lambda m, i, o: calls.append(1))
    with torch.no_grad():
        linear_step(lin, x)
    assert calls == [1]


def test_step_runs_the_hooks_of_the_modules_it_calls():
    """The step's module calls skip nn.Module.__call__ only where no hook would run: a forward
    hook on the output projection, on the activation, or a global one still fires each step."""
    from s4_layers import S4Block

    block = S4Block(8, mode="diag", d_state=4).double().eval()
    calls: list[str] = []
    handles = [
        block.output_linear.register_forward_hook(lambda m, i, o: calls.append("out")),
        block.layer.activation.register_forward_hook(lambda m, i, o: calls.append("act")),
        torch.nn.modules.module.register_module_forward_hook(
            lambda m, i, o: calls.append("global") if isinstance(m, torch.nn.GLU) else None
        ),
    ]
    try:
        with torch.no_grad():
            block.setup_step()
            state = block.default_state(2)
            y, state = block.step(torch.randn(2, 8, dtype=torch.float64), state)
    finally:
        for handle in handles:
            handle.remove()
    assert sorted(calls) == ["act", "global", "out"], calls
    assert y.shape == (2, 8)
