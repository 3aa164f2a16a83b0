"""The inits equal the original's: the untrained state of layers written by state-spaces/s4.

The fixtures (``shared/fixtures/official-s4``, see its README) hold the original S4Block's
parameters right after construction: ``A_real = log(-Re A)``, ``A_imag = -Im A`` of the
original's half (``Im A <= 0``), ``B`` and ``P`` as ``(..., 2)`` real views. Ours is the
conjugate half, so ``Im Lambda = A_imag`` and ``B = conj(B_orig)`` up to a unit phase per
eigenvector (LAPACK's choice; ``B``, ``P`` and ``V`` rotate together: the same system).
Skipped where torch (to read ``.pt``) or the fixtures are absent.
"""

from pathlib import Path

import numpy as np
import pytest

from hippo_core import dplr

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = next(
    (p for p in (ROOT / "shared", ROOT.parent / "shared") if (p / "fixtures/official-s4").is_dir()),
    None,
)
CASES = [
    ("s4block_dplr_legs", "legs"),
    ("s4block_dplr_fout", "fout"),
    ("s4block_diag_legs_zoh", "legs"),
    ("s4block_diag_lin_bilinear", "diag-lin"),
    ("s4block_diag_inv_channels2_bidir", "diag-inv"),
]


def as_complex(t):
    return torch.view_as_complex(t.double().contiguous()).numpy()


@pytest.mark.skipif(FIXTURES is None, reason="shared/fixtures/official-s4 not found")
@pytest.mark.parametrize(("name", "init"), CASES)
def test_init_matches_the_original(name, init):
    data = torch.load(FIXTURES / f"fixtures/official-s4/{name}.pt", weights_only=False)
    state, kwargs = data["state_dict"], data["kwargs"]
    H, N = kwargs["d_model"], kwargs["d_state"]
    ours = dplr(init, N, H=H)
    real = -np.exp(state["layer.kernel.A_real"].double().numpy())
    imag = state["layer.kernel.A_imag"].double().numpy()
    # the original clamps Re(A) <= -1e-4 (FouT's real parts are 0)
    np.testing.assert_allclose(np.minimum(ours.Lambda.real, -1e-4), real, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.Lambda.imag, imag, rtol=1e-5, atol=2e-4)
    B = as_complex(state["layer.kernel.B"])[0]  # (H, N/2); B_clip = 2 binds for legs
    np.testing.assert_allclose(np.abs(ours.B), np.abs(B), rtol=1e-5, atol=1e-6)
    # each eigenvector differs by a unit phase (LAPACK's choice: +-1 for legs, +-i for fout)
    phase = ours.B / B.conj()
    np.testing.assert_allclose(np.abs(phase), 1.0, atol=1e-5)
    if "layer.kernel.P" in state:
        P = as_complex(state["layer.kernel.P"])  # (rank, H, N/2): the same basis change
        np.testing.assert_allclose(ours.P, phase[None] * P.conj(), rtol=1e-5, atol=1e-6)
