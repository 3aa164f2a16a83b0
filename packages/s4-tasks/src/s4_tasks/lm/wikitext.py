"""WikiText-2 / WikiText-103 (Merity et al. 2016), word level, as released (tokenised).

Files: ``wiki.train.tokens``, ``wiki.valid.tokens``, ``wiki.test.tokens`` under ``root`` (or
``root/wikitext-2`` / ``root/wikitext-103`` as the archives extract). Each line is split on
whitespace and ends with ``<eos>`` (the standard convention, empty lines included). The
vocabulary is built from the train split only (ids by decreasing frequency) and cached next to
the data under a checksum of the train file; words of val/test outside it map to ``<unk>``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from s4_tasks.base import DataFormatError, SequenceDataset, check_int, missing_data
from s4_tasks.lm.streams import lm_task
from s4_tasks.lm.vocab import Vocab, cached_vocab, file_checksum

SPLIT_FILES = {"train": "wiki.train.tokens", "val": "wiki.valid.tokens", "test": "wiki.test.tokens"}
EOS, UNK = "<eos>", "<unk>"


def read_tokens(path: Path):
    """Yield the words of ``path`` line by line, ``<eos>`` after each line."""
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                yield from line.split()
                yield EOS
    except UnicodeDecodeError as err:
        raise DataFormatError(
            f"{path}: expected UTF-8 text, got undecodable bytes ({err})"
        ) from err


def cached_stream(folder: Path, train: Path, path: Path, vocab: Vocab) -> torch.Tensor:
    """The ids of ``path`` (int64 ``(T,)``), cached as ``.s4_tokens_<key>.npy`` in ``folder``.

    The key hashes the train file (it defines the ids) and ``path`` itself, so a change to
    either re-tokenises. WikiText-103's 103M training tokens take minutes to tokenise in
    Python and a fraction of a second to load from the cache.
    """
    key = file_checksum([train, path])[:16]
    cache = folder / f".s4_tokens_{key}.npy"
    if cache.is_file():
        try:
            return torch.from_numpy(np.load(cache).astype(np.int64))
        except (OSError, ValueError):
            pass  # unreadable cache: tokenise again
    stream = vocab.encode(read_tokens(path), where=str(path))
    try:
        np.save(cache, stream.numpy().astype(np.int32))
    except OSError:
        pass  # read-only data folder: correct, just not cached
    return stream


def resolve_wikitext_root(name: str, root: str | Path, subdir: str) -> Path:
    root = Path(root)
    for folder in (root, root / subdir):
        if (folder / SPLIT_FILES["train"]).is_file():
            missing = [f for f in SPLIT_FILES.values() if not (folder / f).is_file()]
            if missing:
                raise missing_data(name, folder, ", ".join(missing))
            return folder
    raise missing_data(name, root, SPLIT_FILES["train"])


def _wikitext(name: str, root: str | Path, subdir: str, seq_len: int) -> SequenceDataset:
    check_int("seq_len", seq_len, 1)
    folder = resolve_wikitext_root(name, root, subdir)
    paths = {split: folder / f for split, f in SPLIT_FILES.items()}
    train = paths["train"]
    vocab = cached_vocab(
        folder, [train], lambda: Vocab.build(read_tokens(train), "word", [EOS, UNK])
    )
    streams = {}
    for split, path in tqdm(paths.items(), desc=f"{name}: tokenising", leave=False):
        streams[split] = cached_stream(folder, train, path, vocab)
        if len(streams[split]) < 2:
            raise DataFormatError(f"{path}: expected text, got an empty file")
    return lm_task(name, streams, vocab, seq_len, root=str(folder))


def wikitext2(*, root: str = "data/wikitext-2", seq_len: int = 512) -> SequenceDataset:
    """WikiText-2 next-word task (vocab ~33k); items x, y int64 ``(seq_len,)``."""
    return _wikitext("wikitext2", root, "wikitext-2", seq_len)


def wikitext103(*, root: str = "data/wikitext-103", seq_len: int = 8192) -> SequenceDataset:
    """WikiText-103 next-word task (vocab ~267k); items x, y int64 ``(seq_len,)``."""
    return _wikitext("wikitext103", root, "wikitext-103", seq_len)


__all__ = ["EOS", "UNK", "read_tokens", "wikitext2", "wikitext103"]
