"""IMDB byte-level reader on a tiny aclImdb tree written by the test."""

from __future__ import annotations

import pytest

from s4_tasks import get_dataset
from s4_tasks.base import DataFormatError, MissingDataError
from s4_tasks.lra.imdb import imdb

REVIEWS = {"pos": ["Great film!", "Loved it \u00e9" * 3], "neg": ["Dull.", "Awful " * 10]}


def write_acl(root):
    for split in ("train", "test"):
        for cls, texts in REVIEWS.items():
            d = root / "aclImdb" / split / cls
            d.mkdir(parents=True)
            for k, text in enumerate(texts):
                (d / f"{k}_7.txt").write_text(text, encoding="utf-8")
    return root


def test_bytes_padding_and_truncation(tmp_path) -> None:
    write_acl(tmp_path)
    data = get_dataset("imdb", root=str(tmp_path), max_length=32, val_split=0.25)
    assert data.d_input == 257 and data.l_max == 32
    assert len(data.train) + len(data.val) == 4 and len(data.test) == 4
    seen = {}
    for j in range(len(data.test)):
        x, y, length = data.test[j]
        n = int(length)
        text = bytes((x[:n] - 1).tolist())
        assert (x[n:] == 0).all()
        seen[text] = int(y)
    full = {t.encode(): i for i, c in enumerate(("neg", "pos")) for t in REVIEWS[c]}
    # reviews over 32 bytes keep their first 32 bytes (the stated truncation policy)
    assert seen == {t[:32]: y for t, y in full.items()}


def test_errors_name_the_file(tmp_path) -> None:
    write_acl(tmp_path)
    empty = tmp_path / "aclImdb" / "test" / "neg" / "0_7.txt"
    empty.write_bytes(b"")
    data = imdb(root=str(tmp_path), max_length=16)
    with pytest.raises(DataFormatError, match=r"0_7\.txt: empty"):
        data.test[0]
    with pytest.raises(MissingDataError, match=r"aclImdb/train/"):
        imdb(root=str(tmp_path / "missing"))
