"""Token vocabularies (word, char, byte) and their checksum-keyed cache next to the data."""

from __future__ import annotations

import hashlib
import json
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from s4_tasks.base import DataFormatError

LEVELS = ("word", "char", "byte")


class Vocab:
    """A bijection token <-> id: ``itos[i]`` is the token of id i, ``stoi[token]`` its id.

    ``level`` says how ``decode`` joins tokens: ``"word"`` with spaces (``<eos>`` becomes a
    newline), ``"char"`` with nothing, ``"byte"`` as UTF-8 bytes (ids are the byte values).
    """

    def __init__(self, itos: Sequence[str], level: str, unk: str | None = None) -> None:
        if level not in LEVELS:
            raise ValueError(f"level: expected one of {list(LEVELS)}, got {level!r}")
        self.itos = list(itos)
        self.stoi = {token: i for i, token in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("itos: expected distinct tokens, got duplicates")
        if unk is not None and unk not in self.stoi:
            raise ValueError(f"unk: expected a token of the vocabulary, got {unk!r}")
        self.level, self.unk = level, unk

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and (self.itos, self.level, self.unk) == (
            other.itos,
            other.level,
            other.unk,
        )

    @classmethod
    def bytes(cls) -> Vocab:
        """The 256 byte values (``itos[i] = chr(i)`` for display)."""
        return cls([chr(i) for i in range(256)], "byte")

    @classmethod
    def build(cls, tokens: Iterable[str], level: str, specials: Sequence[str] = ()) -> Vocab:
        """Vocabulary of ``tokens``: specials first, then by decreasing count, ties by token."""
        counts = Counter(tokens)
        for special in specials:
            counts.pop(special, None)
        ordered = sorted(counts, key=lambda t: (-counts[t], t))
        unk = "<unk>" if "<unk>" in specials else None
        return cls([*specials, *ordered], level, unk)

    def encode(self, tokens: str | Iterable[str], *, where: str = "input") -> torch.Tensor:
        """Ids int64 ``(T,)`` of ``tokens`` (a str for char/byte level, or a token sequence).

        A token outside the vocabulary maps to ``unk`` when there is one, otherwise it is a
        DataFormatError naming ``where`` and the token.
        """
        if self.level == "byte":
            data = tokens.encode("utf-8") if isinstance(tokens, str) else bytes(tokens)  # type: ignore[arg-type]
            return torch.frombuffer(bytearray(data), dtype=torch.uint8).to(torch.int64)
        unk_id = self.stoi.get(self.unk) if self.unk is not None else None
        ids = array("q")  # 8 bytes per id, not a list of Python ints
        for token in tokens:
            idx = self.stoi.get(token, unk_id)
            if idx is None:
                raise DataFormatError(f"{where}: token {token!r} is not in the vocabulary")
            ids.append(idx)
        return torch.from_numpy(np.frombuffer(ids, dtype=np.int64).copy())

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """The text of ids ``(T,)``."""
        ids = [int(i) for i in torch.as_tensor(ids).reshape(-1)]
        if ids and not 0 <= min(ids) <= max(ids) < len(self):
            raise ValueError(
                f"ids: expected values in [0, {len(self)}), got {min(ids)}..{max(ids)}"
            )
        if self.level == "byte":
            return bytes(ids).decode("utf-8", errors="replace")
        if self.level == "char":
            return "".join(self.itos[i] for i in ids)
        # Words of a line are joined by spaces; each <eos> ends the line.
        lines = " ".join(self.itos[i] for i in ids).split("<eos>")
        return "\n".join(line.strip() for line in lines)

    def to_json(self) -> dict:
        return {"itos": self.itos, "level": self.level, "unk": self.unk}

    @classmethod
    def from_json(cls, data: dict) -> Vocab:
        return cls(data["itos"], data["level"], data["unk"])


def file_checksum(paths: Sequence[Path]) -> str:
    """SHA-256 over the bytes of ``paths`` in order (the vocabulary cache key)."""
    digest = hashlib.sha256()
    for path in paths:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def cached_vocab(cache_dir: Path, sources: Sequence[Path], build) -> Vocab:
    """The vocabulary of ``sources``, read from ``cache_dir`` when it was built from the same bytes.

    The cache file name holds the checksum of the source files, so an edited source is never
    served a stale vocabulary: the new checksum misses and ``build()`` runs (and is written).
    A cache that cannot be read is rebuilt. An unwritable folder only skips writing.
    """
    key = file_checksum(sources)[:16]
    path = Path(cache_dir) / f".s4_vocab_{key}.json"
    if path.is_file():
        try:
            return Vocab.from_json(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError):
            pass  # corrupt cache: rebuild below
    vocab = build()
    try:
        path.write_text(json.dumps(vocab.to_json()))
    except OSError:
        pass  # read-only data folder: the vocabulary is still correct, just not cached
    return vocab
