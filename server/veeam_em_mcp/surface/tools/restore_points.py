"""Restore-point tools: ``get_vm_restore_point``, ``find_vm_restore_points``, ``vm_recovery_summary``.

Thin adapters: each validates nothing beyond its MCP argument schema, calls ``services.restore_points``
and wraps the answer as a structured result bounded by the result size limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ...models.base import Platform
from ...models.resources import VmRestorePoint
from ...models.results import FindVmRestorePointsResult, VmRecoverySummary
from ...services import restore_points
from ...services.restore_points import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Algorithm, Cursor, PointType
from ..state import state_of
from ._registration import ToolSpec
from .common import bounded_result, restore_point_link

GET_VM_RESTORE_POINT = """\
Get one VM restore point: when it was created (UTC, full precision), its VM, whether it is a full or \
an increment (algorithm, point_type), the platform, and where it lives: backup_server, backup (named \
after its job), restore_point (the job-level point) and backup_file, each {name, href}. \
restore_point_id takes the GUID, the UID (urn:veeam:VmRestorePoint:<GUID>) or the href. Pass an href \
to follow_link to go deeper (backup_file gives the file's path and size). 'actions' names what EM \
could do with it; this server is read-only and never does any of them."""

FIND_VM_RESTORE_POINTS = """\
List VM restore points by what people know: the VM's name (or vm_id), a time window, the algorithm, the point \
type, the platform or the backup server ("which backups of sql01 ran since Friday?"). For "is this VM \
protected, within its RPO, what is its newest point" call vm_recovery_summary instead. Times are ISO \
8601 (2026-11-20, 2026-11-20T06:00:00Z, ...+02:00; UTC without an offset); created_after is inclusive, \
created_before exclusive. Newest first unless newest_first is false. What every point of a page shares \
is given once, in 'shared'. When next_cursor is set there are more: call again with only \
cursor=next_cursor. truncated=true means points were held back to fit the size limit; next_cursor \
starts with them."""

VM_RECOVERY_SUMMARY = """\
Answer "how recoverable is this VM right now?" in one call: its newest restore point (time, age, \
algorithm), its oldest, how many Enterprise Manager holds, the chain the newest point needs (its full \
and increments, their files and total size), the backup server, its copies (backup copy jobs) and replica \
points (replication jobs), and whether the recovery point \
objective (rpo_hours, default 24) is met against the current UTC time. vm_name is the whole name \
(case-insensitive) or the VM's vm_id (when several VMs share a name, the error names their ids). Use \
find_vm_restore_points to list the points; follow_link goes deeper from any href given here. For every \
VM at once, use protection_report."""


async def get_vm_restore_point(
    restore_point_id: Annotated[
        str,
        Field(
            description="GUID, UID (urn:veeam:VmRestorePoint:<GUID>) or href of the VM restore point", max_length=2048
        ),
    ],
    ctx: Context,
) -> Annotated[CallToolResult, VmRestorePoint]:
    em = state_of(ctx)
    point = await restore_points.read_vm_restore_point(em, restore_point_id)
    links = [restore_point_link(point.id, point.name)] if point.id else []
    return bounded_result(em, point, "One restore point cannot be split: raise VEEAM_MCP_MAX_RESULT_CHARS.", links)


async def find_vm_restore_points(
    ctx: Context,
    vm_name: Annotated[
        str | None, Field(description="Exact VM name (case-insensitive), or its vm_id", min_length=1, max_length=512)
    ] = None,
    created_after: Annotated[
        str | None,
        Field(description="Created at or after this time", max_length=64),
    ] = None,
    created_before: Annotated[
        str | None,
        Field(description="Created before this time", max_length=64),
    ] = None,
    algorithm: Annotated[
        list[Algorithm] | None,
        Field(description="Only these algorithms", max_length=4),
    ] = None,
    point_type: Annotated[PointType | None, Field(description="Only points of this type")] = None,
    backup_server: Annotated[
        str | None,
        Field(description="Only this backup server (name or id)", min_length=1, max_length=512),
    ] = None,
    platform: Annotated[Platform | None, Field(description="Only VMs of this platform")] = None,
    newest_first: Annotated[bool | None, Field(description="Newest first (default true)")] = None,
    page_size: Annotated[
        int | None,
        Field(description=f"Points per page, 1-{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})", ge=1, le=100),
    ] = None,
    cursor: Annotated[
        str | None, Field(description="next_cursor of the previous result", max_length=4096)
    ] = None,
) -> Annotated[CallToolResult, FindVmRestorePointsResult]:
    em = state_of(ctx)
    given: dict[str, Any] = {
        "vm_name": vm_name,
        "created_after": created_after,
        "created_before": created_before,
        "algorithm": algorithm,
        "point_type": point_type,
        "backup_server": backup_server,
        "platform": platform,
        "newest_first": newest_first,
        "page_size": page_size,
    }
    if cursor is not None:
        position = Cursor.decode(cursor)
        restore_points.check_cursor_agrees(position.query, given)
    else:
        query = restore_points.build_query(
            **{k: v for k, v in given.items() if k not in ("newest_first", "page_size")},
            newest_first=True if newest_first is None else newest_first,
            page_size=DEFAULT_PAGE_SIZE if page_size is None else page_size,
        )
        position = Cursor(query, page=1)
    result = await restore_points.find_page(em, position)
    links = [restore_point_link(point.id, point.name) for point in result.restore_points if point.id]
    return bounded_result(em, result, "Raise VEEAM_MCP_MAX_RESULT_CHARS.", links)


async def vm_recovery_summary(
    vm_name: Annotated[
        str, Field(description="Exact VM name (case-insensitive), or its vm_id", min_length=1, max_length=512)
    ],
    ctx: Context,
    rpo_hours: Annotated[
        float,
        # ge rather than gt: some clients (Gemini) reject exclusiveMinimum.
        Field(description="Recovery point objective in hours (default 24)", ge=0.01, le=8760),
    ] = 24,
) -> Annotated[CallToolResult, VmRecoverySummary]:
    em = state_of(ctx)
    summary = await restore_points.recovery_summary(em, vm_name, rpo_hours, datetime.now(UTC), ctx.report_progress)
    # The newest point, the full its restore needs, and the oldest: each once.
    named = [summary.newest, summary.chain.base_full if summary.chain else None, summary.oldest]
    points = {point.id: point.name for point in named if point is not None and point.id}
    links = [restore_point_link(point_id, name) for point_id, name in points.items()]
    return bounded_result(em, summary, "The summary cannot be split: raise VEEAM_MCP_MAX_RESULT_CHARS.", links)


TOOLS = (
    ToolSpec(get_vm_restore_point, "Get a VM restore point", GET_VM_RESTORE_POINT),
    ToolSpec(find_vm_restore_points, "Find VM restore points", FIND_VM_RESTORE_POINTS),
    ToolSpec(vm_recovery_summary, "VM recovery summary", VM_RECOVERY_SUMMARY, own_progress=True),
)
