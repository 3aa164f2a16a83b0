"""hippo-core: HiPPO matrices, NPLR/DPLR and diagonal initialisations (numpy/scipy only).

Public API:

- :func:`transition` ``(measure, N, **kw) -> (A, B)``: continuous HiPPO matrices.
- :func:`rank_correction`, :func:`nplr`: normal-plus-low-rank forms.
- :func:`dplr`: S4 / S4D initialisations (every init name of the original: ``legs``,
  ``diag-lin``, ``dplr-inv``, ``hippo``, ...).
- :func:`discretize`: forward / backward Euler, bilinear, zero-order hold.
- :func:`hippo_project`, :func:`hippo_reconstruct`, :class:`HiPPO`: online function
  approximation.
"""

from hippo_core.__about__ import __version__
from hippo_core.approximation import (
    APPROXIMATION_MEASURES,
    HiPPO,
    hippo_basis,
    hippo_project,
    hippo_reconstruct,
)
from hippo_core.discretize import DISCRETIZATIONS, discretize
from hippo_core.inits import (
    B_INITS,
    COMBINATIONS,
    DIAGONAL_INITS,
    DPLR,
    DPLR_INITS,
    HIPPO_INITS,
    INIT_ALIASES,
    INITS,
    dplr,
)
from hippo_core.measures import FOURIER_MEASURES, MEASURES, transition
from hippo_core.nplr import MIN_RANK, NPLR, NPLR_MEASURES, nplr, rank_correction

__all__ = [
    "APPROXIMATION_MEASURES",
    "B_INITS",
    "COMBINATIONS",
    "DIAGONAL_INITS",
    "DISCRETIZATIONS",
    "DPLR",
    "DPLR_INITS",
    "FOURIER_MEASURES",
    "HIPPO_INITS",
    "INITS",
    "INIT_ALIASES",
    "MEASURES",
    "MIN_RANK",
    "NPLR",
    "NPLR_MEASURES",
    "HiPPO",
    "__version__",
    "discretize",
    "dplr",
    "hippo_basis",
    "hippo_project",
    "hippo_reconstruct",
    "nplr",
    "rank_correction",
    "transition",
]
