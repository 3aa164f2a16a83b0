"""Bad input -> ValueError whose message starts with the argument's name (issue 10 item 12).

Every message follows ``<name>: expected ..., got ...``; nothing NaN/inf passes silently into
a matrix, and no scipy/numpy message (which names no argument) escapes.
"""

import math

import numpy as np
import pytest

from hippo_core import (
    DISCRETIZATIONS,
    discretize,
    dplr,
    hippo_basis,
    hippo_project,
    nplr,
    rank_correction,
    transition,
)

NAN, INF = math.nan, math.inf
A_OK, B_OK = -np.eye(3), np.ones(3)

CASES = [
    # (label, call, argument named first in the message)
    ("imag_scale nan", lambda: dplr("diag-lin", 8, imag_scale=NAN), "imag_scale"),
    ("imag_scale inf", lambda: dplr("legs", 8, imag_scale=INF), "imag_scale"),
    ("imag_scale < 0", lambda: dplr("lin", 8, imag_scale=-1.0), "imag_scale"),
    ("P_scale nan", lambda: dplr("dplr-lin", 8, P_scale=NAN), "P_scale"),
    ("P_scale -inf", lambda: dplr("lin", 8, P_scale=-INF), "P_scale"),
    ("P_scale < 0", lambda: dplr("lin", 8, P_scale=-0.1), "P_scale"),
    ("P_scale with a fixed P", lambda: dplr("legs", 8, P_scale=1.0), "P_scale"),
    ("P_scale with diag-", lambda: dplr("diag-lin", 8, P_scale=1.0), "P_scale"),
    ("real_value nan", lambda: dplr("lin", 8, real_value=NAN), "real_value"),
    ("real_value <= 0", lambda: dplr("lin", 8, real_value=0.0), "real_value"),
    ("B_scale inf", lambda: dplr("lin", 8, B_scale=INF), "B_scale"),
    ("B_clip nan", lambda: dplr("legs", 8, B_clip=NAN), "B_clip"),
    ("B_clip nplr", lambda: nplr("legs", 8, B_clip=0.0), "B_clip"),
    ("B_init unknown", lambda: dplr("lin", 8, B_init="ones"), "B_init"),
    ("init unknown", lambda: dplr("s4d-lin", 8), "init"),
    ("N odd", lambda: dplr("lin", 7), "N"),
    ("N float", lambda: dplr("lin", 8.0), "N"),
    ("rank 0", lambda: dplr("lin", 8, rank=0), "rank"),
    ("H bool", lambda: dplr("lin", 8, H=True), "H"),
    ("H not a multiple", lambda: dplr("all", 8, H=2), "H"),
    ("seed < 0 dplr", lambda: dplr("rand", 8, seed=-1), "seed"),
    ("seed float", lambda: dplr("rand", 8, seed=1.5), "seed"),
    ("seed < 0 transition", lambda: transition("random", 4, seed=-3), "seed"),
    ("unknown option", lambda: dplr("lin", 8, real_part=0.5), "dplr('lin')"),
    ("glagt beta nan", lambda: transition("glagt", 4, beta=NAN), "beta"),
    ("glagt beta inf", lambda: transition("glagt", 4, beta=INF), "beta"),
    ("glagt beta <= 0", lambda: transition("glagt", 4, beta=0.0), "beta"),
    ("glagt alpha nan", lambda: transition("glagt", 4, alpha=NAN), "alpha"),
    ("glagt alpha >= 1", lambda: transition("glagt", 4, alpha=1.5), "alpha"),
    ("glagt via dplr", lambda: dplr("lagt", 8, measure_kw={"beta": NAN}), "beta"),
    ("measure_kw not a dict", lambda: dplr("legs", 8, measure_kw=[1]), "measure_kw"),
    ("measure_kw unknown key", lambda: dplr("legt", 8, 2, measure_kw={"b": 1}), "nplr('legt')"),
    ("legt theta nan", lambda: transition("legt", 4, theta=NAN), "theta"),
    ("fout theta inf", lambda: transition("fout", 4, theta=INF), "theta"),
    ("lagt beta nan", lambda: transition("lagt", 4, beta=NAN), "beta"),
    ("measure unknown", lambda: transition("legx", 4), "measure"),
    ("rank below minimum", lambda: rank_correction("legt", 4, 1), "rank"),
    ("no NPLR form", lambda: nplr("lmu", 4), "measure"),
    ("dt nan", lambda: discretize(A_OK, B_OK, NAN, "zoh"), "dt"),
    ("dt inf", lambda: discretize(A_OK, B_OK, INF, "bilinear"), "dt"),
    ("method unknown", lambda: discretize(A_OK, B_OK, 0.1, "rk4"), "method"),
    ("A not square", lambda: discretize(np.ones((2, 3)), B_OK, 0.1), "A"),
    ("A strings", lambda: discretize(np.array([["a"]]), np.ones(1), 0.1), "A"),
    ("B wrong shape", lambda: discretize(A_OK, np.ones(4), 0.1), "B"),
    ("bilinear singular", lambda: discretize(2 * np.eye(2), np.ones(2), 1.0, "bilinear"), "A"),
    ("backward singular", lambda: discretize(np.eye(2), np.ones(2), 1.0, "backward"), "A"),
    ("zoh overflow", lambda: discretize(1e4 * np.eye(2), np.ones(2), 1.0, "zoh"), "A"),
    ("signal nan", lambda: hippo_project(np.array([0.0, NAN]), "legs", 4), "signal"),
    ("signal 2-D", lambda: hippo_project(np.ones((2, 2)), "legs", 4), "signal"),
    ("projection theta nan", lambda: hippo_project(np.ones(4), "legt", 4, theta=NAN), "theta"),
    ("projection dt <= 0", lambda: hippo_project(np.ones(4), "legt", 4, dt=0.0), "dt"),
    ("basis x nan", lambda: hippo_basis("legs", 4, [NAN]), "x"),
    ("basis x outside", lambda: hippo_basis("legt", 4, [1.5]), "x"),
    ("basis lag < 0", lambda: hippo_basis("lagt", 4, [-1.0]), "x"),
]
# NaN / inf in A or B are refused by every method (zoh and forward used to pass them through)
CASES += [
    (f"A nan {m}", lambda m=m: discretize(np.full((2, 2), NAN), np.ones(2), 0.1, m), "A")
    for m in DISCRETIZATIONS
]
CASES += [
    (f"B inf {m}", lambda m=m: discretize(-np.eye(2), np.array([1.0, INF]), 0.1, m), "B")
    for m in DISCRETIZATIONS
]


@pytest.mark.parametrize(("label", "call", "name"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_names_the_argument(label, call, name):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{name}:") or message.startswith(f"{name},"), message
    assert "expected" in message and "got" in message, message
