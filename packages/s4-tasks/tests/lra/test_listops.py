"""ListOps: generator, evaluator, tokeniser, release-TSV reader and padded items."""

from __future__ import annotations

import statistics
from collections import Counter

import numpy as np
import pytest
import torch

from s4_tasks import get_dataset
from s4_tasks.base import DataFormatError, MissingDataError
from s4_tasks.lra.listops import (
    LISTOPS_VOCAB,
    evaluate_listops,
    generate_listops,
    listops,
    read_listops_tsv,
    tokenize_listops,
)

SMALL = {"max_length": 64, "min_length": 8, "max_depth": 4, "max_args": 5}


def independent_eval(tokens: list[str]) -> int:
    """Recursive-descent evaluator, written separately from the stack one under test."""
    tokens = [t for t in tokens if t not in ("(", ")")]

    def parse(i: int) -> tuple[int, int]:
        tok = tokens[i]
        if tok.isdigit():
            return int(tok), i + 1
        args, i = [], i + 1
        while tokens[i] != "]":
            value, i = parse(i)
            args.append(value)
        ops = {
            "[MIN": min,
            "[MAX": max,
            "[MED": lambda a: int(statistics.median(a)),
            "[SM": lambda a: sum(a) % 10,
        }
        return ops[tok](args), i + 1

    value, end = parse(0)
    assert end == len(tokens)
    return value


def test_evaluator_on_hand_examples() -> None:
    assert evaluate_listops("[MAX 2 9 [MIN 4 7 ] 0 ]".split()) == 9
    assert evaluate_listops("[SM 5 6 [MED 1 2 3 4 ] ]".split()) == 3  # 5+6+int(2.5)=13
    assert evaluate_listops("( ( [MIN 3 ) 8 ) ]".split()) == 3
    with pytest.raises(ValueError, match="incomplete"):
        evaluate_listops("[MAX 2 9".split())


def test_generator_matches_independent_evaluator_and_limits() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        tokens = generate_listops(rng, min_length=8, max_length=64, max_depth=4, max_args=5)
        assert 8 <= len(tokens) <= 64
        assert evaluate_listops(tokens) == independent_eval(tokens)
        depth = max_depth_seen = 0
        for t in tokens:
            depth += t.startswith("[") - (t == "]")
            max_depth_seen = max(max_depth_seen, depth)
        assert max_depth_seen <= 4


def test_generator_is_deterministic_per_seed() -> None:
    a = listops(seed=3, n_train=5, n_val=2, n_test=2, **SMALL)
    b = listops(seed=3, n_train=5, n_val=2, n_test=2, **SMALL)
    c = listops(seed=4, n_train=5, n_val=2, n_test=2, **SMALL)
    for i in range(5):
        for u, v in zip(a.train[i], b.train[i]):
            assert torch.equal(u, v)
    assert any(not torch.equal(a.train[i][0], c.train[i][0]) for i in range(5))
    assert not torch.equal(a.train[0][0], a.val[0][0])  # splits draw from distinct streams


def test_label_distribution_of_full_size_generator() -> None:
    # Documented: with the default grammar (500-2000 tokens, depth 10, 10 args) every class
    # occurs; 0 is the most frequent (MIN and SM favour it), ~15-20%, none above 30%.
    data = listops(n_train=300, n_val=1, n_test=1, seed=0)
    counts = Counter(int(data.train[i][1]) for i in range(300))
    assert set(counts) == set(range(10))
    assert max(counts.values()) / 300 < 0.3
    assert counts.most_common(1)[0][0] == 0


def test_items_are_padded_with_lengths() -> None:
    data = get_dataset("listops", n_train=4, n_val=2, n_test=2, **SMALL)
    assert data.d_input == len(LISTOPS_VOCAB) == 16 and data.d_output == 10
    for i in range(4):
        x, y, length = data.train[i]
        assert x.shape == (64,) and x.dtype == torch.int64
        n = int(length)
        assert (x[n:] == 0).all() and (x[:n] > 0).all()
        tokens = [LISTOPS_VOCAB[t] for t in x[:n].tolist()]
        assert int(y) == independent_eval(tokens)


def write_tsv(path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["Source\tTarget"] + [f"{s}\t{t}" for s, t in rows]
    path.write_text("\n".join(lines) + "\n")


def test_reader_of_release_layout(tmp_path) -> None:
    rows = [("( ( ( [MAX 2 ) 9 ) ]", 9), ("( ( [SM 5 ) 7 ) ]", 2), ("( [MIN 4 ) ]", 4)]
    for split in ("train", "val", "test"):
        write_tsv(tmp_path / "listops-1000" / f"basic_{split}.tsv", rows)
    data = listops(root=str(tmp_path), max_length=16)
    assert len(data.train) == 3 and data.info["source"].endswith("listops-1000")
    x, y, length = data.train[0]
    assert int(length) == 4 and int(y) == 9
    assert x[:4].tolist() == tokenize_listops("[MAX 2 9 ]").tolist()


def test_reader_errors_name_the_file(tmp_path) -> None:
    bad = tmp_path / "basic_train.tsv"
    write_tsv(bad, [("( [MAX 2 ) ]", 2), ("[MAX 2 FOO ]", 1)])
    with pytest.raises(DataFormatError, match=r"basic_train.tsv:3"):
        read_listops_tsv(bad, 16)
    bad.write_text("Source\tTarget\n[MAX 2 ]")  # truncated: no label column
    with pytest.raises(DataFormatError, match=r"basic_train\.tsv:2: expected 2 columns"):
        read_listops_tsv(bad, 16)
    write_tsv(bad, [("[MAX 2 3 4 5 ]", 5)])
    with pytest.raises(DataFormatError, match=r"1\.\.4 tokens"):
        read_listops_tsv(bad, 4)
    with pytest.raises(MissingDataError, match=r"basic_val\.tsv.*lra_release\.gz"):
        listops(root=str(tmp_path))


def test_builder_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="min_length"):
        listops(min_length=100, max_length=50)
    with pytest.raises(ValueError, match="max_args"):
        listops(max_args=1)
