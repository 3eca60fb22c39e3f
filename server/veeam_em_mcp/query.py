"""Client side of EM's query service: filters that mean exactly what they say, URLs, and QueryResults.

EM's filter grammar (`field op value`, `;` = and, `,` = or, parentheses) takes string values in double
quotes with inner quotes doubled. Every value we put into a filter goes through ``quote_value``, so no VM
name (``a";Name!="x``, ``web,db (old)``) can close the string early and add a condition of its own.
Dates are read as ISO 8601 (UTC when no offset is given, because EM only accepts UTC) and written in UTC.
URLs are percent-encoded completely: ``+`` would otherwise arrive as a space, ``;`` and ``&`` as separators.

This module sits beside ``representation``: it turns a parsed ``Document`` into models and knows nothing
about tools. The paging cursor lives here too because it is a serialised query, not a tool concept.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args
from urllib.parse import quote

from .errors import InvalidArgument, MalformedResponse
from .links import GUID_PATTERN
from .models import VmRestorePoint, parse_timestamp
from .representation import Document, vm_restore_point

Algorithm = Literal["Full", "Incremental", "ReversedIncremental", "SyntheticFull"]
PointType = Literal["Full", "Increment", "ReverseIncrement"]
ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
POINT_TYPES: tuple[str, ...] = get_args(PointType)

MAX_PAGE_SIZE = 100
_SERVER_ID = re.compile(rf"^(?:urn:veeam:BackupServer:)?({GUID_PATTERN})\Z", re.IGNORECASE)
_CURSOR_VERSION = 1
_MAX_TEXT = 512  # longest filter value accepted from a cursor (the tools cap their arguments the same way)


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
    except ValueError:
        raise InvalidArgument(
            f"{argument}={text!r} is not an ISO 8601 date or time. Use e.g. 2026-11-20, 2026-11-20T06:00:00Z "
            "or 2026-11-20T08:00:00+02:00 (no offset means UTC). Nothing was sent to Enterprise Manager."
        ) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def em_time(value: datetime) -> str:
    """UTC text as EM's filters want it: ``2026-11-20T06:00:00Z`` (microseconds kept when present)."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


# --- the query ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VmPointQuery:
    """A VmRestorePoint query as the tools take it; ``until`` pins later pages (see ``filter_expression``).

    Times are kept as canonical UTC text so the query round-trips through a cursor unchanged.
    ``created_after`` is inclusive and ``created_before`` exclusive: consecutive windows neither overlap
    nor leave a gap.
    """

    vm_name: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    algorithm: str | None = None
    point_type: str | None = None
    backup_server: str | None = None
    newest_first: bool = True
    page_size: int = 20
    until: str | None = None

    def filter_expression(self) -> str | None:
        """EM's filter for this query (``None`` when nothing is filtered)."""
        parts: list[str] = []
        if self.vm_name is not None:
            # VmDisplayName is the documented VmRestorePoint filter field for the VM's name.
            parts.append(f"VmDisplayName=={quote_value(self.vm_name)}")
        if self.created_after is not None:
            parts.append(f"CreationTime>={quote_value(self.created_after)}")
        if self.created_before is not None:
            parts.append(f"CreationTime<{quote_value(self.created_before)}")
        if self.until is not None:
            # The newest point seen on the first page: later pages ignore points created since, so a
            # backup finishing while someone pages does not shift every page by one (a repeat and a miss).
            parts.append(f"CreationTime<={quote_value(self.until)}")
        if self.algorithm is not None:
            parts.append(f"Algorithm=={quote_value(self.algorithm)}")
        if self.point_type is not None:
            parts.append(f"Type=={quote_value(self.point_type)}")
        if self.backup_server is not None:
            match = _SERVER_ID.match(self.backup_server.strip())
            if match:
                parts.append(f"BackupServerUid=={quote_value('urn:veeam:BackupServer:' + match.group(1).lower())}")
            else:
                parts.append(f"BackupServerName=={quote_value(self.backup_server)}")
        return ";".join(parts) or None

    def url(self, base_url: str, page: int, page_size: int | None = None) -> str:
        """``{base}/query?type=VmRestorePoint&format=Entities&filter=…&sortDesc=CreationTime&pageSize=N&page=M``."""
        params: list[tuple[str, str]] = [("type", "VmRestorePoint"), ("format", "Entities")]
        expression = self.filter_expression()
        if expression is not None:
            params.append(("filter", expression))
        params.append(("sortDesc" if self.newest_first else "sortAsc", "CreationTime"))
        params.append(("pageSize", str(page_size or self.page_size)))
        params.append(("page", str(page)))
        # safe="" encodes every reserved character, including ; , = " + & which all mean something here.
        return f"{base_url}/query?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)


