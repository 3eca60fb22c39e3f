"""One query type held for speed (`Table`): its items in storage order plus lazily built, cached column arrays
(normalised values per field), sort orders and equality indexes; and the query types of a registry (`type_specs`).
"""

from __future__ import annotations

import operator
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..dataset import Dataset
from ..fields import Field, field_map
from ..registry import Registry


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """A query type: its name and plural (the registry row's), fields, and items in storage order."""

    name: str
    plural: str
    fields: dict[str, Field]
    items: Callable[[Dataset], list[Any]]


# --- indexes ---------------------------------------------------------------------------------------------

def _sort_key(value: Any) -> tuple[bool, Any]:
    # Missing values (e.g. NextRun of a disabled job) sort first, like SQL NULLs.
    return (value is not None, value if value is not None else 0)


class Table:
    """The rows of one query type with lazily built, cached columns, sort orders and equality indexes."""

    def __init__(self, spec: TypeSpec, items: list[Any], shuffle: bool = False) -> None:
        self.spec = spec
        self.items = items
        # The order of unsorted results: storage order, or a fixed permutation of it.
        self.natural: list[int] = list(range(len(items)))
        self.shuffled = shuffle
        if shuffle:
            # Seeded by the type name only: the same permutation on every request, so paging stays coherent.
            random.Random(spec.name).shuffle(self.natural)  # noqa: S311 - not security
        self.position: list[int] = [0] * len(items)
        for pos, row in enumerate(self.natural):
            self.position[row] = pos
        self._columns: dict[str, list[Any]] = {}
        self._orders: dict[str, tuple[list[int], list[tuple[bool, Any]], list[int]]] = {}
        self._eq: dict[str, dict[Any, list[int]]] = {}

    def column(self, f: Field) -> list[Any]:
        col = self._columns.get(f.name)
        if col is None:
            col = self._columns[f.name] = [f.get(o) for o in self.items]
        return col

    def order(self, f: Field) -> tuple[list[int], list[tuple[bool, Any]], list[int]]:
        """(row numbers ascending by `f`, their sort keys, rank of each row) for field `f`."""
        cached = self._orders.get(f.name)
        if cached is None:
            col = self.column(f)
            keys = [_sort_key(v) for v in col]
            order = sorted(self.natural, key=keys.__getitem__)
            rank = [0] * len(order)
            for pos, row in enumerate(order):
                rank[row] = pos
            cached = self._orders[f.name] = (order, [keys[i] for i in order], rank)
        return cached

    def eq_index(self, f: Field) -> dict[Any, list[int]]:
        idx = self._eq.get(f.name)
        if idx is None:
            idx = {}
            for row, value in enumerate(self.column(f)):
                idx.setdefault(value, []).append(row)
            self._eq[f.name] = idx
        return idx


OP_FUNCS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}


def type_specs(dataset: Dataset, registry: Registry) -> dict[str, TypeSpec]:
    """The query types of the registry's rows, by lower-case name."""
    def storage_order(items: Callable[[Dataset], Mapping[str, Any]]) -> Callable[[Dataset], list[Any]]:
        return lambda d: list(items(d).values())

    specs: dict[str, TypeSpec] = {}
    for row in registry.query_rows():
        assert row.query is not None
        specs[row.type_name.lower()] = TypeSpec(row.type_name, row.plural, field_map(row.query(dataset)),
                                                storage_order(row.items))
    return specs
