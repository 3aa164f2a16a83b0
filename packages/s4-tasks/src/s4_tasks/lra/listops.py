"""ListOps (Long Range Arena): evaluate a nested prefix expression over the digits 0-9.

Grammar: ``expr := digit | [OP expr expr ... ]`` with OP in
- MIN, MAX: the smallest / largest argument;
- MED: the median, ``int(median(args))`` (truncated towards zero for an even count, as the
  LRA generator does);
- SM: the sum modulo 10.
The label is the value of the whole expression (10 classes). The LRA release has 96k/2k/2k
train/val/test expressions of 500-2000 tokens, depth <= 10, <= 10 arguments per operator; its
TSV ``Source`` column also carries round brackets from the tree format, which carry no
information and are dropped here (as the S4 pipeline does).

Tokens (fixed vocabulary ``LISTOPS_VOCAB``, pad id 0): ``<pad> 0..9 [MIN [MAX [MED [SM ]``.
Items are ``(x, y, length)``: x int64 ``(max_length,)`` padded with 0, y int64, length int64.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from s4_tasks.base import DataFormatError, SequenceDataset, check_int
from s4_tasks.lra.padding import PaddedTokens, missing_lra, pad_tokens

log = logging.getLogger(__name__)

OPERATORS = ("[MIN", "[MAX", "[MED", "[SM")
CLOSE = "]"
LISTOPS_VOCAB: tuple[str, ...] = ("<pad>", *[str(d) for d in range(10)], *OPERATORS, CLOSE)
TOKEN_ID = {tok: i for i, tok in enumerate(LISTOPS_VOCAB)}
SPLIT_FILES = {"train": "basic_train.tsv", "val": "basic_val.tsv", "test": "basic_test.tsv"}


def _apply(op: str, args: list[int]) -> int:
    if op == "[MIN":
        return min(args)
    if op == "[MAX":
        return max(args)
    if op == "[MED":
        return int(np.median(args))
    # [SM: sum modulo 10
    return sum(args) % 10


def evaluate_listops(tokens: list[str]) -> int:
    """Value of a ListOps expression given as tokens (round brackets ignored)."""
    stack: list[tuple[str, list[int]]] = []
    result: int | None = None
    for tok in tokens:
        if tok in ("(", ")"):
            continue
        if tok in OPERATORS:
            stack.append((tok, []))
        elif tok == CLOSE:
            if not stack:
                raise ValueError(f"tokens: unbalanced ']' in {' '.join(tokens)[:80]!r}")
            op, args = stack.pop()
            value = _apply(op, args)
            if stack:
                stack[-1][1].append(value)
            else:
                result = value
        elif tok.isdigit() and len(tok) == 1:
            if stack:
                stack[-1][1].append(int(tok))
            else:
                result = int(tok)
        else:
            raise ValueError(f"tokens: unknown ListOps token {tok!r}")
    if stack or result is None:
        raise ValueError(f"tokens: incomplete expression {' '.join(tokens)[:80]!r}")
    return result


def tokenize_listops(source: str) -> np.ndarray:
    """A ``Source`` string -> int64 token ids (round brackets dropped; unknown token: KeyError)."""
    return np.asarray([TOKEN_ID[t] for t in source.split() if t not in ("(", ")")], np.int64)


def _grow(rng: np.random.Generator, depth: int, p: dict[str, float | int], out: list[str]) -> None:
    """Append one random expression to ``out``; stop early once ``out`` exceeds the budget."""
    out.append(OPERATORS[rng.integers(len(OPERATORS))])
    n_args = int(rng.integers(2, int(p["max_args"]) + 1))
    for _ in range(n_args):
        if len(out) > p["max_length"]:
            return
        if depth + 1 < p["max_depth"] and rng.random() < p["branch"]:
            _grow(rng, depth + 1, p, out)
        else:
            out.append(str(int(rng.integers(10))))
    out.append(CLOSE)


def generate_listops(
    rng: np.random.Generator,
    *,
    min_length: int = 500,
    max_length: int = 2000,
    max_depth: int = 10,
    max_args: int = 10,
    branch: float = 0.25,
    max_tries: int = 10_000,
) -> list[str]:
    """One random expression of ``min_length..max_length`` tokens (rejection sampling).

    Each operator takes ``U{2..max_args}`` arguments; each argument is a sub-expression with
    probability ``branch`` while the depth is below ``max_depth``, else a digit ``U{0..9}``.
    """
    params = {"max_length": max_length, "max_depth": max_depth, "max_args": max_args}
    params["branch"] = branch
    for _ in range(max_tries):
        out: list[str] = []
        _grow(rng, 0, params, out)
        if min_length <= len(out) <= max_length and out[-1] == CLOSE:
            return out
    raise ValueError(
        f"min_length/max_length: no expression of {min_length}..{max_length} tokens in "
        f"{max_tries} tries with branch={branch}, max_depth={max_depth}, max_args={max_args}"
    )


class GeneratedListOps:
    """Split of ``n`` generated items; item i is drawn from the seed ``(seed, split, i)``."""

    def __init__(self, n: int, split_id: int, seed: int, l_max: int, gen: dict) -> None:
        self.n, self.split_id, self.seed, self.l_max, self.gen = n, split_id, seed, l_max, gen

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        import torch

        if not -self.n <= i < self.n:
            raise IndexError(f"index {i} out of range for a split of {self.n} items")
        rng = np.random.default_rng([self.seed, self.split_id, i % self.n])
        tokens = generate_listops(rng, max_length=self.l_max, **self.gen)
        x, length = pad_tokens(tokenize_listops(" ".join(tokens)), self.l_max)
        return x, torch.tensor(evaluate_listops(tokens), dtype=torch.int64), length


def read_listops_tsv(path: Path | str, max_length: int) -> tuple[list[np.ndarray], list[int]]:
    """Token ids and labels of one release TSV (header ``Source<TAB>Target``).

    Expressions longer than ``max_length`` raise DataFormatError (never silently truncated).
    """
    path = Path(path)
    sequences: list[np.ndarray] = []
    labels: list[int] = []
    with path.open(newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["Source", "Target"]:
            raise DataFormatError(f"{path}: expected header 'Source<TAB>Target', got {header!r}")
        for line, row in enumerate(reader, start=2):
            if len(row) != 2:
                raise DataFormatError(f"{path}:{line}: expected 2 columns, got {len(row)}")
            try:
                ids = tokenize_listops(row[0])
                label = int(row[1])
            except (KeyError, ValueError) as err:
                raise DataFormatError(f"{path}:{line}: bad ListOps row ({err})") from err
            if not 0 <= label <= 9 or not 1 <= len(ids) <= max_length:
                raise DataFormatError(
                    f"{path}:{line}: expected label 0..9 and 1..{max_length} tokens, got "
                    f"label {label} and {len(ids)} tokens"
                )
            sequences.append(ids)
            labels.append(label)
    if not sequences:
        raise DataFormatError(f"{path}: no examples")
    return sequences, labels


def listops(
    *,
    root: str | None = None,
    max_length: int = 2000,
    min_length: int = 500,
    max_depth: int = 10,
    max_args: int = 10,
    n_train: int = 96000,
    n_val: int = 2000,
    n_test: int = 2000,
    seed: int = 0,
) -> SequenceDataset:
    """ListOps from the release TSVs under ``root`` (``[lra_release/]listops-1000/basic_*.tsv``
    or that folder itself), or, with ``root=None``, generated from ``seed``: ``n_*`` items per
    split of ``min_length..max_length`` tokens (``min_length``, ``max_depth``, ``max_args``
    and ``n_*`` apply to the generator only)."""
    max_length = check_int("max_length", max_length, 2)
    if root is None:
        min_length = check_int("min_length", min_length, 1)
        if min_length > max_length:
            raise ValueError(f"min_length: expected <= max_length={max_length}, got {min_length}")
        gen = {
            "min_length": min_length,
            "max_depth": check_int("max_depth", max_depth, 1),
            "max_args": check_int("max_args", max_args, 2),
        }
        sizes = [
            check_int(n, v, 1)
            for n, v in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test))
        ]
        log.warning(
            "listops: no dataset.root given, using GENERATED ListOps (seed=%d, %d/%d/%d items, "
            "%d..%d tokens); pass dataset.root=DIR for the LRA release files",
            seed,
            *sizes,
            min_length,
            max_length,
        )
        splits = [GeneratedListOps(n, k, seed, max_length, gen) for k, n in enumerate(sizes)]
        source = "generated"
    else:
        folder = Path(root)
        if (folder / "lra_release").is_dir():
            folder = folder / "lra_release"
        if (folder / "listops-1000").is_dir():
            folder = folder / "listops-1000"
        splits = []
        for split, fname in SPLIT_FILES.items():
            if not (folder / fname).is_file():
                raise missing_lra("listops", root, f"{split} split file {fname}")
            splits.append(PaddedTokens(*read_listops_tsv(folder / fname, max_length), max_length))
        source = str(folder)
    return SequenceDataset(
        *splits,
        d_input=len(LISTOPS_VOCAB),
        d_output=10,
        l_max=max_length,
        input_kind="token",
        output_kind="class",
        l_output=None,
        name="listops",
        chance=0.1,
        classes=[str(d) for d in range(10)],
        info={"source": source, "padded": True, "pad_id": 0, "vocab": list(LISTOPS_VOCAB)},
    )
