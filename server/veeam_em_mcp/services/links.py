"""Following EM's own links: any href from an earlier result, fetched read-only and read into its model.

EM is a hypermedia API: a restore point links Up to its backup server, its job-level restore point and
its backup file. Rather than one operation per resource, ``follow`` fetches any such link (vetted by
the ``LinkPolicy``: same origin, under ``/api/``, never an action) and returns the matching model.

Lists page. A collection below a resource (a backup's ``backupFiles``) is fetched in entity form, so
its items come with their fields (sizes, times), and handed out as many as fit, with a cursor to the
rest. A top-level collection of a queryable type (``/api/vmRestorePoints``, ``/api/jobs``) is read
through EM's query service a page at a time instead of all at once, and a query link pages with EM's
own paging. Fields every item shares are said once (``shared``).
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, ValidationError, WithJsonSchema

from ..errors import InvalidArgument, SnapshotUnavailable
from ..models.base import CompactSchema
from ..models.resources import EntityReferences
from ..representation.links import Target
from ..representation.query import Paging, query_url, read_paging
from ..representation.registry import (
    BY_COLLECTION,
    RESOURCE_KINDS,
    AnyResource,
    ResourceList,
    ResourceType,
    to_resource,
)
from .context import EmContext
from .cursor import decode_cursor, encode_cursor, invalid_cursor
from .fetch import fetch
from .pages import fit_items, share_fields

QUERY_PAGE_SIZE = 20  # items per EM query page when a top-level collection is read through the query service
_SEARCH = "follow_link"
_SNAPSHOT = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")
# Validating a union of every model costs a client as much as the rest of a result; the model's own
# "kind" says which one it is, and the server has validated it against that model before sending.
_RESOURCE_SCHEMA = {
    "type": "object",
    "description": "The resource as its model; 'kind' says which: " + ", ".join((*RESOURCE_KINDS[:-3], "EntityRef",
                   "EntityReferences", "ResourceList", "GenericResource")),
    "properties": {"kind": {"type": "string"}},
    "required": ["kind"],
}
# Top-level collections that can be huge are read through the query service, sorted so pages are stable.
_QUERY_SORT = {"VmRestorePoint": "CreationTime", "BackupFile": "CreationTime", "RestorePoint": "CreationTime"}


class FollowLinkResult(CompactSchema):
    """What ``follow_link`` fetched: the resource as its model, and for lists, which part of it this is."""

    href: str = Field(description="The URL that was fetched (normalised; entity form for resources and lists)")
    resource_kind: str = Field(description="What the href's path names: VmRestorePoint, BackupFile, Collection, …")
    resource: Annotated[AnyResource, WithJsonSchema(_RESOURCE_SCHEMA)] = Field(
        description="The resource; its 'kind' says which model it is"
    )
    shared: dict[str, Any] | None = Field(
        None,
        description="For lists: fields every item has with the same value, left out of each item ({id} in a "
        "shared collection stands for the item's id)",
    )
    returned: int | None = Field(None, description="For lists: items in this result")
    total: int | None = Field(None, description="For plain lists: items in the whole list, over all its pages")
    first_item: int | None = Field(None, description="For plain lists: the position of this result's first item (0)")
    page: int | None = Field(None, description="For query pages: EM's page number (1-based)")
    pages_count: int | None = Field(None, description="For query pages: how many pages EM reports")
    next_cursor: str | None = Field(
        None, description="Pass as cursor, alone, for the next items; absent when there are no more"
    )
    truncated: bool = Field(
        False, description="True when this result is not the whole list: more items follow (next_cursor)"
    )
    em_requests: int = Field(1, description="EM requests this call made (0 for a later page of a kept list)")
    note: str | None = Field(None, description="What was left out and how to get it")


async def follow(em: EmContext, href: str | None, cursor: str | None = None) -> FollowLinkResult:
    """Fetch ``href`` (refused without a request unless the policy allows it), or continue a list's cursor."""
    offset = 0
    if cursor is not None:  # the cursor carries what to continue with: an href given beside it is not needed
        payload = decode_cursor(_SEARCH, cursor, tool="follow_link")
        given, position, kept = payload.get("h"), payload.get("o"), payload.get("s")
        if not isinstance(given, str) or type(position) is not int or position < 0:
            raise invalid_cursor("follow_link")
        offset = position
        target = em.policy.vet(given)  # vetted again: a cursor is text a client sends back
        if kept is not None:  # a plain list, kept whole at its first page: the rest of that very list
            if not isinstance(kept, str) or not _SNAPSHOT.match(kept):
                raise invalid_cursor("follow_link")
            return await _kept_page(em, target, kept, offset)
    elif href is None:
        raise InvalidArgument("Give follow_link an href from an earlier result, or a next_cursor it returned.")
    else:
        target = _as_list_request(em, em.policy.vet(href))
    doc = await fetch(
        em,
        target.url,
        missing=f"Enterprise Manager has no resource at {href or target.url} (404). The link may be stale: the "
        "object was deleted or retention removed it.",
    )
    resource = to_resource(doc, target.kind)
    result = FollowLinkResult(href=target.url, resource_kind=target.kind, resource=resource)
    if not isinstance(resource, EntityReferences | ResourceList):
        return result
    paging = read_paging(doc) if target.kind == "Query" else None
    snapshot = secrets.token_urlsafe(18) if paging is None else None
    page = _page(em, result, paging, target, offset, snapshot)
    if snapshot is not None and page.next_cursor is not None:
        # A plain list is kept whole, so its next pages are this very list, not a second reading of EM.
        await em.snapshots.put(f"follow_link:{snapshot}", result.model_dump_json().encode(), em.settings.snapshot_ttl)
    return page


