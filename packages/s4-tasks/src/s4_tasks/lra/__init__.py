"""Long Range Arena tasks (ListOps so far); items are ``(x, y, length)``, see ``s4_tasks.base``."""

from s4_tasks.lra.listops import (
    LISTOPS_VOCAB,
    evaluate_listops,
    generate_listops,
    listops,
    read_listops_tsv,
    tokenize_listops,
)
from s4_tasks.lra.padding import PaddedTokens, pad_tokens

__all__ = [
    "LISTOPS_VOCAB",
    "PaddedTokens",
    "evaluate_listops",
    "generate_listops",
    "listops",
    "pad_tokens",
    "read_listops_tsv",
    "tokenize_listops",
]
