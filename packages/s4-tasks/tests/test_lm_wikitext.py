"""WikiText readers and the vocabulary cache on tiny files in the released format."""

import json

import pytest
import torch

from s4_tasks import DataFormatError, MissingDataError, get_dataset
from s4_tasks.lm import Vocab, read_tokens

TRAIN = " = Valkyria = \n\n the game began in 2011 . \n the game <unk> again .\n"
VALID = " the game began .\n a new word appears \n"
TEST = " = Valkyria = \n the game .\n"


def _write(folder, train=TRAIN, valid=VALID, test=TEST):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"wiki.{name}.tokens").write_text(text, encoding="utf-8")
    return folder


def _brute_force_stream(text, stoi):
    ids = []
    for line in text.splitlines(keepends=True):
        for word in line.split():
            ids.append(stoi.get(word, stoi["<unk>"]))
        ids.append(stoi["<eos>"])
    return ids


def test_wikitext_streams_vocab_and_windows(tmp_path):
    _write(tmp_path / "wikitext-2")
    data = get_dataset("wikitext2", root=str(tmp_path), seq_len=4)
    vocab = data.info["vocab"]
    assert vocab.itos[:2] == ["<eos>", "<unk>"]
    # After the specials: by decreasing train count (2 each here), ties in token order.
    assert vocab.itos[2:6] == [".", "=", "game", "the"]
    for split, text in (("train", TRAIN), ("val", VALID), ("test", TEST)):
        stream = data.info["streams"][split]
        assert stream.tolist() == _brute_force_stream(text, vocab.stoi)
    # "a new word appears" is not in train: unk.
    assert vocab.decode(data.info["streams"]["val"][4:9]) == "\n<unk> <unk> <unk> <unk>"
    stream = data.info["streams"]["train"]
    assert len(data.train) == (len(stream) - 1) // 4
    for i in range(len(data.train)):
        x, y = data.train[i]
        assert torch.equal(x, stream[4 * i : 4 * i + 4])
        assert torch.equal(y, stream[4 * i + 1 : 4 * i + 5])
    assert data.d_input == data.d_output == len(vocab)
    assert data.output_kind == "seq_class" and data.l_output == 4


def test_vocab_cache_is_keyed_by_checksum(tmp_path):
    root = _write(tmp_path)
    first = get_dataset("wikitext103", root=str(root), seq_len=2).info["vocab"]
    caches = list(root.glob(".s4_vocab_*.json"))
    assert len(caches) == 1
    assert Vocab.from_json(json.loads(caches[0].read_text())) == first
    # A corrupt cache is rebuilt rather than trusted.
    caches[0].write_text("{not json")
    assert get_dataset("wikitext103", root=str(root), seq_len=2).info["vocab"] == first
    # An edited train file gets a new key: the stale vocabulary is not served.
    _write(root, train=TRAIN + " zebra zebra zebra zebra \n")
    second = get_dataset("wikitext103", root=str(root), seq_len=2).info["vocab"]
    assert second.itos[2] == "zebra" and "zebra" not in first.stoi
    assert len(list(root.glob(".s4_vocab_*.json"))) == 2


def test_token_streams_are_cached_and_invalidated(tmp_path):
    root = _write(tmp_path)
    first = get_dataset("wikitext2", root=str(root), seq_len=2).info["streams"]
    assert len(list(root.glob(".s4_tokens_*.npy"))) == 3
    again = get_dataset("wikitext2", root=str(root), seq_len=2).info["streams"]
    for split in first:
        assert torch.equal(first[split], again[split]) and again[split].dtype == torch.int64
    _write(root, test=" the the game .\n")
    changed = get_dataset("wikitext2", root=str(root), seq_len=2).info["streams"]
    assert torch.equal(changed["train"], first["train"])
    assert len(changed["test"]) == 5 and not torch.equal(changed["test"], first["test"])


def test_wikitext_missing_and_corrupt_files_named(tmp_path):
    with pytest.raises(MissingDataError, match=r"wiki\.train\.tokens"):
        get_dataset("wikitext2", root=str(tmp_path))
    root = _write(tmp_path / "w")
    (root / "wiki.test.tokens").unlink()
    with pytest.raises(MissingDataError, match=r"wiki\.test\.tokens"):
        get_dataset("wikitext2", root=str(root))
    root = _write(tmp_path / "c")
    (root / "wiki.valid.tokens").write_bytes(b"the game \xff\xfe\n")
    with pytest.raises(DataFormatError, match=r"wiki\.valid\.tokens"):
        get_dataset("wikitext2", root=str(root), seq_len=2)


def test_seq_len_longer_than_a_split(tmp_path):
    root = _write(tmp_path)
    with pytest.raises(DataFormatError, match="seq_len"):
        get_dataset("wikitext2", root=str(root), seq_len=1000)


def test_read_tokens_appends_eos_per_line(tmp_path):
    path = tmp_path / "t.tokens"
    path.write_text("a b\n\nc\n")
    assert list(read_tokens(path)) == ["a", "b", "<eos>", "<eos>", "c", "<eos>"]
