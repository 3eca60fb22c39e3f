"""The query service (`QueryService`): binds a filter to a type's fields, narrows candidates by index or by the
sort range, evaluates the rest over row numbers, sorts and pages; `invalidate()` drops the cached tables when
the dataset changes under a running simulator (the `mutate` fault).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

from ..dataset import Dataset
from ..fields import Field, QueryError
from ..registry import DEFAULT_REGISTRY, Registry
from .filter import And, Cmp, Node, parse_filter
from .request import QueryPage, QueryRequest
from .table import OP_FUNCS, Table, TypeSpec, type_specs


@dataclass(frozen=True, slots=True)
class _BoundCmp:
    field: Field
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class _BoundBool:
    conj: bool  # True: AND, False: OR
    items: tuple[_Bound, ...]


_Bound = _BoundCmp | _BoundBool


class QueryService:
    """Answers queries over one dataset; build it once, it indexes lazily and caches."""

    def __init__(self, dataset: Dataset, registry: Registry | None = None, *, shuffle: bool = False) -> None:
        if registry is None:
            registry = DEFAULT_REGISTRY
        self.dataset = dataset
        self.registry = registry
        self.shuffle = shuffle
        self.specs = type_specs(dataset, registry)
        self._tables: dict[str, Table] = {}

    def table(self, type_name: str) -> Table:
        key = type_name.lower()
        tbl = self._tables.get(key)
        if tbl is None:
            spec = self.specs.get(key)
            if spec is None:
                raise QueryError(f"Query type '{type_name}' is not supported. Supported types: "
                                 + ", ".join(s.name for s in self.specs.values()) + ".")
            tbl = self._tables[key] = Table(spec, spec.items(self.dataset), self.shuffle)
        return tbl

    def invalidate(self) -> None:
        """Forget every cached table (items, columns, sort orders, indexes) after the dataset changed; they are
        rebuilt on next use. The field definitions keep referring to the dataset's (mutated) dicts."""
        self._tables.clear()

    def warm(self) -> None:
        """Build the indexes the common queries use (newest points and sessions first, one VM's points), so
        the first request is fast too."""
        for type_name, fields in (("VmRestorePoint", ("creationtime", "vmdisplayname")),
                                  ("BackupTaskSession", ("creationtime", "vmdisplayname")),
                                  ("BackupJobSession", ("creationtime",))):
            if type_name.lower() not in self.specs:
                continue
            tbl = self.table(type_name)
            tbl.order(tbl.spec.fields[fields[0]])
            for name in fields[1:]:
                tbl.eq_index(tbl.spec.fields[name])

    def _field(self, spec: TypeSpec, name: str) -> Field:
        f = spec.fields.get(name.lower())
        if f is None:
            raise QueryError(f"Unknown field '{name}' for query type {spec.name}.")
        return f

    def _bind(self, spec: TypeSpec, node: Node) -> _Bound:
        if isinstance(node, Cmp):
            f = self._field(spec, node.field)
            return _BoundCmp(f, node.op, f.convert(node.value))
        return _BoundBool(isinstance(node, And), tuple(self._bind(spec, n) for n in node.items))

    def _eval(self, tbl: Table, node: _Bound, rows: list[int]) -> list[int]:
        if isinstance(node, _BoundCmp):
            col = tbl.column(node.field)
            fn = OP_FUNCS[node.op]
            v = node.value
            if node.op == "==":
                return [i for i in rows if col[i] == v]
            return [i for i in rows if (x := col[i]) is not None and fn(x, v)]
        if node.conj:
            for child in node.items:
                rows = self._eval(tbl, child, rows)
                if not rows:
                    break
            return rows
        hit: set[int] = set()
        for child in node.items:
            hit.update(self._eval(tbl, child, rows))
        return [i for i in rows if i in hit]

    def run(self, req: QueryRequest) -> QueryPage:
        tbl = self.table(req.type)
        spec = tbl.spec
        bound = self._bind(spec, parse_filter(req.filter)) if req.filter is not None else None
        sort_field = self._field(spec, req.sort_field) if req.sort_field else None
        top: list[_BoundCmp] = []
        if isinstance(bound, _BoundCmp):
            top = [bound]
        elif isinstance(bound, _BoundBool) and bound.conj:
            top = [c for c in bound.items if isinstance(c, _BoundCmp)]

        rows: list[int]
        # Top-level AND comparisons that the candidate selection below already guarantees.
        consumed: list[_BoundCmp] = []
        eq = next((c for c in top if c.op == "==" and c.field.kind in ("str", "uid")), None)
        if eq is not None:
            # An equality on a string field selects few rows: start from its index, order them afterwards.
            consumed.append(eq)
            rows = tbl.eq_index(eq.field).get(eq.value, [])
            if sort_field is not None:
                rank = tbl.order(sort_field)[2]
                rows = sorted(rows, key=rank.__getitem__, reverse=req.sort_desc)
            elif tbl.shuffled:
                rows = sorted(rows, key=tbl.position.__getitem__)
        elif sort_field is not None:
            order, keys, _ = tbl.order(sort_field)
            lo, hi = 0, len(order)
            # A range on the sort field is a slice of the sorted order.
            for c in top:
                if c.field is not sort_field or c.op == "!=":
                    continue
                consumed.append(c)
                key = (True, c.value)
                if c.op in (">", ">=", "=="):
                    left = bisect.bisect_right if c.op == ">" else bisect.bisect_left
                    lo = max(lo, left(keys, key, lo, hi) if lo < hi else lo)
                if c.op in ("<", "<=", "=="):
                    right = bisect.bisect_left if c.op == "<" else bisect.bisect_right
                    hi = min(hi, right(keys, key, lo, hi) if lo < hi else hi)
            if consumed:
                # Comparisons never match a missing value, and missing values sort first.
                lo = max(lo, bisect.bisect_left(keys, (True,)))
            rows = order[lo:hi] if lo < hi else []
            if req.sort_desc:
                rows.reverse()
        else:
            rows = tbl.natural

        residual = bound
        if consumed:
            parts: tuple[_Bound, ...] = bound.items if isinstance(bound, _BoundBool) else tuple(top)
            rest = tuple(c for c in parts if all(c is not x for x in consumed))
            residual = None if not rest else rest[0] if len(rest) == 1 else _BoundBool(True, rest)
        if residual is not None and rows:
            rows = self._eval(tbl, residual, rows)
        total = len(rows)
        pages = max(1, math.ceil(total / req.page_size))
        start = (req.page - 1) * req.page_size
        items = [tbl.items[i] for i in rows[start:start + req.page_size]]
        return QueryPage(spec=spec, items=items, page_num=req.page, page_size=req.page_size, pages_count=pages,
                         total=total)
