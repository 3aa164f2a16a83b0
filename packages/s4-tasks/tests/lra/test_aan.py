"""AAN retrieval reader on tiny release-format TSVs written by the test."""

from __future__ import annotations

import pytest

from s4_tasks import get_dataset
from s4_tasks.base import DataFormatError, MissingDataError
from s4_tasks.lra.aan import SPLIT_FILES, aan

ROWS = [
    ("1", "a1", "b1", "We cite prior work on trees.", "Trees, a study."),
    ("0.0", "a2", "b2", 'A "quoted" title here', "Unrelated paper text " * 5),
]


def write_tsv(folder, rows=ROWS):
    folder.mkdir(parents=True, exist_ok=True)
    for fname in SPLIT_FILES.values():
        (folder / fname).write_text("".join("\t".join(r) + "\n" for r in rows))


def test_pairs_are_bytes_padded_with_two_lengths(tmp_path) -> None:
    write_tsv(tmp_path / "lra_release" / "tsv_data")
    data = get_dataset("aan", root=str(tmp_path), max_length=24)
    assert data.info["pair"] and data.d_input == 257 and len(data.train) == 2
    for i, row in enumerate(ROWS):
        x, y, lengths = data.test[i]
        assert x.shape == (2, 24) and lengths.shape == (2,)
        assert int(y) == int(float(row[0]))
        for doc in range(2):
            n = int(lengths[doc])
            assert bytes((x[doc, :n] - 1).tolist()) == row[3 + doc].encode()[:24]
            assert (x[doc, n:] == 0).all()


def test_errors_name_the_file(tmp_path) -> None:
    write_tsv(tmp_path, [*ROWS, ("1", "a3", "b3", "only one text")])
    with pytest.raises(DataFormatError, match=r"new_aan_pairs\.train\.tsv:3: expected 5"):
        aan(root=str(tmp_path))
    write_tsv(tmp_path, [("yes", "a", "b", "t1", "t2")])
    with pytest.raises(DataFormatError, match=r"train\.tsv:1: bad label"):
        aan(root=str(tmp_path))
    with pytest.raises(MissingDataError, match=r"new_aan_pairs\.train\.tsv.*lra_release\.gz"):
        aan(root=str(tmp_path / "none"))
