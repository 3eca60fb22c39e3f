"""``find_vm_restore_points`` and ``vm_recovery_summary``: restore points by VM name and time, not by GUID.

Both go through EM's query service (``/api/query?type=VmRestorePoint``) with filters built by
``veeam_em_mcp.query``, so a VM name can never change the filter's meaning. ``find`` returns one page at a
time with an opaque cursor that also remembers how much of an EM page was already returned: when a page is
cut to fit the result size limit, the next call starts with exactly the held-back points. ``summary`` reads
as few pages as it can (the first, those back to the chain's full, the last) and reports MCP progress.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..client import EnterpriseManagerClient
from ..config import Settings
from ..errors import InvalidArgument
from ..links import classify
from ..models import VmRestorePoint, age_hours
from ..query import (
    MAX_PAGE_SIZE,
    Algorithm,
    Cursor,
    PointType,
    QueryPage,
    VmPointQuery,
    build_query,
    em_time,
    parse_query_page,
    parse_user_time,
)
from ..query_models import (
    AppliedQuery,
    ChainInfo,
    FindVmRestorePointsResult,
    LinkedResource,
    PointBrief,
    VmRecoverySummary,
)
from .common import READ_ONLY, bounded_result, em_errors, longest_fitting, state_of

DEFAULT_PAGE_SIZE = 20
SUMMARY_PAGE_SIZE = MAX_PAGE_SIZE  # the summary reads few pages, so each may as well be large

FIND_VM_RESTORE_POINTS = """\
Find VM restore points in Veeam Backup Enterprise Manager by what people know: the VM's name, a time \
window, the algorithm, the point type or the backup server. Use it for lists and history ("which backups \
of sql01 ran since Friday?", "all full points last week"). For "is this VM protected / within its RPO / \
what is its newest point" call vm_recovery_summary instead.

vm_name matches the whole name exactly (case-insensitive), any characters allowed. created_after \
(inclusive) and created_before (exclusive) take ISO 8601 (2026-11-20, 2026-11-20T06:00:00Z, \
...+02:00); without an offset the time is UTC. Results are newest first unless newest_first is false; \
page_size is 1-100 (default 20). Each page returns full restore points (the get_vm_restore_point model) \
plus EM's page number and page count. When next_cursor is set, more points exist: call again with only \
cursor=next_cursor (the filters travel inside it). If truncated is true, some points of the page were held \
back to fit the size limit; next_cursor starts with them. To go deeper into one point, call \
get_vm_restore_point with its id, or follow_link with one of its links (backup file, backup server, \
job-level restore point)."""

