"""VM restore points: one by id, and the search by VM name and time (``find_vm_restore_points``).

Both go through EM (``/vmRestorePoints/{id}`` and the query service ``type=VmRestorePoint``) with
filters built by ``representation.query``, so a VM name can never change a filter's meaning. The
search returns one page at a time with an opaque cursor that also remembers how much of an EM page was
already returned: when a page is cut to fit the result size limit, the next call starts with exactly
the held-back points. ``services.restore_points`` re-exports these names with the recovery summary's.
"""


from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

from pydantic import BaseModel

from ..errors import ApiError, InvalidArgument, ResponseError
from ..models.base import Platform, parse_timestamp
from ..models.resources import RestorePoint, VmRestorePoint
from ..models.results import (
    AppliedQuery,
    FindVmRestorePointsResult,
)
from ..representation.fields import PointFields
from ..representation.ids import guid_from, is_vm_ref
from ..representation.links import restore_point_guid
from ..representation.query import QueryPage, em_time, parse_query_page, parse_user_time, query_url, quote_value
from .context import EmContext
from .cursor import decode_cursor, encode_cursor, invalid_cursor
from .fetch import fetch_entity
from .filters import backup_server_condition, check_text
from .pages import fit_items, share_fields
from .querying import Sort, read_any_of

Algorithm = Literal["Full", "Incremental", "ReversedIncremental", "SyntheticFull"]
PointType = Literal["Full", "Increment", "ReverseIncrement"]
ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
POINT_TYPES: tuple[str, ...] = get_args(PointType)
PLATFORMS: tuple[str, ...] = get_args(Platform)

MAX_PAGE_SIZE = 100
MAX_PAGES_PER_CALL = 5  # EM pages one search call reads at most when the platform filter skips points
DEFAULT_PAGE_SIZE = 20
SUMMARY_PAGE_SIZE = MAX_PAGE_SIZE  # the summary reads few pages, so each may as well be large
_SEARCH = "vm_restore_points"
log = logging.getLogger("veeam_em_mcp.services")
_TOOL = "find_vm_restore_points"


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


# --- the search ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VmPointQuery:
    """A VmRestorePoint query as the tools take it; ``until`` pins later pages (see ``filter_expression``).

    Times are kept as canonical UTC text so the query round-trips through a cursor unchanged.
    ``created_after`` is inclusive and ``created_before`` exclusive: consecutive windows neither overlap
    nor leave a gap. ``platform`` is filtered here, on the points EM returns: EM's VmRestorePoint query
    has no platform field, and a range on HierarchyObjRef would depend on EM's string collation.
    """

    vm_name: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    algorithm: tuple[str, ...] | None = None
    point_type: str | None = None
    backup_server: str | None = None
    platform: str | None = None
    newest_first: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    until: str | None = None

    def filter_expression(self) -> str | None:
        """EM's filter for this query (``None`` when nothing is filtered)."""
        parts: list[str] = []
        if self.vm_name is not None and is_vm_ref(self.vm_name):
            # A VM given by its id (vm_id of an estate row): exactly that VM, whatever its name.
            parts.append(f"HierarchyObjRef=={quote_value(self.vm_name.strip())}")
        elif self.vm_name is not None:
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
        if self.algorithm:
            either = ",".join(f"Algorithm=={quote_value(algorithm)}" for algorithm in self.algorithm)
            parts.append(f"({either})" if len(self.algorithm) > 1 else either)
        if self.point_type is not None:
            parts.append(f"Type=={quote_value(self.point_type)}")
        if self.backup_server is not None:
            parts.append(backup_server_condition(self.backup_server))
        return ";".join(parts) or None

    def url(self, base_url: str, page: int) -> str:
        """``{base}/query?type=VmRestorePoint&format=Entities&filter=…&sortDesc=CreationTime&pageSize=N&page=M``."""
        return query_url(
            base_url,
            "VmRestorePoint",
            filter=self.filter_expression(),
            sort=("desc" if self.newest_first else "asc", "CreationTime"),
            page_size=self.page_size,
            page=page,
        )

    def matches(self, point: VmRestorePoint) -> bool:
        """What EM cannot filter: the platform."""
        return self.platform is None or point.platform == self.platform


