"""VM restore points: one by id, and the search by VM name and time (``find_vm_restore_points``).

Both go through EM (``/vmRestorePoints/{id}`` and the query service ``type=VmRestorePoint``) with
filters built by ``representation.query``, so a VM name can never change a filter's meaning. The
search returns one page at a time with an opaque cursor that also remembers how much of an EM page was
already returned: when a page is cut to fit the result size limit, the next call starts with exactly
the held-back points. The query and its cursor are ``point_query``'s; ``services.restore_points``
re-exports the names of both with the recovery summary's.
"""


from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel

from ..errors import ApiError, ResponseError
from ..models.resources import RestorePoint, VmRestorePoint
from ..models.results import (
    AppliedQuery,
    FindVmRestorePointsResult,
)
from ..representation.fields import PointFields
from ..representation.ids import guid_from
from ..representation.links import restore_point_guid
from ..representation.query import QueryPage, parse_query_page
from .chunked_reads import read_any_of
from .context import EmContext
from .fetch import fetch_entity
from .pages import fit_items, share_fields
from .point_query import Cursor, VmPointQuery
from .query_terms import Sort

MAX_PAGES_PER_CALL = 5  # EM pages one search call reads at most when the platform filter skips points
log = logging.getLogger("veeam_em_mcp.services")


# --- one restore point --------------------------------------------------------------------------------

BY_BACKUP_DATE = Sort("CreationTime", "backup_date", True, "time")  # job-level restore points, newest first


def job_point_guid(point: VmRestorePoint | PointFields) -> str | None:
    """The GUID of the job-level restore point a VM's point belongs to (the summary uses it too)."""
    return guid_from(None, point.restore_point.href) if point.restore_point else None



async def read_vm_restore_point(em: EmContext, identifier: str) -> VmRestorePoint:
    """One VM restore point in entity form, from its GUID, UID or href, with the backup that holds it.

    Two requests: the point, then its job-level point (which links the backup, named after its job). When EM
    cannot answer the second, the point comes without ``backup`` (its restore_point link still leads there).
    """
    guid = restore_point_guid(identifier, em.policy)
    point = await fetch_entity(
        em,
        "vmRestorePoints",
        guid,
        VmRestorePoint,
        missing=f"No VM restore point with id {guid} exists on Enterprise Manager. Check the id, or search by "
        "VM name with find_vm_restore_points.",
        what="a VM restore point",
    )
    try:
        (named,), _ = await with_backups(em, [point])
    except (ApiError, ResponseError) as exc:  # EM refused or garbled the second read: the point itself stands
        log.warning("restore point %s: its backup could not be read (%s)", guid, type(exc).__name__)
        return point
    return named


async def with_backups(em: EmContext, points: list[VmRestorePoint]) -> tuple[list[VmRestorePoint], int]:
    """``points`` with the backup each is in, and the EM requests spent. EM's VM restore point names no job
    and no backup; its job-level restore point links the backup, which VBR names after its job. One query
    of those job-level points (by UID, 15 at a time), not one request per point."""
    guids = list(dict.fromkeys(g for g in map(job_point_guid, points) if g))
    if not guids:
        return points, 0
    read = await read_any_of(em, "RestorePoint", "UID", [f"urn:veeam:RestorePoint:{g}" for g in guids],
                             sort=BY_BACKUP_DATE)
    backups = {rp.id: rp.backup for rp in read.items if isinstance(rp, RestorePoint) and rp.id}
    return [p.model_copy(update={"backup": backups.get(job_point_guid(p) or "")}) for p in points], read.requests


@dataclass(frozen=True)
class PointPage:
    """One page of VmRestorePoints with EM's paging numbers."""

    points: list[VmRestorePoint]
    page_num: int
    page_size: int
    pages_count: int
    has_next: bool


async def read_page(em: EmContext, query: VmPointQuery, page: int) -> PointPage:
    got: QueryPage = parse_query_page(await em.client.get(query.url(em.base_url, page)), "VmRestorePoint")
    points = [item for item in got.items if isinstance(item, VmRestorePoint)]
    paging = got.paging
    return PointPage(points, paging.page_num, paging.page_size, paging.pages_count, paging.has_next)


def _applied(query: VmPointQuery, sent: VmPointQuery) -> AppliedQuery:
    """``query`` is what later pages use (possibly pinned); ``sent`` is what produced this page."""
    return AppliedQuery(
        vm_name=query.vm_name,
        created_after=query.created_after,
        created_before=query.created_before,
        algorithm=list(query.algorithm) if query.algorithm else None,
        point_type=query.point_type,
        backup_server=query.backup_server,
        platform=query.platform,
        newest_first=query.newest_first,
        snapshot_until=query.until,
        em_filter=sent.filter_expression(),
    )


