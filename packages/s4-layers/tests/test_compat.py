"""s4_layers.compat: original state-spaces/s4 checkpoints and kwargs mapped onto our modules.

The fixtures in ``<repo>/../shared/fixtures/official-s4/`` were written by the original layers;
each must convert and reproduce the original's output. Synthetic checkpoints (our random
parameters written in the original's layout, with C-tilde from a brute-force matrix power) check
the mapping on fresh inputs, n_ssm sharing and every error path.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import s4_layers
from s4_layers import S4Block, S4InputError, SequenceModel
from s4_layers.compat import (
    convert_state_dict,
    ctilde_kernel_reference,
    load_official_state_dict,
    official_kwargs,
)
from s4_layers.functional.discretize import dplr_bilinear_dense, output_to_real, real_to_complex

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "official-s4"
FIXTURE_FILES = sorted(FIXTURES.glob("*.pt")) if FIXTURES.is_dir() else []


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def _load_fixture(path: Path) -> dict:
    # every fixture holds only tensors, ints, strings and dicts: the safe loader suffices
    return torch.load(path, weights_only=True)


def _original_error_bound(module: torch.nn.Module, fix: dict) -> float:
    """The original's own float32 error on this fixture: its output against the exact (float64)
    evaluation of its formula from its stored C-tilde. 0 for diagonal kernels (no C-tilde)."""
    kernel = getattr(getattr(module, "layer", None), "kernel", None)
    if kernel is None or kernel.mode != "dplr":
        return 0.0
    exact = _copy64(module, fix)
    C_tilde = torch.view_as_complex(fix["state_dict"]["layer.kernel.C"].double()).conj()
    k = exact.layer.kernel
    K = ctilde_kernel_reference(k.dt(), k.A(), k.P_c(), k.B_c(), C_tilde, fix["L"])
    k.forward = lambda L, rate=1.0: K[..., :L]
    with torch.no_grad():
        y_exact, _ = exact(fix["x"].double())
    with torch.no_grad():
        y_ours, _ = module(fix["x"])
    # our float32 output is within float32 accuracy of the exact function
    assert rel(y_ours.double(), y_exact) < 1e-5
    return rel(y_exact, fix["y"].double())


def _copy64(module: torch.nn.Module, fix: dict) -> torch.nn.Module:
    cls = type(module)
    twin = cls(**official_kwargs(fix["kwargs"], fix["module"])).double().eval()
    sd = {k: v.double() if v.is_floating_point() else v for k, v in fix["state_dict"].items()}
    return load_official_state_dict(twin, sd)


@pytest.mark.skipif(not FIXTURE_FILES, reason=f"official-s4 fixtures absent: {FIXTURES}")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_every_official_fixture_converts_and_matches(path):
    fix = _load_fixture(path)
    cls = getattr(s4_layers, fix["module"])
    module = cls(**official_kwargs(fix["kwargs"], fix["module"])).eval()
    load_official_state_dict(module, fix["state_dict"])
    with torch.no_grad():
        y, _ = module(fix["x"])
    assert y.dtype == torch.float32 and y.shape == fix["y"].shape
    # the bound is 1e-5 beyond what the original's own float32 arithmetic missed by (measured:
    # ~2.7e-5 for dplr_fout, whose I - Abar^L has condition numbers up to ~1e5; ~0 elsewhere)
    assert rel(y, fix["y"]) < 1e-5 + _original_error_bound(module, fix), path.stem


def test_fixture_folder_is_found_in_this_checkout():
    if not FIXTURES.is_dir():
        pytest.skip(f"official-s4 fixtures absent: {FIXTURES}")
    names = {p.stem for p in FIXTURE_FILES}
    assert {"s4block_dplr_legs", "s4block_diag_legs_zoh", "s4d_minimal"} <= names


# ---------------------------------------------------------------------------------------------
# synthetic checkpoints in the original layout


def _brute_ctilde(kernel, L: int) -> torch.Tensor:
    """C~ = C (I - Abar^L) by L dense float64 multiplications (no repeated squaring)."""
    k64 = kernel
    E, _ = dplr_bilinear_dense(
        k64.dt().double(),
        k64.A().to(torch.complex128),
        k64.P_c().to(torch.complex128),
        k64.B_c().to(torch.complex128),
    )
    dA = torch.eye(E.shape[-1], dtype=torch.float64) + E  # Abar = I + E
    power = torch.eye(dA.shape[-1], dtype=torch.float64).expand_as(dA).clone()
    for _ in range(L):
        power = power @ dA
    c_real = output_to_real(k64.C_c().to(torch.complex128))
    ct = torch.einsum("chi,hij->chj", c_real, torch.eye(dA.shape[-1]).double() - power)
    return real_to_complex(ct / 2).conj()


def _to_original(block: S4Block, L: int) -> dict[str, torch.Tensor]:
    """Our S4Block's parameters written as the original S4Block stores them (after a forward of
    length L for DPLR: C holds C-tilde)."""
    k = block.layer.kernel
    conj = lambda t: torch.stack([t[..., 0], -t[..., 1]], -1)
    sd = {
        "layer.D": block.layer.D.detach().clone(),
        "layer.kernel.inv_dt": k.log_dt.detach().unsqueeze(-1).clone(),
        "layer.kernel.A_real": k.A_real.detach().clone(),
        "layer.kernel.A_imag": k.A_imag.detach().clone(),
        "layer.kernel.B": conj(k.B.detach()).unsqueeze(0),
        "output_linear.0.weight": block.output_linear.linear.weight.detach().clone(),
        "output_linear.0.bias": block.output_linear.linear.bias.detach().clone(),
    }
    if k.mode == "dplr":
        sd["layer.kernel.P"] = conj(k.P.detach())
        Ct = _brute_ctilde(k, L)
        sd["layer.kernel.C"] = torch.view_as_real(Ct.conj().resolve_conj()).float()
        sd["layer.kernel.l_kernel"] = torch.tensor(L)
    else:
        sd["layer.kernel.C"] = conj(k.C.detach())
    return sd


def _randomise(block: S4Block) -> None:
    """Fresh parameters away from the init (so a wrong sign or a missed flip shows)."""
    torch.manual_seed(3)
    with torch.no_grad():
        k = block.layer.kernel
        k.A_imag.add_(torch.rand_like(k.A_imag))
        k.A_real.add_(0.3 * torch.randn_like(k.A_real))
        k.B.copy_(torch.randn_like(k.B))
        if hasattr(k, "P"):
            k.P.mul_(1 + 0.2 * torch.randn_like(k.P))
        k.C.copy_(torch.randn_like(k.C))


@pytest.mark.parametrize("mode", ["diag", "dplr"])
@pytest.mark.parametrize("L", [32, 24])
def test_synthetic_checkpoint_round_trip(mode, L):
    torch.manual_seed(0)
    kw = {"d_model": 4, "mode": mode, "d_state": 8, "init": "legs", "l_max": L}
    ours = S4Block(**kw).eval()
    _randomise(ours)
    original_sd = _to_original(ours, L)
    loaded = load_official_state_dict(S4Block(**official_kwargs(kw)).eval(), original_sd)
    x = torch.randn(2, 4, L)
    with torch.no_grad():
        assert rel(loaded(x)[0], ours(x)[0]) < 1e-5
        assert rel(loaded.layer.kernel.C_c(), ours.layer.kernel.C_c()) < 1e-4


def test_l_kernel_zero_means_true_C_and_L_argument():
    torch.manual_seed(1)
    ours = S4Block(4, mode="dplr", d_state=8).eval()
    sd = _to_original(ours, 16)
    true_C = torch.stack([ours.layer.kernel.C[..., 0], -ours.layer.kernel.C[..., 1]], -1)
    fresh = {**sd, "layer.kernel.C": true_C.detach(), "layer.kernel.l_kernel": torch.tensor(0)}
    loaded = load_official_state_dict(S4Block(4, mode="dplr", d_state=8), fresh)
    assert torch.allclose(loaded.layer.kernel.C, ours.layer.kernel.C)
    no_length = {k: v for k, v in sd.items() if k != "layer.kernel.l_kernel"}
    with pytest.raises(S4InputError, match=r"layer\.kernel\.l_kernel: expected .*pass L="):
        load_official_state_dict(S4Block(4, mode="dplr", d_state=8), no_length)
    with_L = load_official_state_dict(S4Block(4, mode="dplr", d_state=8), no_length, L=16)
    x = torch.randn(1, 4, 16)
    with torch.no_grad():
        assert rel(with_L.eval()(x)[0], ours(x)[0]) < 1e-5


def test_n_ssm_checkpoint_shares_A_B_across_channel_groups():
    torch.manual_seed(2)
    ours = S4Block(6, mode="diag", d_state=8, n_ssm=2).eval()
    _randomise(ours)
    k = ours.layer.kernel
    assert k.A_real.shape == (2, 4) and k.B.shape == (2, 4, 2) and k.C.shape == (1, 6, 4, 2)
    A = k.A()
    assert torch.equal(A[0], A[2]) and torch.equal(A[1], A[5])  # tiling (v t): h -> h mod 2
    sd = _to_original(ours, 16)
    assert sd["layer.kernel.B"].shape == (1, 2, 4, 2)
    loaded = load_official_state_dict(S4Block(6, mode="diag", d_state=8, n_ssm=2).eval(), sd)
    x = torch.randn(2, 6, 16)
    with torch.no_grad():
        assert rel(loaded(x)[0], ours(x)[0]) < 1e-6


def test_clear_errors():
    ours = S4Block(4, mode="diag", d_state=8)
    sd = _to_original(ours, 8)
    with pytest.raises(S4InputError, match=r"unknown key\(s\) \['layer\.kernel\.Q'\]"):
        convert_state_dict(ours, {**sd, "layer.kernel.Q": torch.zeros(1)})
    bad = {**sd, "layer.D": torch.zeros(2, 4)}
    with pytest.raises(
        S4InputError, match=r"layer\.D: expected shape \(1, 4\).*got shape \(2, 4\)"
    ):
        convert_state_dict(ours, bad)
    partial = {k: v for k, v in sd.items() if k != "layer.D"}
    with pytest.raises(S4InputError, match=r"got none for \['layer\.D'\]"):
        convert_state_dict(ours, partial)
    with pytest.raises(S4InputError, match="state_dict: expected a mapping, got list"):
        convert_state_dict(ours, [1, 2])


def test_official_kwargs_mapping():
    mapped = official_kwargs(
        {"d_model": 4, "measure": "legs", "mode": "nplr", "backend": "naive", "verbose": True}
    )
    assert mapped == {"d_model": 4, "init": "legs", "mode": "dplr", "backend": "torch"}
    assert official_kwargs({"kernel": "s4d", "backend": "cuda"}) == {
        "mode": "diag",
        "backend": None,
    }
    with pytest.warns(UserWarning, match="disc='zoh' is ignored by the original's DPLR kernel"):
        assert "disc" not in official_kwargs({"mode": "dplr", "disc": "zoh"})
    with pytest.raises(S4InputError, match=r"module: expected one of .*got 'S5'"):
        official_kwargs({}, "S5")
    with pytest.raises(S4InputError, match=r"mode: expected one of .*got 'dense'"):
        official_kwargs({"mode": "dense"})
    with pytest.raises(
        S4InputError, match="init: expected one of 'measure' / 'init' \\(aliases\\), got both"
    ):
        official_kwargs({"measure": "legs", "init": "fout"})
    with pytest.warns(UserWarning, match="S4D: dt_min only shapes the initialisation"):
        assert official_kwargs({"d_model": 2, "dt_min": 0.01}, "S4D") == {"d_model": 2}
    with pytest.raises(S4InputError, match=r"S4D kwargs: expected keys among .*\['mode'\]"):
        official_kwargs({"d_model": 2, "mode": "diag"}, "S4D")
    seq = official_kwargs(
        {"d_model": 4, "layer": {"_name_": "s4", "measure": "legs"}}, "SequenceModel"
    )
    assert seq["layer"] == {"init": "legs"}


def test_dt_transform_checkpoint_is_stored_as_inv_dt():
    torch.manual_seed(4)
    ours = S4Block(4, mode="diag", d_state=8, dt_transform="softplus").eval()
    k = ours.layer.kernel
    assert "inv_dt" in dict(k.named_parameters()) and "log_dt" not in dict(k.named_parameters())
    conj = lambda t: torch.stack([t[..., 0], -t[..., 1]], -1)
    sd = {
        "layer.D": ours.layer.D.detach(),
        "layer.kernel.inv_dt": k.inv_dt.detach().unsqueeze(-1),
        "layer.kernel.A_real": k.A_real.detach(),
        "layer.kernel.A_imag": k.A_imag.detach(),
        "layer.kernel.B": conj(k.B.detach()).unsqueeze(0),
        "layer.kernel.C": conj(k.C.detach()),
        "output_linear.0.weight": ours.output_linear.linear.weight.detach(),
        "output_linear.0.bias": ours.output_linear.linear.bias.detach(),
    }
    loaded = load_official_state_dict(
        S4Block(
            **official_kwargs(
                {"d_model": 4, "mode": "diag", "d_state": 8, "dt_transform": "softplus"}
            )
        ),
        sd,
    )
    assert torch.allclose(loaded.layer.kernel.dt(), torch.nn.functional.softplus(k.inv_dt))
    assert math.isclose(
        float(loaded.layer.kernel.dt()[0].detach()), float(k.dt()[0].detach()), rel_tol=1e-6
    )


def test_cli_converts_a_fixture_style_file(tmp_path):
    from s4_layers.cli_convert import main

    torch.manual_seed(5)
    kw = {"d_model": 4, "mode": "dplr", "d_state": 8, "l_max": 16, "transposed": True}
    ours = S4Block(**kw).eval()
    src = tmp_path / "orig.pt"
    torch.save({"module": "S4Block", "kwargs": kw, "state_dict": _to_original(ours, 16)}, src)
    out = tmp_path / "ours.pt"
    assert main([str(src), str(out)]) == 0
    saved = torch.load(out, weights_only=True)
    assert saved["module"] == "S4Block" and saved["kwargs"]["mode"] == "dplr"
    rebuilt = S4Block(**saved["kwargs"]).eval()
    rebuilt.load_state_dict(saved["state_dict"])
    x = torch.randn(1, 4, 16)
    with torch.no_grad():
        assert rel(rebuilt(x)[0], ours(x)[0]) < 1e-5
    # a bare state dict needs --module and --kwargs
    bare = tmp_path / "bare.pt"
    torch.save(_to_original(ours, 16), bare)
    args = [str(bare), str(tmp_path / "b.pt"), "--module", "S4Block", "--kwargs", json.dumps(kw)]
    assert main(args) == 0
    with pytest.raises(SystemExit, match="--kwargs"):
        main([str(bare), str(tmp_path / "c.pt"), "--module", "S4Block"])


def test_sequence_model_checkpoint_key_for_key():
    torch.manual_seed(6)
    original_kwargs = {
        "d_model": 4,
        "n_layers": 2,
        "residual": "R",
        "norm": "layer",
        "layer": {"_name_": "s4", "mode": "dplr", "measure": "legs", "d_state": 8, "l_max": 16},
        "pool": {"_name_": "pool", "stride": 1, "expand": 1},
    }
    ours = SequenceModel(**official_kwargs(original_kwargs, "SequenceModel")).eval()
    for block in ours.layers:
        _randomise(block.layer)
    sd = {}
    for key, value in ours.state_dict().items():
        if ".layer." not in key:  # norms, pools, the final norm: the same names
            sd[key] = value
    for i, block in enumerate(ours.layers):
        sd.update({f"layers.{i}.layer.{k}": v for k, v in _to_original(block.layer, 16).items()})
    assert "layers.1.pool.linear.weight" in sd and "norm.norm.weight" in sd
    fresh = SequenceModel(**official_kwargs(original_kwargs, "SequenceModel")).eval()
    load_official_state_dict(fresh, sd)
    x = torch.randn(2, 16, 4)
    with torch.no_grad():
        assert rel(fresh(x)[0], ours(x)[0]) < 1e-5


def _original_linear_key(key: str) -> str:
    """Our Linear key -> the original LinearActivation's (Sequential .0 when activated)."""
    key = key.replace("parametrizations.weight.original0", "weight_g")
    key = key.replace("parametrizations.weight.original1", "weight_v")
    for name in ("output_linear", "input_gate"):
        key = key.replace(f"{name}.linear.", f"{name}.0.")
    for name in ("output_gate", "input_linear"):
        key = key.replace(f"{name}.linear.", f"{name}.")
    return key


