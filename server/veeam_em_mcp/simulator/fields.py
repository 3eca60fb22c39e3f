"""The query service's field vocabulary: a field's kind, how a filter value converts to it, the error a bad
query gets. ``registry`` (the rows' fields) and ``query`` (the engine) both use it, so neither imports the other
for it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .dataset.clock import ticks_of

Kind = Literal["str", "uid", "enum", "date", "int", "float", "bool"]


class QueryError(ValueError):
    """A malformed query (bad filter, unknown type/field, bad paging); answered with 400."""


# --- value conversion ------------------------------------------------------------------------------------

_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def parse_date_ticks(value: str) -> int:
    """Ticks of an ISO date/datetime (naive means UTC); raises QueryError."""
    m = _DATE.match(value.strip())
    if not m:
        raise QueryError(f"Cannot convert '{value}' to DateTime. Use the UTC format yyyy-MM-ddTHH:mm:ssZ.")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=UTC)
    except ValueError as exc:
        raise QueryError(f"Cannot convert '{value}' to DateTime: {exc}.") from exc
    if tz and tz.upper() != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        dt -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return ticks_of(dt) + (int(frac.ljust(7, "0")) if frac else 0)


def _uid_key(value: str) -> str:
    # Accept both the bare GUID and the `urn:veeam:<Type>:<GUID>` form.
    return value.rsplit(":", 1)[-1].strip().lower()


@dataclass(frozen=True, slots=True)
class Field:
    """A filterable/sortable field: `get` returns the normalised column value of an item."""

    name: str
    kind: Kind
    get: Callable[[Any], Any]
    enum: tuple[str, ...] = ()

    def convert(self, value: str) -> Any:
        if self.kind == "str":
            return value.casefold()
        if self.kind == "uid":
            return _uid_key(value)
        if self.kind == "date":
            return parse_date_ticks(value)
        if self.kind == "enum":
            lowered = [e.lower() for e in self.enum]
            try:
                return lowered.index(value.lower())
            except ValueError:
                raise QueryError(
                    f"Invalid value '{value}' for {self.name}; expected one of: {', '.join(self.enum)}."
                ) from None
        if self.kind in ("int", "float"):
            try:
                return float(value)
            except ValueError:
                raise QueryError(f"Cannot convert '{value}' to a number for {self.name}.") from None
        low = value.lower()
        if low not in ("true", "false"):
            raise QueryError(f"Cannot convert '{value}' to Boolean for {self.name}.")
        return low == "true"


FieldList = list[tuple[Sequence[str], Field]]


def field_map(items: FieldList) -> dict[str, Field]:
    """Fields by every (lower-case) name they answer to."""
    out: dict[str, Field] = {}
    for names, f in items:
        for n in names:
            out[n.lower()] = f
    return out