async def find_page(em: EmContext, position: Cursor) -> FindVmRestorePointsResult:
    """Read from the cursor's position, return the points that fit, with a cursor to exactly the next unseen one.

    Without a platform filter one call reads one EM page. With it, points EM returns for other platforms are
    skipped, and up to ``MAX_PAGES_PER_CALL`` EM pages are read to fill the page.
    """
    query = position.query
    page_no, skip = position.page, position.skip
    found: list[tuple[VmRestorePoint, int, int]] = []  # (point, EM page, offset in that page)
    first: PointPage | None = None
    resume: tuple[int, int] | None = None  # where the next call starts when nothing is held back
    pages_read = 0
    while True:
        em_page = await read_page(em, query, page_no)
        pages_read += 1
        if first is None:
            first = em_page
            if query.newest_first and query.until is None and em_page.points and em_page.points[0].creation_time:
                # Pin later pages to the newest point seen now (see VmPointQuery.filter_expression).
                query = replace(query, until=em_page.points[0].creation_time)
        for offset in range(skip, len(em_page.points)):
            point = em_page.points[offset]
            if query.matches(point):
                found.append((point, page_no, offset))
        full = len(found) >= query.page_size
        if not em_page.has_next:
            resume = None
            break
        resume = (page_no + 1, 0)
        if full or query.platform is None or pages_read >= MAX_PAGES_PER_CALL:
            break
        page_no, skip = page_no + 1, 0
    if len(found) > query.page_size:  # the platform filter read past a full page: resume inside it
        _, page_at, offset_at = found[query.page_size]
        resume = (page_at, offset_at)
        found = found[: query.page_size]
    assert first is not None
    named, backup_requests = await with_backups(em, [point for point, _, _ in found])
    found = [(point, page_at, offset_at) for point, (_, page_at, offset_at) in zip(named, found, strict=True)]
    shared, points = share_fields(named)
    limit = em.budget.max_chars

    def result(count: int) -> FindVmRestorePointsResult:
        held = len(points) - count
        if held:
            _, page_at, offset_at = found[count]
            next_cursor: str | None = Cursor(query, page_at, offset_at).encode()
        elif resume is not None:
            next_cursor = Cursor(query, *resume).encode()
        else:
            next_cursor = None
        note = None
        if held and count == 0:
            note = (
                f"Not even one restore point fits the result size limit (VEEAM_MCP_MAX_RESULT_CHARS={limit}); "
                f"raise it. The {held} points of this page were not returned; next_cursor still points at them, "
                "and get_vm_restore_point returns one point at a time."
            )
        elif held:
            note = (
                f"Only {count} of the {len(points)} restore points of this page fit the result size limit "
                f"(VEEAM_MCP_MAX_RESULT_CHARS={limit}). The other {held} were held back: call again with "
                "cursor=next_cursor to get them (nothing is skipped), or ask for a smaller page_size or a narrower "
                "filter."
            )
        elif len({p.hierarchy_obj_ref for p, _, _ in found if p.hierarchy_obj_ref}) > 1 and query.vm_name:
            note = (
                f"Several VMs are named {query.vm_name!r}: their points differ in hierarchy_obj_ref (and "
                "backup_server). Pass one of those ids as vm_name for one VM's points."
            )
        elif not points and position.page == 1 and position.skip == 0 and next_cursor is None:
            note = (
                "No restore point matches this query. vm_name must be the VM's whole name (EM compares it "
                "exactly, ignoring case); widen the time window or drop filters to see more."
            )
        elif not points and next_cursor is not None:
            note = (
                f"None of the points on the {pages_read} EM pages read is on platform {query.platform}; "
                "call again with cursor=next_cursor to read further."
            )
        elif not points:
            note = "This page is empty: retention may have removed points since the cursor was issued."
        return FindVmRestorePointsResult(
            restore_points=points[:count],
            shared=shared if count > 1 else None,
            returned=count,
            page=first.page_num,
            page_size=first.page_size,
            pages_count=first.pages_count,
            skipped_on_page=position.skip,
            em_requests=pages_read + backup_requests,
            next_cursor=next_cursor,
            truncated=next_cursor is not None,
            held_back=held,
            note=note,
            query=_applied(query, position.query),
        )

    whole = result(len(points))
    if em.budget.fits(whole):
        return whole
    envelope = em.budget.size(result(0)) + len(em.budget.json(_shared_only(shared)))
    count = fit_items(em.budget, envelope, points)
    if count < 2:  # one point alone carries its shared fields itself
        points = [point for point, _, _ in found]
        count = fit_items(em.budget, em.budget.size(result(0)), points)
    return result(count)


def _shared_only(shared: dict[str, Any]) -> BaseModel:
    """A stand-in to measure the ``shared`` object's JSON (its key and braces included)."""
    return _Shared(shared=shared)


class _Shared(BaseModel):
    shared: dict[str, Any]