VM_RECOVERY_SUMMARY = """\
Answer "how recoverable is this VM right now?" in one call: its newest restore point (time, age, \
algorithm), its oldest, how many Enterprise Manager holds, the full backup the newest point depends on \
(its chain), the backup server and backup file of the newest point, and whether the recovery point \
objective (rpo_hours, default 24) is met, measured against the current UTC time. vm_name must match the \
whole name exactly (case-insensitive). It reads as many EM query pages as it needs and reports progress. \
Use find_vm_restore_points to list the points themselves; use get_vm_restore_point or follow_link (with \
the hrefs given here) to go deeper."""


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name="find_vm_restore_points",
        title="Find VM restore points",
        description=FIND_VM_RESTORE_POINTS,
        annotations=ToolAnnotations(title="Find VM restore points", **READ_ONLY),
    )
    @em_errors
    async def find_vm_restore_points(
        ctx: Context,
        vm_name: Annotated[
            str | None, Field(description="Exact VM name (case-insensitive)", min_length=1, max_length=512)
        ] = None,
        created_after: Annotated[
            str | None,
            Field(description="Only points created at or after this ISO 8601 time (UTC if no offset)", max_length=64),
        ] = None,
        created_before: Annotated[
            str | None,
            Field(description="Only points created before this ISO 8601 time (UTC if no offset)", max_length=64),
        ] = None,
        algorithm: Annotated[Algorithm | None, Field(description="Only points with this algorithm")] = None,
        point_type: Annotated[PointType | None, Field(description="Only points of this type")] = None,
        backup_server: Annotated[
            str | None,
            Field(description="Only points made by this backup server: its name or id", min_length=1, max_length=512),
        ] = None,
        newest_first: Annotated[bool | None, Field(description="Newest first (default true)")] = None,
        page_size: Annotated[
            int | None,
            Field(description=f"Points per page, 1-{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})", ge=1, le=100),
        ] = None,
        cursor: Annotated[
            str | None, Field(description="next_cursor of a previous result, to get the next page", max_length=4096)
        ] = None,
    ) -> Annotated[CallToolResult, FindVmRestorePointsResult]:
        state = state_of(ctx)
        given: dict[str, Any] = {
            "vm_name": vm_name,
            "created_after": created_after,
            "created_before": created_before,
            "algorithm": algorithm,
            "point_type": point_type,
            "backup_server": backup_server,
            "newest_first": newest_first,
            "page_size": page_size,
        }
        if cursor is not None:
            position = Cursor.decode(cursor)
            _check_cursor_agrees(position.query, given)
        else:
            query = build_query(
                **{k: v for k, v in given.items() if k not in ("newest_first", "page_size")},
                newest_first=True if newest_first is None else newest_first,
                page_size=DEFAULT_PAGE_SIZE if page_size is None else page_size,
            )
            position = Cursor(query, page=1)
        result = await find_page(state.client, state.settings, position)
        return bounded_result(result, state.settings, "Raise VEEAM_MCP_MAX_RESULT_CHARS.")

    @server.tool(
        name="vm_recovery_summary",
        title="VM recovery summary",
        description=VM_RECOVERY_SUMMARY,
        annotations=ToolAnnotations(title="VM recovery summary", **READ_ONLY),
    )
    @em_errors
    async def vm_recovery_summary(
        vm_name: Annotated[str, Field(description="Exact VM name (case-insensitive)", min_length=1, max_length=512)],
        ctx: Context,
        rpo_hours: Annotated[
            float,
            # ge rather than gt: some clients (Gemini) reject exclusiveMinimum.
            Field(description="Recovery point objective in hours (default 24)", ge=0.01, le=8760),
        ] = 24,
    ) -> Annotated[CallToolResult, VmRecoverySummary]:
        state = state_of(ctx)
        clock = state.extras.get("clock")
        now = clock() if callable(clock) else datetime.now(UTC)
        summary = await recovery_summary(state.client, state.settings, vm_name, rpo_hours, now, ctx.report_progress)
        return bounded_result(summary, state.settings, "The summary cannot be split: raise VEEAM_MCP_MAX_RESULT_CHARS.")


def _check_cursor_agrees(query: VmPointQuery, given: dict[str, Any]) -> None:
    """A cursor carries its query; an argument that contradicts it is a mistake worth saying out loud."""
    for name, value in given.items():
        if value is None:
            continue
        carried = getattr(query, name)
        if name in ("created_after", "created_before"):
            value = em_time(parse_user_time(value, name))
        if value != carried:
            raise InvalidArgument(
                f"The cursor belongs to a query with {name}={carried!r}, but {name}={value!r} was given. "
                "Pass the cursor alone to continue that query, or drop the cursor to start a new one."
            )


async def _read(client: EnterpriseManagerClient, settings: Settings, query: VmPointQuery, page: int) -> QueryPage:
    return parse_query_page(await client.get(query.url(settings.base_url, page)))


def _applied(query: VmPointQuery, sent: VmPointQuery) -> AppliedQuery:
    """``query`` is what later pages use (possibly pinned); ``sent`` is what produced this page."""
    return AppliedQuery(
        vm_name=query.vm_name,
        created_after=query.created_after,
        created_before=query.created_before,
        algorithm=query.algorithm,
        point_type=query.point_type,
        backup_server=query.backup_server,
        newest_first=query.newest_first,
        snapshot_until=query.until,
        em_filter=sent.filter_expression(),
    )


