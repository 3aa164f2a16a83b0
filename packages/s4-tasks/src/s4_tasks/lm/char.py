"""Character- or byte-level language modelling on any text file (enwik8 / text8 style).

The file is read whole and split contiguously: the first ``1 - val - test`` of it is train,
then val, then test (enwik8's 90M/5M/5M is ``val_fraction=test_fraction=0.05``).

- ``level="byte"``: ids are the UTF-8 byte values, vocab 256 (enwik8 convention).
- ``level="char"``: ids index the distinct characters of the train split, ordered by code
  point; a val/test character unseen in train is a DataFormatError naming the file.

With ``path=None`` the text shipped with the package (``s4_tasks/data/tiny_prose.txt``, a
public-domain generated English prose of about 200 KB) is used, so an LM trains on a fresh
clone with no download.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from s4_tasks.base import (
    DataFormatError,
    SequenceDataset,
    check_choice,
    check_fraction,
    check_int,
    missing_data,
)
from s4_tasks.lm.streams import lm_task
from s4_tasks.lm.vocab import LEVELS, Vocab

SHIPPED_TEXT = "tiny_prose.txt"


def shipped_text_path() -> Path:
    """Path of the text shipped with the package."""
    return Path(str(resources.files("s4_tasks") / "data" / SHIPPED_TEXT))


def char(
    *,
    path: str | None = None,
    seq_len: int = 256,
    level: str = "char",
    val_fraction: float = 0.05,
    test_fraction: float = 0.05,
) -> SequenceDataset:
    """Next-character task on ``path`` (default: the shipped text); x, y int64 ``(seq_len,)``."""
    check_int("seq_len", seq_len, 1)
    check_choice("level", level, [lv for lv in LEVELS if lv != "word"])
    fractions = (
        check_fraction("val_fraction", val_fraction),
        check_fraction("test_fraction", test_fraction),
    )
    if sum(fractions) >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction: expected < 1, got {fractions[0]} + {fractions[1]}"
        )
    file = shipped_text_path() if path is None else Path(path)
    if not file.is_file():
        raise missing_data("char", file.parent, file.name)
    data = file.read_bytes()
    if level == "char":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataFormatError(
                f"{file}: expected UTF-8 text for level='char', got undecodable bytes ({err}); "
                "use level='byte' for binary data"
            ) from err
        units: str | bytes = text
    else:
        units = data
    n = len(units)
    n_val, n_test = round(fractions[0] * n), round(fractions[1] * n)
    n_train = n - n_val - n_test
    pieces = {
        "train": units[:n_train],
        "val": units[n_train : n_train + n_val],
        "test": units[n_train + n_val :],
    }
    if level == "byte":
        vocab = Vocab.bytes()
    else:
        vocab = Vocab(sorted(set(pieces["train"])), "char")
    streams = {
        split: vocab.encode(piece, where=f"{file} ({split} split)")
        for split, piece in pieces.items()
    }
    return lm_task("char", streams, vocab, seq_len, path=str(file), level=level)
