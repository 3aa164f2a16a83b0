"""The (pole batch, rows) layout used by the chunked torch backend."""

import pytest
import torch

from ssm_kernels._layout import broadcast_shapes, make_layout


def test_rows_and_pole_split_right_aligned():
    layout = make_layout(torch.Size([2, 5, 3]), torch.Size([3]), torch.Size([]))
    assert layout.rows == (2, 5) and layout.pole == (3,)
    assert layout.E == 10 and layout.RB == 3


def test_pole_dims_of_size_one_take_the_full_size():
    layout = make_layout(torch.Size([4, 3]), torch.Size([1, 3]))
    assert layout.rows == () and layout.pole == (4, 3) and layout.E == 1


def test_round_trip_and_no_batch():
    layout = make_layout(torch.Size([2, 3]), torch.Size([3]))
    t = torch.randn(2, 3, 7)
    assert torch.equal(layout.restore(layout.rows_first(t)), t)
    empty = make_layout(torch.Size([]), torch.Size([]))
    assert empty.RB == 1 and empty.E == 1
    assert empty.rows_first(torch.randn(5)).shape == (1, 1, 5)


def test_rows_first_puts_the_pole_batch_first():
    layout = make_layout(torch.Size([2, 3]), torch.Size([3]))
    t = torch.arange(2 * 3 * 1).reshape(2, 3, 1)
    out = layout.rows_first(t)
    assert out.shape == (3, 2, 1)
    assert out[1, 0, 0] == t[0, 1, 0] and out[2, 1, 0] == t[1, 2, 0]
    assert layout.pole_only(torch.randn(1, 4)).shape == (3, 4)


@pytest.mark.parametrize(
    "shapes",
    [
        ((64, 64, 40), (64, 40)),
        ((2, 1, 3), (4, 1), (3,)),
        ((0, 3), (1, 3)),  # an empty batch broadcasts against 1
        ((5,), ()),
        ((),),
        ((1, 1), (1,)),
    ],
)
def test_broadcast_shapes_is_torchs(shapes):
    assert broadcast_shapes(*shapes) == torch.broadcast_shapes(*shapes)


@pytest.mark.parametrize("shapes", [((2, 3), (4, 3)), ((0,), (5,)), ((3, 2), (2, 2, 3))])
def test_broadcast_shapes_refuses_what_torch_refuses(shapes):
    with pytest.raises(RuntimeError):
        torch.broadcast_shapes(*shapes)
    with pytest.raises(RuntimeError, match="Shape mismatch"):
        broadcast_shapes(*shapes)