async def find_page(client: EnterpriseManagerClient, settings: Settings, position: Cursor) -> FindVmRestorePointsResult:
    """Read the cursor's EM page and return what fits, with a cursor to exactly the next unseen point."""
    query = position.query
    em_page = await _read(client, settings, query, position.page)
    if query.newest_first and query.until is None and em_page.points and em_page.points[0].creation_time:
        # Pin later pages to the newest point seen now (see VmPointQuery.filter_expression).
        query = replace(query, until=em_page.points[0].creation_time)
    points = em_page.points[position.skip :]

    def build(count: int) -> FindVmRestorePointsResult:
        held = len(points) - count
        if held:
            next_cursor: str | None = Cursor(query, position.page, position.skip + count).encode()
        elif em_page.has_next:
            next_cursor = Cursor(query, position.page + 1).encode()
        else:
            next_cursor = None
        note = None
        if held and count == 0:
            note = (
                f"Not even one restore point fits the result size limit (VEEAM_MCP_MAX_RESULT_CHARS="
                f"{settings.max_result_chars}); raise it. The {held} points of this page were not returned; "
                "next_cursor still points at them, and get_vm_restore_point returns one point at a time."
            )
        elif held:
            note = (
                f"Only {count} of the {len(points)} restore points of this page fit the result size limit "
                f"(VEEAM_MCP_MAX_RESULT_CHARS={settings.max_result_chars}). The other {held} were held back: call "
                "again with cursor=next_cursor to get them (nothing is skipped), or ask for a smaller page_size "
                "or a narrower filter."
            )
        elif not points and position.page == 1 and position.skip == 0:
            note = (
                "No restore point matches this query. vm_name must be the VM's whole name (EM compares it "
                "exactly, ignoring case); widen the time window or drop filters to see more."
            )
        elif not points:
            note = "This page is empty: retention may have removed points since the cursor was issued."
        return FindVmRestorePointsResult(
            restore_points=points[:count],
            returned=count,
            page=em_page.page_num,
            page_size=em_page.page_size,
            pages_count=em_page.pages_count,
            skipped_on_page=position.skip,
            next_cursor=next_cursor,
            truncated=held > 0,
            held_back=held,
            note=note,
            query=_applied(query, position.query),
        )

    return longest_fitting(len(points), build, settings)


# --- the summary --------------------------------------------------------------------------------------------

ProgressReporter = Callable[[float, float | None, str | None], Any]


def _brief(point: VmRestorePoint, now: datetime) -> PointBrief:
    return PointBrief(
        id=point.id,
        name=point.name,
        creation_time=point.creation_time,
        age_hours=age_hours(point.creation_time, now) if point.creation_time else None,
        algorithm=point.algorithm,
        point_type=point.point_type,
        href=point.href,
    )


def _linked(point: VmRestorePoint, kind: str) -> LinkedResource | None:
    # Decide by the href's path, never by the link's Type: real servers mislabel some link types.
    for link in point.links:
        if classify(urlsplit(link.href).path) == (kind, True):
            return LinkedResource(name=link.name, href=link.href)
    return None


async def recovery_summary(
    client: EnterpriseManagerClient,
    settings: Settings,
    vm_name: str,
    rpo_hours: float,
    now: datetime,
    report_progress: ProgressReporter,
) -> VmRecoverySummary:
    """Newest, oldest, count, chain and RPO of one VM, reading as few EM pages as possible."""
    query = build_query(vm_name=vm_name, newest_first=True, page_size=SUMMARY_PAGE_SIZE)
    pages: dict[int, QueryPage] = {}
    reported = 0.0

    async def progress(done: float, total: float, message: str) -> None:
        nonlocal reported
        if done > reported:  # MCP progress must increase with every notification
            reported = done
            await report_progress(done, max(total, done), message)

    async def read(page: int) -> QueryPage:
        nonlocal query
        pages[page] = got = await _read(client, settings, query, page)
        if page == 1 and got.points and got.points[0].creation_time:
            query = replace(query, until=got.points[0].creation_time)  # a stable snapshot for later pages
        await progress(len(pages), got.pages_count, f"read page {page} of {got.pages_count} for {vm_name!r}")
        return got

    first = await read(1)
    if not first.points:
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
        )
    newest = first.points[0]
    notes: list[str] = []

    # The chain: walk back (newest first) to the nearest Full; increments depend on it.
    chain_note: str
    base: VmRestorePoint | None = None
    walked = 0
    page = first
    while base is None:
        for point in page.points:
            walked += 1
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
    chain = ChainInfo(
        base_full=_brief(base, now) if base else None,
        points_after_full=walked - 1 if base else None,
        found=base is not None,
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
        backup_server=_linked(newest, "BackupServer"),
        backup_file=_linked(newest, "BackupFile"),
        pages_read=len(pages),
        note=" ".join(notes) or None,
    )