async def _kept_page(em: EmContext, target: Target, snapshot: str, offset: int) -> FollowLinkResult:
    raw = await em.snapshots.get(f"follow_link:{snapshot}")
    if raw is None:
        raise SnapshotUnavailable(
            "The list this cursor continues is not kept any more (it expired, this server restarted, or another "
            "replica answered without VEEAM_MCP_SNAPSHOT_STORE). Nothing was mixed from a second reading of EM: "
            "call follow_link again with the list's href to start again."
        )
    try:
        whole = FollowLinkResult.model_validate_json(raw)
    except ValidationError:
        raise invalid_cursor("follow_link") from None
    resource = whole.resource
    items = resource.refs if isinstance(resource, EntityReferences) else getattr(resource, "items", [])
    if offset > len(items):
        raise invalid_cursor("follow_link")
    page = _page(em, whole, None, target, offset, snapshot)
    return page.model_copy(update={"em_requests": 0})


def _as_list_request(em: EmContext, target: Target) -> Target:
    """Lists in entity form, so items come with their fields; huge top-level ones through the query service."""
    if target.single or target.kind != "Collection":
        return target
    parts = urlsplit(target.url)
    segments = [s for s in parts.path.split("/") if s][1:]
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key.lower() == "format" for key, _ in query):
        return target  # the link says which form it wants
    row = registry_row_of(segments[0]) if len(segments) == 1 else None
    if row is not None:
        sort = _QUERY_SORT.get(row.em_type)
        url = query_url(
            em.base_url,
            row.em_type,
            sort=("desc", sort) if sort else ("asc", "Name"),
            page_size=QUERY_PAGE_SIZE,
        )
        return em.policy.vet(url)
    entity_form = urlunsplit(parts._replace(query=urlencode([*query, ("format", "Entity")])))
    return Target(url=entity_form, kind=target.kind, single=False)


def _page(
    em: EmContext, result: FollowLinkResult, paging: Paging | None, target: Target, offset: int, snapshot: str | None
) -> FollowLinkResult:
    """As many items as fit, from ``offset``, with a cursor to the rest (EM's next page for query results)."""
    resource = result.resource
    assert isinstance(resource, EntityReferences | ResourceList)
    items: list[Any] = list(resource.refs if isinstance(resource, EntityReferences) else resource.items)
    is_query = paging is not None
    total = len(items)
    window = items[offset:]
    shared, window = share_fields(window)

    def build(count: int) -> FollowLinkResult:
        shown = window[:count]
        listed: Any = (
            resource.model_copy(update={"refs": shown})
            if isinstance(resource, EntityReferences)
            else resource.model_copy(update={"items": shown})
        )
        next_cursor: str | None = None
        if offset + count < total:
            kept = {"s": snapshot} if snapshot is not None else {}
            next_cursor = encode_cursor(_SEARCH, {"h": target.url, "o": offset + count, **kept})
        elif paging is not None and paging.has_next:
            next_cursor = encode_cursor(_SEARCH, {"h": _next_page(target.url, paging.page_num + 1), "o": 0})
        note = None
        if next_cursor is not None:
            left = f"{total - offset - count} more items" if offset + count < total else "more pages"
            note = f"There are {left}: call follow_link(cursor=next_cursor) for them."
        return result.model_copy(
            update={
                "resource": listed,
                "shared": shared if count > 1 else None,
                "total": None if is_query else total,
                "first_item": None if is_query else offset,
                "returned": count,
                "page": paging.page_num if paging else None,
                "pages_count": paging.pages_count if paging else None,
                "next_cursor": next_cursor,
                "truncated": next_cursor is not None,
                "note": note,
            }
        )

    whole = build(len(window))
    if em.budget.fits(whole):
        return whole
    envelope = em.budget.size(build(0)) + len(json.dumps(shared, separators=(",", ":"))) + len(',"shared":')
    count = fit_items(em.budget, envelope, window)
    return build(count)


def _next_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "page"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("page", str(page))])))


def registry_row_of(segment: str) -> ResourceType | None:
    """The registry row whose top-level collection is ``segment`` (``vmRestorePoints``), if any."""
    return BY_COLLECTION.get(segment.lower())
