"""Decoders: (B, L, d_model) features -> predictions.

- class / regression: pool over L, then a linear map: (B, L, d_model) -> (B, d_output), with
  pool "last" (h[:, -1]), "mean" (1/L sum_l h[:, l]) or "sum" (sum_l h[:, l]). With
  ``lengths`` (B,) (padded token tasks) only the steps l < lengths[b] count: "last" takes
  h[b, lengths[b] - 1], "mean" divides by lengths[b].
- seq_class: the last ``l_output`` steps, each mapped linearly:
  (B, L, d_model) -> (B, l_output, d_output) (all L steps when ``l_output`` is None).
"""

from __future__ import annotations

import torch
from torch import nn

POOLS = ("last", "mean", "sum")
OUTPUT_KINDS = ("class", "seq_class", "regression")


def pool_sequence(h: torch.Tensor, pool: str, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """(B, L, D) -> (B, D) by ``pool`` in {"last", "mean", "sum"}; ``lengths`` (B,) masks
    the padded steps l >= lengths[b] out of every pool."""
    if lengths is not None:
        return _pool_valid(h, pool, lengths)
    if pool == "last":
        return h[:, -1]
    if pool == "mean":
        return h.mean(dim=1)
    if pool == "sum":
        return h.sum(dim=1)
    raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")


def _pool_valid(h: torch.Tensor, pool: str, lengths: torch.Tensor) -> torch.Tensor:
    B, L, _ = h.shape
    lengths = lengths.to(device=h.device, dtype=torch.long).reshape(-1)
    if lengths.shape[0] != B or bool((lengths < 1).any()) or bool((lengths > L).any()):
        raise ValueError(f"lengths: expected {B} values in [1, {L}], got {lengths.tolist()}")
    if pool == "last":
        return h[torch.arange(B, device=h.device), lengths - 1]
    # valid[b, l] = 1 if l < lengths[b]: padded steps contribute exactly zero
    valid = (torch.arange(L, device=h.device)[None, :] < lengths[:, None]).to(h.dtype)
    total = torch.einsum("bld,bl->bd", h, valid)
    if pool == "sum":
        return total
    if pool == "mean":
        return total / lengths[:, None].to(h.dtype)
    raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")


class PooledDecoder(nn.Module):
    """(B, L, d_model) -> pool over L -> linear -> (B, d_output)."""

    def __init__(self, d_model: int, d_output: int, pool: str):
        super().__init__()
        self.d_model, self.pool = d_model, pool
        self.output = nn.Linear(d_model, d_output)

    def forward(self, h: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if h.dim() != 3 or h.shape[-1] != self.d_model:
            raise ValueError(f"decoder expects (B, L, {self.d_model}), got {tuple(h.shape)}")
        return self.output(pool_sequence(h, self.pool, lengths))


class SequenceDecoder(nn.Module):
    """(B, L, d_model) -> the last ``l_output`` steps -> linear -> (B, l_output, d_output)."""

    def __init__(self, d_model: int, d_output: int, l_output: int | None):
        super().__init__()
        self.d_model, self.l_output = d_model, l_output
        self.output = nn.Linear(d_model, d_output)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.dim() != 3 or h.shape[-1] != self.d_model:
            raise ValueError(f"decoder expects (B, L, {self.d_model}), got {tuple(h.shape)}")
        if self.l_output is not None:
            if h.shape[1] < self.l_output:
                raise ValueError(
                    f"sequence decoder needs L >= l_output={self.l_output}, got L={h.shape[1]}"
                )
            h = h[:, h.shape[1] - self.l_output :]
        return self.output(h)


class RetrievalDecoder(nn.Module):
    """Two-tower comparison (LRA retrieval): (B, L, D) x 2 -> (B, d_output).

    u = pool(h1), v = pool(h2) (length-aware); z = [u, v, u * v, u - v] (B, 4D);
    out = W2 gelu(W1 z + b1) + b2 with a hidden width ``d_hidden`` (default D).
    """

    def __init__(self, d_model: int, d_output: int, pool: str, d_hidden: int | None = None):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        self.d_model, self.pool = d_model, pool
        d_hidden = d_hidden or d_model
        self.mlp = nn.Sequential(
            nn.Linear(4 * d_model, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_output)
        )

    def forward(
        self,
        h1: torch.Tensor,
        h2: torch.Tensor,
        lengths1: torch.Tensor | None = None,
        lengths2: torch.Tensor | None = None,
    ) -> torch.Tensor:
        for name, h in (("h1", h1), ("h2", h2)):
            if h.dim() != 3 or h.shape[-1] != self.d_model:
                raise ValueError(f"{name}: expected (B, L, {self.d_model}), got {tuple(h.shape)}")
        u = pool_sequence(h1, self.pool, lengths1)
        v = pool_sequence(h2, self.pool, lengths2)
        return self.mlp(torch.cat([u, v, u * v, u - v], dim=-1))


def build_decoder(
    output_kind: str,
    d_model: int,
    d_output: int,
    pool: str = "last",
    l_output: int | None = None,
) -> nn.Module:
    """Decoder for ``output_kind`` in {"class", "regression", "seq_class"} (see module doc)."""
    if output_kind not in OUTPUT_KINDS:
        raise ValueError(f"output_kind must be one of {OUTPUT_KINDS}, got {output_kind!r}")
    for name, value in (("d_model", d_model), ("d_output", d_output)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if output_kind == "seq_class":
        if l_output is not None and (
            not isinstance(l_output, int) or isinstance(l_output, bool) or l_output < 1
        ):
            raise ValueError(f"l_output must be None or a positive int, got {l_output!r}")
        return SequenceDecoder(d_model, d_output, l_output)
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    return PooledDecoder(d_model, d_output, pool)


class AdaptiveSoftmax(nn.Module):
    """Adaptive softmax (Grave et al. 2017): ``(B, L, d_model)`` -> log-probs ``(B, L, V)``.

    The head scores the ``cutoffs[0]`` frequent words plus one entry per tail cluster; a word
    w in tail cluster i is scored through that entry::

        log p(w) = log softmax(head(h))[w]                                  (head words)
        log p(w) = log softmax(head(h))[c0 + i] + log softmax(tail_i(P_i h))[w - start_i]

    with ``P_i: d_model -> d_i`` (``d_i = d_model // div_val**i``). With no cutoffs it is the
    full softmax of one linear map. ``tie_to`` (an ``encoders.AdaptiveInput`` with the same
    clusters) shares each cluster's output matrix with its input embedding and ``P_i`` with
    the transposed input projection. The output already is normalised log-probabilities, so
    a cross-entropy over it (log_softmax of log-probs is the identity) gives the NLL.
    """

    def __init__(
        self,
        d_model: int,
        vocab: int,
        cutoffs: list[int],
        div_val: float = 4.0,
        tie_to: nn.Module | None = None,
    ):
        super().__init__()
        from s4_tasks.encoders import adaptive_clusters

        self.d_model, self.vocab = d_model, vocab
        self.clusters = adaptive_clusters(vocab, list(cutoffs), d_model, div_val)
        if tie_to is not None and getattr(tie_to, "clusters", None) != self.clusters:
            raise ValueError(
                f"tie_to: expected an AdaptiveInput with clusters {self.clusters}, "
                f"got {getattr(tie_to, 'clusters', type(tie_to).__name__)}"
            )
        n_tail = len(self.clusters) - 1
        head_words = self.clusters[0][1]
        self.head_proj = nn.Linear(d_model, self.clusters[0][2], bias=False)
        self.word_weights = nn.ParameterList()
        self.word_biases = nn.ParameterList()
        self.tail_proj = nn.ModuleList()
        for i, (lo, hi, d) in enumerate(self.clusters):
            if tie_to is not None:
                weight = tie_to.embeddings[i].weight  # (hi - lo, d)
            else:
                weight = nn.Parameter(torch.randn(hi - lo, d) / d**0.5)
            self.word_weights.append(weight)
            self.word_biases.append(nn.Parameter(torch.zeros(hi - lo)))
            if i > 0:
                self.tail_proj.append(nn.Linear(d_model, d, bias=False))
        if tie_to is not None:
            with torch.no_grad():  # P_i starts as the transposed input projection, then trains
                self.head_proj.weight.copy_(tie_to.projections[0].weight.T)
        self.cluster_logits = nn.Linear(d_model, n_tail) if n_tail else None
        self.head_size = head_words + n_tail

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.shape[-1] != self.d_model:
            raise ValueError(f"h: expected (..., {self.d_model}), got {tuple(h.shape)}")
        head_words = nn.functional.linear(
            self.head_proj(h), self.word_weights[0], self.word_biases[0]
        )
        if self.cluster_logits is None:
            return torch.log_softmax(head_words, dim=-1)
        head = torch.log_softmax(torch.cat([head_words, self.cluster_logits(h)], dim=-1), dim=-1)
        c0 = self.clusters[0][1]
        parts = [head[..., :c0]]
        for i in range(1, len(self.clusters)):
            tail = nn.functional.linear(
                self.tail_proj[i - 1](h), self.word_weights[i], self.word_biases[i]
            )
            # log p(w) = log p(cluster i) + log p(w | cluster i)
            parts.append(head[..., c0 + i - 1 : c0 + i] + torch.log_softmax(tail, dim=-1))
        return torch.cat(parts, dim=-1)
