"""A table of bad inputs to the public ops: each is refused with the right error type and a
message of the form ``<name>: expected ..., got ...`` that names the argument.

Add a row whenever a new bad input is found (issue 10: keep growing).
"""

import pytest
import torch

import ssm_kernels
from ssm_kernels import BackendUnavailableError, KernelInputError, dispatch

c64 = torch.complex64


def _good():
    g = torch.Generator().manual_seed(0)
    v = torch.randn(2, 3, 8, dtype=c64, generator=g)
    w = torch.complex(-torch.rand(3, 8, generator=g) - 0.1, torch.randn(3, 8, generator=g))
    z = 2j * torch.tan(torch.pi * (torch.arange(10) + 0.5) / 21)
    x = 1e-2 * w
    u = torch.randn(2, 3, 10, dtype=c64, generator=g)
    return {"v": v, "w": w, "z": z, "x": x, "u": u}


def cauchy(**bad):
    a = {**_good(), **bad}
    return ssm_kernels.cauchy(
        a["v"], a["z"], a["w"], **{k: a[k] for k in ("conj", "backend") if k in a}
    )


def vandermonde(L=10, **bad):
    a = {**_good(), **bad}
    kw = {k: a[k] for k in ("conj", "backend") if k in a}
    return ssm_kernels.vandermonde(a["v"], a["x"], L, **kw)


def transpose(L=10, **bad):
    a = {**_good(), **bad}
    kw = {k: a[k] for k in ("backend",) if k in a}
    return ssm_kernels.vandermonde_transpose(a["u"], a["v"], a["x"], L, **kw)


# (id, call, error type, the argument the message must start with, a phrase it must contain)
TABLE = [
    ("conj-str", lambda: cauchy(conj="no"), KernelInputError, "conj", "got 'no'"),
    ("conj-int", lambda: cauchy(conj=0), KernelInputError, "conj", "got 0"),
    ("conj-none", lambda: vandermonde(conj=None), KernelInputError, "conj", "got None"),
    ("conj-tensor", lambda: vandermonde(conj=torch.tensor(True)), KernelInputError, "conj", ""),
    ("v-list", lambda: cauchy(v=[1.0]), KernelInputError, "v", "got list"),
    ("v-0d", lambda: cauchy(v=torch.tensor(1.0)), KernelInputError, "v", "0-d"),
    (
        "v-int",
        lambda: vandermonde(v=torch.ones(3, 8, dtype=torch.int64)),
        KernelInputError,
        "v",
        "int64",
    ),
    ("w-real", lambda: cauchy(w=torch.ones(3, 8)), KernelInputError, "w", "complex"),
    (
        "w-N",
        lambda: cauchy(w=torch.ones(3, 7, dtype=c64)),
        KernelInputError,
        "v, w",
        "state size N",
    ),
    (
        "w-batch",
        lambda: cauchy(w=torch.ones(4, 8, dtype=c64)),
        KernelInputError,
        "v, z, w",
        "broadcast",
    ),
    ("z-empty", lambda: cauchy(z=torch.ones(0, dtype=c64)), KernelInputError, "z", "L=0"),
    (
        "z-device",
        lambda: cauchy(z=torch.ones(10, dtype=c64, device="meta")),
        KernelInputError,
        "v, z, w",
        "one device",
    ),
    (
        "x-N",
        lambda: vandermonde(x=torch.ones(3, 5, dtype=c64)),
        KernelInputError,
        "v, x",
        "state size N",
    ),
    (
        "x-N0",
        lambda: vandermonde(v=torch.ones(3, 0), x=torch.ones(3, 0)),
        KernelInputError,
        "v",
        "N >= 1",
    ),
    ("L-zero", lambda: vandermonde(L=0), KernelInputError, "L", "L >= 1"),
    ("L-float", lambda: vandermonde(L=2.5), KernelInputError, "L", "got 2.5"),
    ("L-bool", lambda: transpose(L=True), KernelInputError, "L", "got True"),
    ("L-str", lambda: transpose(L="10"), KernelInputError, "L", "got '10'"),
    ("u-length", lambda: transpose(L=12), KernelInputError, "u", "L=12"),
    (
        "u-batch",
        lambda: transpose(u=torch.ones(4, 3, 10)),
        KernelInputError,
        "u, v, x",
        "broadcast",
    ),
    ("backend-name", lambda: cauchy(backend="gpu"), KernelInputError, "backend", "got 'gpu'"),
    (
        "backend-case",
        lambda: vandermonde(backend="Torch"),
        KernelInputError,
        "backend",
        "got 'Torch'",
    ),
    ("backend-int", lambda: transpose(backend=3), KernelInputError, "backend", "got 3"),
]


@pytest.mark.parametrize(
    "call, error, name, phrase", [row[1:] for row in TABLE], ids=[r[0] for r in TABLE]
)
def test_bad_input_is_refused_naming_the_argument(call, error, name, phrase):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(f"{name}: expected "), message
    assert ", got " in message or "got " in message, message
    assert phrase in message, message


def test_unavailable_backend_names_the_argument_and_the_extra(monkeypatch):
    real = dispatch._availability
    monkeypatch.setattr(
        dispatch, "_availability", lambda n: (False, "missing here") if n == "keops" else real(n)
    )
    with pytest.raises(BackendUnavailableError) as info:
        cauchy(backend="keops")
    message = str(info.value)
    assert message.startswith("backend: expected ") and "got 'keops'" in message
    assert "pip install ssm-kernels[keops]" in message


def test_every_row_has_a_unique_id():
    ids = [row[0] for row in TABLE]
    assert len(ids) == len(set(ids)) and len(ids) >= 20
