"""The words a query window is asked in: its order (``Sort``, ``NEWEST_FIRST``, ``BY_NAME``) and its filter
(``conditions``, ``any_of``), as EM's query service spells them.

Apart from the reader (``querying``) because they are what a question is asked in, not how a window is read:
services write filters with them for single pages too (the protection report's older points, a replica's
points by name), and the reader splits a window by the same ``Sort`` and ``conditions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..representation.query import quote_value


@dataclass(frozen=True)
class Sort:
    """How a window is ordered: EM's field (sort and filter), the model attribute holding it, the direction."""

    field: str
    attribute: str
    descending: bool
    kind: Literal["time", "text"]

    def param(self) -> tuple[Literal["asc", "desc"], str]:
        return ("desc" if self.descending else "asc", self.field)


NEWEST_FIRST = Sort("CreationTime", "creation_time", True, "time")
BY_NAME = Sort("Name", "name", False, "text")


def conditions(*parts: str | None) -> str | None:
    """EM's AND of the conditions given (``;``), or ``None`` for no filter."""
    present = [part for part in parts if part]
    return ";".join(present) or None


def any_of(field: str, values: Sequence[str]) -> str | None:
    """``Field=="a"`` or ``(Field=="a",Field=="b")``: EM's OR of equalities, every value quoted."""
    if not values:
        return None
    either = ",".join(f"{field}=={quote_value(value)}" for value in values)
    return f"({either})" if len(values) > 1 else either
