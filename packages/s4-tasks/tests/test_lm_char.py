"""Char/byte-level LM on the shipped text and on user files; the Vocab round trip."""

import pytest
import torch

from s4_tasks import DataFormatError, MissingDataError, get_dataset
from s4_tasks.lm import Vocab, shipped_text_path


def test_shipped_text_trains_out_of_the_box():
    data = get_dataset("char", seq_len=128)
    text = shipped_text_path().read_text(encoding="utf-8")
    vocab = data.info["vocab"]
    streams = data.info["streams"]
    assert sum(len(s) for s in streams.values()) == len(text)
    assert vocab.decode(torch.cat([streams["train"], streams["val"], streams["test"]])) == text
    assert len(text) > 100_000 and data.d_input == len(vocab) < 100
    x, y = data.val[0]
    assert x.shape == y.shape == (128,) and torch.equal(x[1:], y[:-1])


def test_contiguous_splits_and_byte_level(tmp_path):
    path = tmp_path / "enwik-like.txt"
    text = "héllo wörld " * 100  # 1200 characters, 1400 bytes
    path.write_text(text, encoding="utf-8")
    data = get_dataset(
        "char", path=str(path), seq_len=8, level="byte", val_fraction=0.1, test_fraction=0.2
    )
    streams = data.info["streams"]
    raw = path.read_bytes()
    assert [len(streams[s]) for s in ("train", "val", "test")] == [980, 140, 280]
    assert bytes(torch.cat([streams["train"], streams["val"], streams["test"]]).tolist()) == raw
    assert data.d_input == 256
    assert data.info["vocab"].decode(streams["train"][:14]) == "héllo wörld "


def test_char_level_unseen_character_and_bad_bytes_named(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("ab" * 50 + "Z" * 20, encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"t\.txt.*'Z'"):
        get_dataset("char", path=str(path), seq_len=4, val_fraction=0.1, test_fraction=0.1)
    path.write_bytes(b"ab\xffcd" * 20)
    with pytest.raises(DataFormatError, match=r"t\.txt.*level='byte'"):
        get_dataset("char", path=str(path), seq_len=4)
    with pytest.raises(MissingDataError, match=r"nope\.txt"):
        get_dataset("char", path=str(tmp_path / "nope.txt"))


def test_vocab_word_roundtrip_and_errors():
    vocab = Vocab.build("b a b <eos> c".split(), "word", ["<eos>", "<unk>"])
    assert vocab.itos == ["<eos>", "<unk>", "b", "a", "c"]
    ids = vocab.encode("a b zzz <eos> c".split())
    assert ids.tolist() == [3, 2, 1, 0, 4]
    assert vocab.decode(ids) == "a b <unk>\nc"
    with pytest.raises(ValueError, match="ids"):
        vocab.decode([7])
    with pytest.raises(DataFormatError, match="'q'"):
        Vocab(["a"], "char").encode("q")
