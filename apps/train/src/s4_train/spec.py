"""What the network needs to know of a dataset: :class:`DataSpec`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DataSpec:
    """What the network needs to know of a dataset (the fields of s4_tasks.SequenceDataset)."""

    d_input: int
    d_output: int
    l_max: int
    input_kind: str
    output_kind: str
    l_output: int | None = None
    name: str = ""
    chance: float | None = None
    pair: bool = False  # x (B, 2, L): two documents through one backbone (LRA retrieval)

    @classmethod
    def from_dataset(cls, data: Any) -> DataSpec:
        return cls(
            d_input=int(data.d_input),
            d_output=int(data.d_output),
            l_max=int(data.l_max),
            input_kind=str(data.input_kind),
            output_kind=str(data.output_kind),
            l_output=None if data.l_output is None else int(data.l_output),
            name=str(data.name),
            chance=None if data.chance is None else float(data.chance),
            pair=bool(getattr(data, "info", {}).get("pair", False)),
        )
