"""VM restore points: one by id, a search by VM name and time, and a VM's recovery summary.

All three go through EM (``/vmRestorePoints/{id}`` and the query service ``type=VmRestorePoint``) with
filters built by ``representation.query``, so a VM name can never change a filter's meaning. The
search returns one page at a time with an opaque cursor that also remembers how much of an EM page was
already returned: when a page is cut to fit the result size limit, the next call starts with exactly
the held-back points. The summary reads as few pages as it can (the first, those back to the chain's
full, the last) and reports progress.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from pydantic import BaseModel

from ..errors import ApiError, InvalidArgument, NotFound, ResponseError
from ..models.base import Platform, age_hours, parse_timestamp
from ..models.resources import Backup, BackupFile, Job, Ref, RestorePoint, VmRestorePoint
from ..models.results import (
    AppliedQuery,
    ChainFile,
    ChainInfo,
    CopyInfo,
    FindVmRestorePointsResult,
    PointBrief,
    VmRecoverySummary,
)
from ..representation.fields import PointFields
from ..representation.ids import guid_from, is_vm_ref
from ..representation.links import restore_point_guid
from ..representation.query import QueryPage, em_time, parse_query_page, parse_user_time, query_url, quote_value
from ..representation.registry import ResourceList, to_resource
from . import freshness, replicas
from .context import EmContext
from .cursor import decode_cursor, encode_cursor, invalid_cursor
from .fetch import fetch_entity
from .filters import backup_server_condition, check_text
from .pages import fit_items, share_fields
from .querying import BY_NAME, Sort, any_of, read_all, read_any_of

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
    guids = list(dict.fromkeys(g for g in map(_rp_guid, points) if g))
    if not guids:
        return points, 0
    read = await read_any_of(em, "RestorePoint", "UID", [f"urn:veeam:RestorePoint:{g}" for g in guids],
                             sort=_BY_BACKUP_DATE)
    backups = {rp.id: rp.backup for rp in read.items if isinstance(rp, RestorePoint) and rp.id}
    return [p.model_copy(update={"backup": backups.get(_rp_guid(p) or "")}) for p in points], read.requests


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


# --- the summary --------------------------------------------------------------------------------------

ProgressReporter = Callable[[float, float | None, str | None], Awaitable[Any]]


def _brief(point: VmRestorePoint, now: datetime) -> PointBrief:
    return PointBrief(
        id=point.id,
        name=point.name,
        creation_time=point.creation_time,
        age_hours=age_hours(point.creation_time, now) if point.creation_time else None,
        algorithm=point.algorithm,
        point_type=point.point_type,
    )


async def recovery_summary(
    em: EmContext, vm_name: str, rpo_hours: float, now: datetime, report_progress: ProgressReporter
) -> VmRecoverySummary:
    """Newest, oldest, count, chain and RPO of one VM, reading as few EM pages as possible."""
    query = build_query(vm_name=vm_name, newest_first=True, page_size=SUMMARY_PAGE_SIZE)
    pages: dict[int, PointPage] = {}
    reported = 0.0

    async def progress(done: float, total: float, message: str) -> None:
        nonlocal reported
        if done > reported:  # MCP progress must increase with every notification
            reported = done
            await report_progress(done, max(total, done), message)

    async def read(page: int) -> PointPage:
        nonlocal query
        pages[page] = got = await read_page(em, query, page)
        if page == 1 and got.points and got.points[0].creation_time:
            query = replace(query, until=got.points[0].creation_time)  # a stable snapshot for later pages
        await progress(len(pages), got.pages_count, f"read page {page} of {got.pages_count} for {vm_name!r}")
        return got

    first = await read(1)
    if not first.points:
        # A VM only replicated has no restore point, but has replicas (asked by name: no point gives its reference).
        replica, replica_requests = (
            (None, 0) if is_vm_ref(vm_name) else await replicas.replica_summary(em, vm_name, None, now)
        )
        return VmRecoverySummary(
            vm_name=vm_name,
            as_of=em_time(now),
            restore_point_count=0,
            rpo_hours=rpo_hours,
            rpo_met=False,
            pages_read=len(pages),
            note=(
                f"Enterprise Manager has no restore point for a VM named {vm_name!r}, so no recovery is possible "
                "from EM's backups. Check the exact name (find_vm_restore_points without vm_name lists points of "
                "all VMs), or the VM may not be in any backup job."
            ),
            replicas=replica,
            em_requests=len(pages) + replica_requests,
        )
    refs = sorted({point.hierarchy_obj_ref for point in first.points if point.hierarchy_obj_ref})
    if len(refs) > 1:
        servers = {p.hierarchy_obj_ref: p.backup_server.name if p.backup_server else "?" for p in first.points}
        choices = "; ".join(f"{ref} (on {servers.get(ref)})" for ref in refs)
        raise InvalidArgument(
            f"{len(refs)} VMs are named {vm_name!r} (in different vCenters, hosts or tenants), and a summary is of one "
            f"VM: call again with vm_name set to the id of the one you mean: {choices}."
        )
    copies, copy_points, copy_requests = await copies_of(em, first.points, now)
    primary = [point for point in first.points if point.restore_point is None or _rp_guid(point) not in copy_points]
    newest = primary[0] if primary else first.points[0]
    notes: list[str] = []
    if copies is not None and copies.count:
        notes.append(
            f"{copies.count} of the {len(first.points)} newest points are copies made by backup copy jobs: newest, "
            "the chain and the RPO are the primary backups'; copies says where the copies are and how new."
        )

    # The chain: walk back (newest first) to the nearest Full; increments depend on it (copies have their own).
    chain_note: str
    base: VmRestorePoint | None = None
    walked = 0
    chain_points: list[VmRestorePoint] = []  # newest first, down to the full
    page = first
    while base is None:
        for point in page.points:
            if point.restore_point is not None and _rp_guid(point) in copy_points:
                continue
            walked += 1
            chain_points.append(point)
            if point.point_type == "Full":
                base = point
                break
        if base is not None or not page.has_next:
            break
        page = pages.get(page.page_num + 1) or await read(page.page_num + 1)
    if base is None:
        chain_note = (
            "No Full restore point was found for this VM in EM: the newest point's chain has no full, so a "
            "restore from it may fail. Check the backup chain on the backup server."
        )
    elif base is newest:
        chain_note = "The newest restore point is itself a full backup; it depends on no other point."
    else:
        chain_note = (
            f"The newest restore point is an increment; a restore needs the full of {base.creation_time} "
            f"and the {walked - 1} increments after it up to the newest."
        )
    files, file_requests, missing = await chain_files(em, list(reversed(chain_points)) if base else [])
    sizes = [file.backup_size for file in files]
    complete = bool(files) and not missing and None not in sizes
    if missing:
        chain_note += f" EM did not return {missing} of the chain's backup files; their sizes are not counted."
    chain = ChainInfo(
        base_full=_brief(base, now) if base else None,
        points_after_full=walked - 1 if base else None,
        found=base is not None,
        files=files or None,
        total_backup_size=sum(s for s in sizes if s is not None) if complete else None,
        note=chain_note,
    )

    # Oldest and count: EM's page arithmetic, from the last page of the same (pinned) snapshot.
    last_num = max(pages[max(pages)].pages_count, 1)
    last = pages.get(last_num) or await read(last_num)
    while not last.points and last_num > 1:  # retention may have shrunk the list since page 1
        last_num -= 1
        last = pages.get(last_num) or await read(last_num)
    count = (last.page_num - 1) * last.page_size + len(last.points) if last.points else len(first.points)
    oldest = last.points[-1] if last.points else newest
    await progress(max(len(pages), last.pages_count), last.pages_count, "summary complete")

    age = age_hours(newest.creation_time, now) if newest.creation_time else None
    if age is None:
        notes.append("EM did not report the newest point's creation time, so the RPO cannot be checked.")
    elif age < 0:
        notes.append("The newest point is dated in the future: the clocks of EM and this server disagree.")
    rpo_met = age is not None and age <= rpo_hours
    if age is not None and not rpo_met:
        notes.append(
            f"The newest restore point is {age:g} h old, {age - rpo_hours:.2f} h past the {rpo_hours:g} h RPO: "
            "check the VM's backup job (disabled, failing, or the VM was removed from it)."
        )
    named = newest.vm_name or newest.vm_display_name or vm_name  # vm_name may be the VM's id
    replica, replica_requests = await replicas.replica_summary(em, named, refs[0] if refs else None, now)
    backup, repository, backup_requests = await _backup_of(em, newest, notes)

    # EM's copy of the backup servers' data may be stale: said, as in every estate answer (kept a few minutes).
    collected_at, stale, fresh_requests, versions = await freshness.collected(em, now)
    if stale:
        notes.insert(0, stale)
    server_name = newest.backup_server.name if newest.backup_server else None
    return VmRecoverySummary(
        vm_name=vm_name,
        as_of=em_time(now),
        restore_point_count=count,
        newest=_brief(newest, now),
        oldest=_brief(oldest, now),
        rpo_hours=rpo_hours,
        rpo_met=rpo_met,
        hours_over_rpo=None if age is None else max(0.0, round(age - rpo_hours, 2)),
        chain=chain,
        backup_server=newest.backup_server,
        backup_file=newest.backup_file,
        backup=backup,
        repository=repository,
        backup_server_version=(versions or {}).get(server_name or ""),
        collected=collected_at,
        pages_read=len(pages),
        em_requests=len(pages) + file_requests + copy_requests + backup_requests + fresh_requests + replica_requests,
        copies=copies,
        replicas=replica,
        note=" ".join(notes) or None,
    )


async def _backup_of(em: EmContext, point: VmRestorePoint, notes: list[str]) -> tuple[Ref | None, Ref | None, int]:
    """The backup (named after its job) and repository holding ``point``: its job-level point, then the backup.

    EM's VM restore point names neither; its job-level restore point links the backup, and the backup its
    repository. Two GETs; one EM cannot answer leaves the field out and says so in ``notes``.
    """
    guid = _rp_guid(point)
    if guid is None:
        return None, None, 0
    try:
        rp = await fetch_entity(
            em, "restorePoints", guid, RestorePoint, missing="EM has no such restore point.", what="a restore point"
        )
    except (ApiError, ResponseError) as exc:
        notes.append(f"The newest point's backup could not be read ({exc}); see its restore_point link.")
        return None, None, 1
    backup_guid = guid_from(None, rp.backup.href) if rp.backup is not None else None
    if rp.backup is None or backup_guid is None:
        return None, None, 1
    try:
        backup = await fetch_entity(
            em, "backups", backup_guid, Backup, missing="EM has no such backup.", what="a backup"
        )
    except (ApiError, ResponseError) as exc:
        notes.append(f"The repository of backup {rp.backup.name!r} could not be read ({exc}).")
        return rp.backup, None, 2
    return rp.backup, backup.repository, 2


_BY_BACKUP_DATE = Sort("CreationTime", "backup_date", True, "time")  # job-level restore points, newest first
COPY_TYPES = ("BackupCopy", "ImmediateBackupCopy")  # EM's JobType of backup copy jobs (12+ reports both)


def is_copy_job(job_type: str | None) -> bool:
    """Whether EM's JobType is a backup copy job's (compared ignoring case: EM's filters do)."""
    return (job_type or "").lower() in {kind.lower() for kind in COPY_TYPES}


def _rp_guid(point: VmRestorePoint | PointFields) -> str | None:
    return guid_from(None, point.restore_point.href) if point.restore_point else None


@dataclass(frozen=True)
class CopySet:
    """The backup copy jobs, their backups, and the job-level restore points those backups hold."""

    jobs: dict[str, Job]
    backups: dict[str, Backup]
    restore_points: dict[str, RestorePoint]
    requests: int

    def is_copy(self, point: VmRestorePoint | PointFields) -> bool:
        return _rp_guid(point) in self.restore_points


async def copy_restore_points(em: EmContext, since: str | None) -> CopySet:
    """Which job-level restore points (created since ``since``) are copies made by backup copy jobs.

    EM marks nothing as a copy: a copied point is an ordinary VM restore point in the copy job's own
    backup. So: the copy jobs (``type=Job``), their backups (``type=Backup`` by ``JobUid``), the job-level
    restore points of those backups (``type=RestorePoint`` by ``BackupUid``); a VM restore point whose
    job-level restore point is one of them is a copy. Three queries, whatever the estate.
    """
    jobs_read = await read_all(em, "Job", filter=any_of("JobType", list(COPY_TYPES)), sort=BY_NAME, page_size=100)
    requests = jobs_read.requests
    copy_jobs = {job.id: job for job in jobs_read.items if isinstance(job, Job) and job.id}
    if not copy_jobs:
        return CopySet({}, {}, {}, requests)
    uids = [f"urn:veeam:Job:{job}" for job in copy_jobs]
    backups_read = await read_any_of(em, "Backup", "JobUid", uids, sort=BY_NAME)
    requests += backups_read.requests
    backups = {b.id: b for b in backups_read.items if isinstance(b, Backup) and b.id}
    if not backups:
        return CopySet(copy_jobs, {}, {}, requests)
    rps_read = await read_any_of(
        em,
        "RestorePoint",
        "BackupUid",
        [f"urn:veeam:Backup:{b}" for b in backups],
        also=f"CreationTime>={quote_value(since)}" if since else None,
        sort=_BY_BACKUP_DATE,
    )
    requests += rps_read.requests
    rps = {rp.id: rp for rp in rps_read.items if isinstance(rp, RestorePoint) and rp.id}
    return CopySet(copy_jobs, backups, rps, requests + 0)


async def copies_of(
    em: EmContext, points: Sequence[VmRestorePoint], now: datetime
) -> tuple[CopyInfo | None, set[str], int]:
    """Which of ``points`` are copies made by backup copy jobs (``copy_restore_points``), and their summary."""
    times = [parse_timestamp(p.creation_time) for p in points if p.creation_time]
    found = await copy_restore_points(em, em_time(min(times) - timedelta(days=1)) if times else None)
    copy_jobs, backups, copy_rps, requests = found.jobs, found.backups, found.restore_points, found.requests
    if not copy_jobs:
        none = CopyInfo(count=0, note="EM knows no backup copy job: no restore point of this VM is a copy.")
        return none, set(), requests
    if not backups:
        return CopyInfo(count=0, note="The backup copy jobs have no backup in EM yet."), set(), requests
    copied = [p for p in points if _rp_guid(p) in copy_rps]
    where: set[str] = set()
    for point in copied:
        rp = copy_rps.get(_rp_guid(point) or "")
        guid = guid_from(None, rp.backup.href) if rp is not None and rp.backup is not None else None
        repository = backups[guid].repository if guid in backups else None
        if repository is not None:
            where.add(repository.name or "?")
    names = sorted({job.name or "" for job in copy_jobs.values()} - {""})
    newest = copied[0] if copied else None
    places = ", ".join(sorted(where)) or "a repository EM does not name"
    note = (
        f"Copied by {', '.join(names)} to {places}; the newest copy is {age_hours(newest.creation_time, now):g} h old."
        if newest and newest.creation_time
        else f"None of this VM's newest {len(points)} points is a copy: the backup copy jobs ({', '.join(names)}) "
        "do not copy it, or have not yet."
    )
    return (
        CopyInfo(
            count=len(copied),
            newest=_brief(newest, now) if newest else None,
            jobs=names or None,
            repositories=sorted(where) or None,
            note=note,
        ),
        set(copy_rps),
        requests,
    )


MAX_CHAIN_FILE_READS = 10  # single-file reads when the backup's file list does not hold every chain file


async def chain_files(em: EmContext, chain: list[VmRestorePoint]) -> tuple[list[ChainFile], int, int]:
    """The backup files of ``chain`` (full first), their sizes, the EM requests made, and how many are missing.

    Two reads, whatever the chain's length: the newest point's file (for its backup), then that backup's
    files in entity form, where every file of the chain is (one job's chain lives in one backup).
    """
    wanted: list[str] = []
    for point in chain:
        guid = guid_from(None, point.backup_file.href) if point.backup_file else None
        if guid and guid not in wanted:
            wanted.append(guid)
    if not wanted:
        return [], 0, 0
    requests = 0
    found: dict[str, BackupFile] = {}

    async def read_file(guid: str) -> None:
        nonlocal requests
        requests += 1
        resource = to_resource(await em.client.get(f"{em.base_url}/backupFiles/{guid}?format=Entity"), "BackupFile")
        if isinstance(resource, BackupFile) and resource.id:
            found[resource.id] = resource

    try:
        await read_file(wanted[-1])
        newest = found.get(wanted[-1])
        if len(wanted) > 1 and newest is not None and newest.backup is not None:
            target = em.policy.vet(newest.backup.href.rstrip("/") + "/backupFiles?format=Entity")
            requests += 1
            listed = to_resource(await em.client.get(target.url))
            if isinstance(listed, ResourceList):
                found.update((item.id, item) for item in listed.items if isinstance(item, BackupFile) and item.id)
        for guid in [g for g in wanted if g not in found][:MAX_CHAIN_FILE_READS]:
            await read_file(guid)
    except (NotFound, ResponseError) as exc:
        log.info("chain files of a recovery summary incomplete: %s", type(exc).__name__)
    files = [
        ChainFile(
            name=found[guid].name,
            file_type=found[guid].file_type,
            backup_size=found[guid].backup_size,
            creation_time=found[guid].creation_time,
            href=f"{em.base_url}/backupFiles/{guid}",
        )
        for guid in wanted
        if guid in found
    ]
    return files, requests, len(wanted) - len(files)