def build_query(
    *,
    vm_name: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    algorithm: str | Sequence[str] | None = None,
    point_type: str | None = None,
    backup_server: str | None = None,
    platform: str | None = None,
    newest_first: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> VmPointQuery:
    """Validate tool arguments into a query; raises ``InvalidArgument`` before anything is sent."""
    after = em_time(parse_user_time(created_after, "created_after")) if created_after is not None else None
    before = em_time(parse_user_time(created_before, "created_before")) if created_before is not None else None
    if after is not None and before is not None and parse_timestamp(after) >= parse_timestamp(before):
        raise InvalidArgument(
            f"created_after ({after}) must be earlier than created_before ({before}); the window is empty."
        )
    algorithms = (algorithm,) if isinstance(algorithm, str) else tuple(algorithm) if algorithm is not None else None
    for name in algorithms or ():
        if name not in ALGORITHMS:
            raise InvalidArgument(f"algorithm must be one or more of {', '.join(ALGORITHMS)}, not {name!r}.")
    if algorithms is not None:
        algorithms = tuple(dict.fromkeys(algorithms)) or None  # in the order given, each once
    if point_type is not None and point_type not in POINT_TYPES:
        raise InvalidArgument(f"point_type must be one of {', '.join(POINT_TYPES)}, not {point_type!r}.")
    if platform is not None and platform not in PLATFORMS:
        raise InvalidArgument(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}.")
    check_text("vm_name", vm_name)
    check_text("backup_server", backup_server)
    return VmPointQuery(
        vm_name=vm_name,
        created_after=after,
        created_before=before,
        algorithm=algorithms,
        point_type=point_type,
        backup_server=backup_server,
        platform=platform,
        newest_first=newest_first,
        page_size=page_size,
    )


_TEXT_FIELDS = ("vm_name", "created_after", "created_before", "point_type", "backup_server", "platform")


@dataclass(frozen=True)
class Cursor:
    """Where the next call resumes: the query, EM's page number, and how many of that page were already read."""

    query: VmPointQuery
    page: int
    skip: int = 0

    def encode(self) -> str:
        fields = asdict(self.query)
        fields["algorithm"] = list(self.query.algorithm) if self.query.algorithm else None
        return encode_cursor(_SEARCH, {"q": fields, "p": self.page, "s": self.skip})

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Read a cursor this server issued; anything else is refused with a clear message."""
        payload = decode_cursor(_SEARCH, text, tool=_TOOL)
        try:
            page, skip, fields = payload["p"], payload["s"], payload["q"]
            if type(page) is not int or type(skip) is not int or not isinstance(fields, dict):
                raise ValueError("bad cursor fields")
            fields = {"platform": None, **fields}  # cursors issued before the platform filter lack it
            if set(fields) != set(VmPointQuery.__dataclass_fields__):
                raise ValueError("bad query fields")
            for key in _TEXT_FIELDS:
                if fields[key] is not None and not isinstance(fields[key], str):
                    raise ValueError("bad text field")
            algorithm = fields["algorithm"]
            if algorithm is not None and not (
                isinstance(algorithm, str)
                or (isinstance(algorithm, list) and algorithm and all(isinstance(a, str) for a in algorithm))
            ):
                raise ValueError("bad algorithm")
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
        except (ValueError, KeyError, TypeError, InvalidArgument):
            raise invalid_cursor(_TOOL) from None


def check_cursor_agrees(query: VmPointQuery, given: dict[str, Any]) -> None:
    """A cursor carries its query; an argument that contradicts it is a mistake worth saying out loud."""
    for name, value in given.items():
        if value is None:
            continue
        carried = getattr(query, name)
        if name in ("created_after", "created_before"):
            value = em_time(parse_user_time(value, name))
        if name == "algorithm":
            value = tuple(dict.fromkeys([value] if isinstance(value, str) else value))
        if value != carried:
            raise InvalidArgument(
                f"The cursor belongs to a query with {name}={carried!r}, but {name}={value!r} was given. "
                "Pass the cursor alone to continue that query, or drop the cursor to start a new one."
            )


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
