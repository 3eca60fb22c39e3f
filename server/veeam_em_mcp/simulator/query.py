"""EM query service (`GET /api/query`): filter parser, evaluation, sorting and paging.

The filter grammar is EM's: `field op value` with ops `== != < > <= >=`, `;` = AND (binds tighter),
`,` = OR, parentheses for grouping, values quoted (`"..."`, a quote inside doubled) or bare up to the next
`;`, `,` or `)`. Field names are case-insensitive, string comparisons too (EM runs on a case-insensitive SQL
collation), enumerations compare by declaration index and dates must be UTC.

The query types and their fields come from the registry (registry.py): each row's `query` lists the fields,
including those EM filters on that are not in the entity (`JobName` on task sessions). URN fields take the
URN or the bare GUID. Without sortAsc/sortDesc results come in storage order (the dataset's order, which is
not time order), or in a fixed shuffle of it (`unsorted_order="shuffle"`); there is no default sort.

Speed matters (150,000 VmRestorePoints or task sessions must page in tens of milliseconds), so each type is
held as a `Table`: the items in storage order plus lazily built, cached column arrays (normalised values per
field), sort orders and equality indexes. A query then works on lists of row numbers: an equality on an
indexed field or a range on the sort field narrows the candidates first, the rest of the filter is a list
comprehension over the survivors, and nothing is re-parsed or re-rendered per request. When the dataset
changes under a running simulator (the `mutate` fault), `QueryService.invalidate()` drops the cached tables.
"""

from __future__ import annotations

import bisect
import math
import operator
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from .dataset import Dataset
from .fields import Field, field_map
from .fields import FieldList as FieldList  # re-exported: the tests and older callers import these from here
from .fields import Kind as Kind
from .fields import QueryError as QueryError
from .fields import parse_date_ticks as parse_date_ticks
from .registry import DEFAULT_REGISTRY, Registry

# --- filter syntax ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Cmp:
    field: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


Node = Cmp | And | Or

_OPS = ("==", "!=", "<=", ">=", "<", ">")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> QueryError:
        return QueryError(f"Invalid filter expression '{self.text}': {what} at position {self.pos}.")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek():
            raise self.fail(f"unexpected '{self.text[self.pos]}'")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.peek() == ",":
            self.pos += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_factor()]
        while self.peek() == ";":
            self.pos += 1
            items.append(self.parse_factor())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_factor(self) -> Node:
        if self.peek() == "(":
            self.pos += 1
            node = self.parse_or()
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.pos += 1
            return node
        self.skip_ws()
        m = _IDENT.match(self.text, self.pos)
        if not m:
            raise self.fail("expected a field name")
        self.pos = m.end()
        self.skip_ws()
        op = next((o for o in _OPS if self.text.startswith(o, self.pos)), None)
        if op is None:
            raise self.fail(f"expected an operator after '{m.group()}'")
        self.pos += len(op)
        return Cmp(m.group(), op, self.parse_value())

    def parse_value(self) -> str:
        self.skip_ws()
        text = self.text
        if self.pos < len(text) and text[self.pos] == '"':
            out: list[str] = []
            i = self.pos + 1
            while True:
                j = text.find('"', i)
                if j < 0:
                    raise self.fail("unterminated quoted string")
                out.append(text[i:j])
                if text.startswith('"', j + 1):  # doubled quote = a literal quote
                    out.append('"')
                    i = j + 2
                    continue
                self.pos = j + 1
                return "".join(out)
        start = self.pos
        while self.pos < len(text) and text[self.pos] not in ";,()":
            self.pos += 1
        value = text[start:self.pos].strip()
        if not value:
            raise self.fail("expected a value")
        return value


def parse_filter(text: str) -> Node:
    """Parse an EM filter expression; raises QueryError when malformed."""
    return _Parser(text).parse()


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


_OP_FUNCS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}


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


@dataclass(kw_only=True)
class QueryRequest:
    type: str
    entities: bool = False
    filter: str | None = None
    sort_field: str | None = None
    sort_desc: bool = False
    page_size: int = 100
    page: int = 1
    # Original parameters in request order (for PagingInfo hrefs).
    params: list[tuple[str, str]] = field(default_factory=list)


@dataclass(kw_only=True)
class QueryPage:
    spec: TypeSpec
    items: list[Any]
    page_num: int
    page_size: int
    pages_count: int
    total: int


DEFAULT_PAGE_SIZE = 100


def parse_query_params(params: Sequence[tuple[str, str]]) -> QueryRequest:
    """Build a QueryRequest from the raw parameters (names case-insensitive); raises QueryError."""
    first: dict[str, str] = {}
    for k, v in params:
        first.setdefault(k.lower(), v)
    qtype = first.get("type")
    if not qtype:
        raise QueryError("Query type is not specified. Use the 'type' parameter.")
    req = QueryRequest(type=qtype, params=list(params))
    fmt = first.get("format", "References").lower()
    if fmt in ("entities", "entity"):
        req.entities = True
    elif fmt not in ("references", "reference", "refs"):
        raise QueryError(f"Invalid format '{first['format']}'. Use 'Entities' or 'References'.")
    req.filter = first.get("filter") or None
    if "sortasc" in first and "sortdesc" in first:
        raise QueryError("Only one of sortAsc and sortDesc can be specified.")
    if "sortasc" in first:
        req.sort_field = first["sortasc"]
    elif "sortdesc" in first:
        req.sort_field, req.sort_desc = first["sortdesc"], True
    for name, attr, default in (("pagesize", "page_size", DEFAULT_PAGE_SIZE), ("page", "page", 1)):
        raw = first.get(name)
        if raw is None or raw == "":
            setattr(req, attr, default)
            continue
        try:
            value = int(raw)
        except ValueError:
            raise QueryError(f"Invalid {name} value '{raw}'.") from None
        if value < 1:
            raise QueryError(f"Invalid {name} value '{raw}': must be a positive integer.")
        setattr(req, attr, value)
    return req


_HEX = re.compile(r"%[0-9A-F]{2}")


def encode_param(value: str, dialect: str = "9.5") -> str:
    """A query parameter as the server re-encodes it in PagingInfo hrefs: "12" like .NET HttpUtility.UrlEncode
    (lower-case hex, `+` for a space), "13" upper-case hex with `;` left raw (EM 13 captures), "9.5" plain
    percent-encoding (upper-case hex, `%20`)."""
    if dialect == "12":
        return _HEX.sub(lambda m: m.group().lower(), quote_plus(value, safe=""))
    if dialect == "13":
        return quote_plus(value, safe=";")
    return quote(value, safe="")


def paging_hrefs(base: str, req: QueryRequest, pages_count: int, page_num: int,
                 dialect: str = "9.5") -> list[tuple[str, str]]:
    """(Rel, Href) of First/Previous/Next/Last, keeping the request's parameters (in the client's order) and
    re-encoding them the way the server version does."""
    kept = "&".join(
        f"{encode_param(k, dialect)}={encode_param(v, dialect)}" for k, v in req.params
        if k.lower() not in ("page", "pagesize")
    )
    prefix = f"{base}/query?{kept}&" if kept else f"{base}/query?"

    def href(n: int) -> str:
        return f"{prefix}pageSize={req.page_size}&page={n}"

    out = [("First", href(1))]
    if page_num > 1:
        out.append(("Previous", href(min(page_num - 1, pages_count))))
    if page_num < pages_count:
        out.append(("Next", href(page_num + 1)))
    out.append(("Last", href(pages_count)))
    return out


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
            fn = _OP_FUNCS[node.op]
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
