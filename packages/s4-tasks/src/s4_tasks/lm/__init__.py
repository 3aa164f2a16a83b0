"""Language-modelling datasets: WikiText-2/103 (word level) and char/byte level on any text.

Items are ``(x, y)``, int64 ``(L,)`` token ids with y = x shifted by one;
``info["streams"]`` holds each split as one contiguous LongTensor ``(T,)`` and
``info["vocab"]`` the :class:`Vocab` (``itos``, ``stoi``, ``encode``, ``decode``).
"""

from s4_tasks.lm.char import char, shipped_text_path
from s4_tasks.lm.streams import StreamWindows, lm_task
from s4_tasks.lm.vocab import Vocab, cached_vocab, file_checksum
from s4_tasks.lm.wikitext import read_tokens, wikitext2, wikitext103

__all__ = [
    "StreamWindows",
    "Vocab",
    "cached_vocab",
    "char",
    "file_checksum",
    "lm_task",
    "read_tokens",
    "shipped_text_path",
    "wikitext2",
    "wikitext103",
]
