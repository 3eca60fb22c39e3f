"""Client side of EM's query service: filter values that mean exactly what they say, URLs, and QueryResults.

EM's filter grammar (`field op value`, `;` = and, `,` = or, parentheses) takes string values in double
quotes with inner quotes doubled. Every value we put into a filter goes through ``quote_value``, so no VM
name (``a";Name!="x``, ``web,db (old)``) can close the string early and add a condition of its own.
Dates are read as ISO 8601 (UTC when no offset is given, because EM only accepts UTC) and written in UTC.
URLs are percent-encoded completely: ``+`` would otherwise arrive as a space, ``;`` and ``&`` as separators.

This module knows EM's query wire format and nothing about tools: ``services`` build their queries with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import quote

from ..errors import InvalidArgument, MalformedResponse
from ..models.resources import Entity
from .parse import Document
from .registry import BY_TYPE, REGISTRY

Format = Literal["Entities", "References"]


# --- values ---------------------------------------------------------------------------------------------


def quote_value(value: str) -> str:
    """EM string literal: in double quotes, every inner quote doubled. Nothing else needs escaping."""
    return '"' + value.replace('"', '""') + '"'


def parse_user_time(text: str, argument: str) -> datetime:
    """ISO 8601 from a person or a model: date, date-time, ``Z`` or offset; no offset means UTC."""
    raw = text.strip()
    try:
        if len(raw) == 10:  # a bare date: midnight UTC of that day
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        value = datetime.fromisoformat(raw)
        # Converting an extreme offset (0001-01-01T00:00+14:00) leaves datetime's range: OverflowError.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except ValueError:
        raise InvalidArgument(
            f"{argument}={text!r} is not an ISO 8601 date or time. Use e.g. 2026-11-20, 2026-11-20T06:00:00Z "
            "or 2026-11-20T08:00:00+02:00 (no offset means UTC). Nothing was sent to Enterprise Manager."
        ) from None
    except OverflowError:
        raise InvalidArgument(
            f"{argument}={text!r} is outside the range of dates (years 1 to 9999 in UTC). Give a date in that "
            "range. Nothing was sent to Enterprise Manager."
        ) from None


def em_time(value: datetime) -> str:
    """UTC text as EM's filters want it: ``2026-11-20T06:00:00Z`` (microseconds kept when present)."""
    value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(timespec="seconds")  # strftime("%Y") drops the zeros of year 1
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


# --- URLs -----------------------------------------------------------------------------------------------


def query_url(
    base_url: str,
    em_type: str,
    *,
    filter: str | None = None,
    format: Format = "Entities",
    sort: tuple[Literal["asc", "desc"], str] | None = None,
    page_size: int,
    page: int = 1,
) -> str:
    """``{base}/query?type=T&format=F[&filter=…][&sortDesc=X]&pageSize=N&page=M``, fully percent-encoded."""
    params: list[tuple[str, str]] = [("type", em_type), ("format", format)]
    if filter is not None:
        params.append(("filter", filter))
    if sort is not None:
        params.append(("sortAsc" if sort[0] == "asc" else "sortDesc", sort[1]))
    params.append(("pageSize", str(page_size)))
    params.append(("page", str(page)))
    # safe="" encodes every reserved character, including ; , = " + & which all mean something here.
    return f"{base_url}/query?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)


# --- results --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paging:
    """EM's PagingInfo: the page this is, the page size EM applied, how many pages there are."""

    page_num: int
    page_size: int
    pages_count: int
    has_next: bool


@dataclass(frozen=True)
class QueryPage:
    """One page of a ``format=Entities`` QueryResult, its items read into their registry model."""

    items: Sequence[Entity]
    paging: Paging


def _count(paging: dict[str, Any], key: str) -> int:
    value = paging.get(key)
    try:
        number = int(str(value))
    except ValueError:
        raise MalformedResponse(
            f"Enterprise Manager's QueryResult has a non-numeric PagingInfo {key}: {value!r}."
        ) from None
    if number < 0:
        raise MalformedResponse(f"Enterprise Manager's QueryResult has a negative PagingInfo {key}: {number}.")
    return number


def read_paging(doc: Document) -> Paging:
    """The PagingInfo of any QueryResult (XML or JSON, entities or references)."""
    data = doc.data
    if doc.root not in (None, "QueryResult") or not isinstance(data.get("paging_info"), dict):
        raise MalformedResponse(
            f"Enterprise Manager answered the query with a {doc.root or 'JSON object'} that is not a QueryResult."
        )
    paging = data["paging_info"]
    page_num, page_size, pages_count = (_count(paging, k) for k in ("page_num", "page_size", "pages_count"))
    rels = {str(link.get("rel", "")).lower() for link in paging.get("links") or []}
    return Paging(page_num, page_size, pages_count, page_num < pages_count or "next" in rels)


def query_refs(doc: Document) -> list[dict[str, Any]]:
    """The references of a ``format=References`` QueryResult (``Refs`` bare or same-name wrapped)."""
    refs = doc.data.get("refs")
    if isinstance(refs, dict):
        refs = [refs]
    return [ref for ref in refs or [] if isinstance(ref, dict)]


def parse_query_page(doc: Document, em_type: str) -> QueryPage:
    """The items (as models of the registry row ``em_type``) and paging of a ``format=Entities`` QueryResult."""
    paging = read_paging(doc)
    row = BY_TYPE[em_type]
    entities = doc.data.get("entities")
    items: Any = []
    if isinstance(entities, dict):
        # <VmRestorePoints/> (empty) normalises to None; JSON may hold a bare list or a same-name wrapper.
        items = entities.get(row.list_key, entities.get(row.item_key)) or []
    elif entities is not None:
        raise MalformedResponse("Enterprise Manager's QueryResult has Entities that are not a list of entities.")
    if isinstance(items, dict):
        # A wrapper EM names otherwise than its items (v12's singular "AgentBackupJob" around "AgentBackupJobs"),
        # or a single item.
        # An entity has several keys (href, type, name, links…); a wrapper has one, holding one item or a list.
        (only,) = items.values() if len(items) == 1 else (None,)
        items = only if isinstance(only, list) else [only] if isinstance(only, dict) else [items]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise MalformedResponse(f"Enterprise Manager's QueryResult holds {row.plural} that are not entities.")
    try:
        models = REGISTRY.read_all(row, items)
    except ValueError as exc:
        raise MalformedResponse(f"Enterprise Manager's QueryResult holds a malformed {em_type}: {exc}") from None
    return QueryPage(models, paging)