def build_query(
    *,
    vm_name: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    algorithm: str | None = None,
    point_type: str | None = None,
    backup_server: str | None = None,
    newest_first: bool = True,
    page_size: int = 20,
) -> VmPointQuery:
    """Validate tool arguments into a query; raises ``InvalidArgument`` before anything is sent."""
    after = em_time(parse_user_time(created_after, "created_after")) if created_after is not None else None
    before = em_time(parse_user_time(created_before, "created_before")) if created_before is not None else None
    if after is not None and before is not None and parse_timestamp(after) >= parse_timestamp(before):
        raise InvalidArgument(
            f"created_after ({after}) must be earlier than created_before ({before}); the window is empty."
        )
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise InvalidArgument(f"algorithm must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}.")
    if point_type is not None and point_type not in POINT_TYPES:
        raise InvalidArgument(f"point_type must be one of {', '.join(POINT_TYPES)}, not {point_type!r}.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}.")
    for name, value in (("vm_name", vm_name), ("backup_server", backup_server)):
        if value is not None and not 0 < len(value) <= _MAX_TEXT:
            raise InvalidArgument(f"{name} must be 1 to {_MAX_TEXT} characters long.")
    return VmPointQuery(
        vm_name=vm_name,
        created_after=after,
        created_before=before,
        algorithm=algorithm,
        point_type=point_type,
        backup_server=backup_server,
        newest_first=newest_first,
        page_size=page_size,
    )


# --- the cursor -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where the next call resumes: the query, EM's page number, and how many of that page were already returned."""

    query: VmPointQuery
    page: int
    skip: int = 0

    def encode(self) -> str:
        payload = {"v": _CURSOR_VERSION, "q": asdict(self.query), "p": self.page, "s": self.skip}
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Read a cursor this server issued; anything else is refused with a clear message."""
        try:
            raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
            payload = json.loads(raw.decode("utf-8"))
            if not isinstance(payload, dict) or payload.get("v") != _CURSOR_VERSION:
                raise ValueError("unknown cursor version")
            page, skip, fields = payload["p"], payload["s"], payload["q"]
            if type(page) is not int or type(skip) is not int or not isinstance(fields, dict):
                raise ValueError("bad cursor fields")
            if set(fields) != set(VmPointQuery.__dataclass_fields__):
                raise ValueError("bad query fields")
            for key in ("vm_name", "created_after", "created_before", "algorithm", "point_type", "backup_server"):
                if fields[key] is not None and not isinstance(fields[key], str):
                    raise ValueError("bad text field")
            if type(fields["newest_first"]) is not bool or type(fields["page_size"]) is not int:
                raise ValueError("bad paging fields")
            query = build_query(**{k: v for k, v in fields.items() if k != "until"})
            until = fields["until"]
            if until is not None:
                if not isinstance(until, str):
                    raise ValueError("bad pin")
                parse_timestamp(until)
            if query.newest_first != fields["newest_first"] or query.page_size != fields["page_size"]:
                raise ValueError("inconsistent cursor")
            if page < 1 or not 0 <= skip < query.page_size:
                raise ValueError("bad position")
            # Re-validated values must be exactly what the cursor carried (times already canonical).
            if (query.created_after, query.created_before) != (fields["created_after"], fields["created_before"]):
                raise ValueError("non-canonical times")
            return cls(replace(query, until=until), page, skip)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, binascii.Error, InvalidArgument):
            raise InvalidArgument(
                "The cursor is not one this server issued (it is malformed, truncated or altered). Pass "
                "next_cursor exactly as a previous find_vm_restore_points result gave it, or call again "
                "without a cursor to start from the first page."
            ) from None


# --- results --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryPage:
    """One page of a VmRestorePoint QueryResult, with EM's own paging numbers."""

    points: list[VmRestorePoint]
    page_num: int
    page_size: int
    pages_count: int
    has_next: bool


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


def parse_query_page(doc: Document) -> QueryPage:
    """The points and paging of a ``format=Entities`` VmRestorePoint QueryResult (XML or JSON)."""
    data = doc.data
    if doc.root not in (None, "QueryResult") or "paging_info" not in data:
        raise MalformedResponse(
            f"Enterprise Manager answered the query with a {doc.root or 'JSON object'} that is not a QueryResult."
        )
    entities = data.get("entities")
    items: Any = []
    if isinstance(entities, dict):
        # <VmRestorePoints/> (empty) normalises to None; JSON may hold a bare list or a same-name wrapper.
        items = entities.get("vm_restore_points", entities.get("vm_restore_point")) or []
    elif entities is not None:
        raise MalformedResponse("Enterprise Manager's QueryResult has Entities that are not a list of entities.")
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise MalformedResponse("Enterprise Manager's QueryResult holds VmRestorePoints that are not entities.")
    try:
        points = [vm_restore_point(item) for item in items]
    except ValueError as exc:
        raise MalformedResponse(f"Enterprise Manager's QueryResult holds a malformed VmRestorePoint: {exc}") from None
    paging = data["paging_info"]
    if not isinstance(paging, dict):
        raise MalformedResponse("Enterprise Manager's QueryResult has no readable PagingInfo.")
    page_num, page_size, pages_count = (_count(paging, k) for k in ("page_num", "page_size", "pages_count"))
    rels = {str(link.get("rel", "")).lower() for link in paging.get("links") or []}
    return QueryPage(
        points=points,
        page_num=page_num,
        page_size=page_size,
        pages_count=pages_count,
        has_next=page_num < pages_count or "next" in rels,
    )
