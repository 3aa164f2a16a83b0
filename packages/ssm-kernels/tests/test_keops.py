"""What is particular to the keops backend: the map-reduce device follows the tensors.

Values and gradients (against brute force and the torch backend) are in ``test_backends.py``.
"""

import pytest
import torch

from ssm_kernels import keops as keops_backend

_REASON = keops_backend.unavailable_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"keops backend: {_REASON}")


def test_cpu_tensors_run_on_cpu_even_when_keops_sees_cuda(agree, monkeypatch):
    """The original's failure: pykeops' backend='auto' picks the GPU whenever CUDA libraries
    load, and CPU tensors then die with KeyError 'nvrtc'. The device must follow the tensor."""
    pykeops = keops_backend._pykeops()
    monkeypatch.setattr(pykeops.config, "gpu_available", True)
    assert keops_backend._device_kwargs(torch.zeros(1)) == {"backend": "CPU"}
    agree.cauchy("keops", torch.complex64, True, (3,), (3,), ())


def test_cuda_tensors_need_a_gpu_build(monkeypatch):
    pykeops = keops_backend._pykeops()
    monkeypatch.setattr(pykeops.config, "gpu_available", False)
    with pytest.raises(ValueError, match="GPU support"):
        keops_backend.check_inputs(torch.device("cuda", 0), torch.complex64)
