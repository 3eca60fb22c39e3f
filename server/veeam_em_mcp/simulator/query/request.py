"""A query as the URL says it (`QueryRequest`, `parse_query_params`), a page of its answer (`QueryPage`), and the
PagingInfo links EM writes for it (`paging_hrefs`, with each dialect's parameter encoding).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from ..fields import QueryError
from .table import TypeSpec


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
