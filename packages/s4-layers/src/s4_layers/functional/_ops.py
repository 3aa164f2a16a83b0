"""The structured primitives, imported from ssm_kernels in one place.

Every op takes ``backend`` (None picks the best available for the tensor's device).
"""

from __future__ import annotations

from ssm_kernels import cauchy, vandermonde, vandermonde_transpose

__all__ = ["cauchy", "vandermonde", "vandermonde_transpose"]
