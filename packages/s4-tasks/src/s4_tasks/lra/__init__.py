"""Long Range Arena tasks: ListOps (items ``(x, y, length)``) and Pathfinder (``(x, y)``)."""

from s4_tasks.lra.listops import (
    LISTOPS_VOCAB,
    evaluate_listops,
    generate_listops,
    listops,
    read_listops_tsv,
    tokenize_listops,
)
from s4_tasks.lra.padding import PaddedTokens, pad_tokens
from s4_tasks.lra.pathfinder import generate_pathfinder, pathfinder

__all__ = [
    "LISTOPS_VOCAB",
    "PaddedTokens",
    "evaluate_listops",
    "generate_listops",
    "generate_pathfinder",
    "listops",
    "pad_tokens",
    "pathfinder",
    "read_listops_tsv",
    "tokenize_listops",
]