def test_gated_weight_normed_bottleneck_block_checkpoint():
    torch.manual_seed(7)
    kw = {"d_model": 8, "mode": "diag", "d_state": 8, "gate": 2, "bottleneck": 2}
    kw.update(weight_norm=True, gate_act="gelu", mult_act="tanh")
    ours = S4Block(**kw).eval()
    _randomise(ours)
    sd = {k: v for k, v in _to_original(ours, 8).items() if not k.startswith("output_linear")}
    for key, value in ours.state_dict().items():
        if not key.startswith("layer."):
            sd[_original_linear_key(key)] = value
    assert "input_gate.0.weight_g" in sd and "output_gate.weight_v" in sd
    assert "input_linear.bias" in sd and "output_linear.0.weight_g" in sd
    fresh = load_official_state_dict(S4Block(**official_kwargs(kw)).eval(), sd)
    x = torch.randn(2, 8, 12)
    with torch.no_grad():
        assert rel(fresh(x)[0], ours(x)[0]) < 1e-6


class _Pickled:  # an arbitrary object: the safe loader must refuse it
    pass


def test_cli_refuses_pickled_objects_unless_asked(tmp_path):
    from s4_layers.cli_convert import main

    path = tmp_path / "pickled.pt"
    torch.save({"state_dict": {}, "extra": _Pickled()}, path)
    with pytest.raises(SystemExit, match="rerun with --unsafe-load if you trust the file"):
        main([str(path), str(tmp_path / "o.pt"), "--module", "S4Block", "--kwargs", "{}"])
    with pytest.raises(SystemExit, match="input: expected an existing file"):
        main([str(tmp_path / "missing.pt"), str(tmp_path / "o.pt")])


def test_fftconv_checkpoint():
    torch.manual_seed(8)
    block = S4Block(4, mode="dplr", d_state=8, activation="gelu").eval()
    _randomise(block)
    sd = {
        k[len("layer.") :]: v for k, v in _to_original(block, 16).items() if k.startswith("layer.")
    }
    conv = s4_layers.FFTConv(**official_kwargs({"d_model": 4, "d_state": 8, "activation": "gelu"}))
    load_official_state_dict(conv.eval(), sd)
    x = torch.randn(2, 4, 16)
    with torch.no_grad():
        assert rel(conv(x)[0], block.layer(x)[0]) < 1e-5
