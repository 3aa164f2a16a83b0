"""Dropout variants of the original: tied along the sequence, and stochastic depth."""

from __future__ import annotations

import threading

import numpy as np
import torch
from torch import nn

from s4_layers._checks import S4InputError


def _check_p(name: str, p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise S4InputError(f"{name}: expected a probability in [0, 1), got {p!r}")
    return float(p)


def _apply_mask(x: torch.Tensor, keep: torch.Tensor, p: float) -> torch.Tensor:
    """x * keep / (1 - p). The mask is scaled while it is small (one value per kept track), so
    the full-size x is multiplied once, in the forward and in the backward; 16-bit x divides
    itself instead (a 16-bit 1 / (1 - p) would bias every kept value by its rounding)."""
    if x.element_size() < 4:
        return x * keep / (1.0 - p)
    return x * (keep.to(x.dtype) / (1.0 - p))


_MASK_BITS = 16  # uniform bits per element of a CPU dropout mask (see _keep_mask)
_local = threading.local()  # one bit generator per thread (its state is set every call)


def _random_words(n: int) -> torch.Tensor:
    """n uniform 64-bit words (int64), from numpy's SFC64 generator keyed by three draws of
    torch's generator: ``torch.manual_seed`` and torch's RNG state govern them, as they
    govern torch's own masks. Why not torch's ``random_``: its mt19937 yields 64 bits in
    ~3.4 ns here, SFC64 in ~1.7 ns (measured: 20480 words 70 against 34 us), and the bits are
    most of a short-sequence dropout's cost."""
    generator = getattr(_local, "generator", None)
    if generator is None:
        generator = _local.generator = np.random.SFC64(0)
    key = torch.empty(3, dtype=torch.int64).random_().tolist()  # 3 x 63 bits of torch's
    # any state is a valid SFC64 state (the fourth word is its counter): no warm-up is needed
    # for one drawn uniformly at random
    generator.state = {
        "bit_generator": "SFC64",
        "state": {"state": np.array([*key, 1], dtype=np.uint64)},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return torch.from_numpy(generator.random_raw(n).view(np.int64))


def _keep_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """A dropout mask for x on CPU: 1 / (1 - p') where kept, 0 where dropped, laid out as x.

    Each element reads 16 uniform bits (a quarter of a word of :func:`_random_words`) as a
    signed int16 s, uniform on [-2^15, 2^15), and is kept where s >= t - 2^15 with
    t = round(p 2^16): it is dropped with probability p' = t / 2^16 (|p' - p| <= 2^-17, far
    below the mask's own sampling noise) and kept values are scaled by 1 / (1 - p'), which
    keeps E[mask] = 1 exactly. One draw per four elements is ~6x faster than the
    ``bernoulli_`` of ``F.dropout``.
    """
    n = x.numel()
    threshold = round(p * 2**_MASK_BITS)
    lanes = _random_words((n + 3) // 4).view(torch.int16)[:n]
    keep = lanes.ge_(threshold - 2 ** (_MASK_BITS - 1))  # in place: 0 / 1 as int16
    dtype = x.dtype if x.is_floating_point() else torch.float32
    mask = keep.to(dtype).mul_(2**_MASK_BITS / (2**_MASK_BITS - threshold))
    # in x's memory order (a mask of another layout makes the product a strided loop)
    order = sorted(range(x.dim()), key=lambda i: -x.stride(i))
    physical = mask.view([x.shape[i] for i in order])
    return physical.permute([order.index(i) for i in range(x.dim())])


class Dropout(nn.Dropout):
    """``nn.Dropout``: each element kept with probability 1 - p and scaled to keep its mean
    (same ``p`` and ``inplace``; an ``nn.Dropout`` subclass), with a faster CPU mask.

    On CPU ``F.dropout`` draws one ``bernoulli_`` per element, and a short-sequence training
    step has a few dropouts per layer; :func:`_keep_mask` draws 16 bits per element instead
    (p to within 2^-17). Other devices (fused kernels), complex inputs and evaluation go to
    ``nn.Dropout`` itself.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cpu_mask = x.device.type == "cpu" and not x.is_complex()
        # a p above 1 - 2^-16 (that 16 bits round to 1, or next to it) keeps (almost) nothing:
        # nn.Dropout's case
        if not self.training or self.p == 0.0 or not cpu_mask or self.p > 1 - 2.0**-16:
            return super().forward(x)
        mask = _keep_mask(x, self.p)
        return x.mul_(mask) if self.inplace else x * mask


class TiedDropout(nn.Module):
    """Dropout with one mask per (batch, feature), shared by every position of the sequence
    (the original's ``DropoutNd``, i.e. ``nn.Dropout1d``'s rule, scaled by 1 / (1 - p)).

    x: (B, H, L) if ``transposed`` else (B, L, H); a (B, H) step input gets a fresh mask.
    """

    def __init__(self, p: float = 0.5, transposed: bool = True) -> None:
        super().__init__()
        self.p, self.transposed = _check_p("dropout", p), transposed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.dim() <= 2:
            shape = x.shape
        elif self.transposed:
            shape = (*x.shape[:2], *([1] * (x.dim() - 2)))
        else:
            shape = (x.shape[0], *([1] * (x.dim() - 2)), x.shape[-1])
        keep = torch.rand(shape, device=x.device) < 1.0 - self.p
        return _apply_mask(x, keep, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, transposed={self.transposed}"


def make_dropout(p: float, tie: bool = False, transposed: bool = True) -> nn.Module:
    """Identity for p = 0, :class:`TiedDropout` when ``tie``, else :class:`Dropout` (an
    ``nn.Dropout``)."""
    p = _check_p("dropout", p)
    if p == 0.0:
        return nn.Identity()
    return TiedDropout(p, transposed=transposed) if tie else Dropout(p)


class StochasticDepth(nn.Module):
    """Drop a whole residual branch with probability p (Huang et al. 2016), scaling the kept
    ones by 1 / (1 - p). mode "row": one draw per batch element; "batch": one for the batch."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        if mode not in ("row", "batch"):
            raise S4InputError(f"mode: expected one of ['row', 'batch'], got {mode!r}")
        self.p, self.mode = _check_p("drop_path", p), mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        shape = (x.shape[0],) + (1,) * (x.dim() - 1) if self.mode == "row" else (1,) * x.dim()
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
        return _apply_mask(x, keep, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"
