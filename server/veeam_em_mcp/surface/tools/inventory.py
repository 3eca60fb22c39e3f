"""Audit and inventory tools: restores, backup servers and EM's freshness, MSP tenants.

Thin adapters over ``services.restores``, ``services.freshness`` and ``services.tenants``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from ...models.arguments import FindRestoreSessionsArgs
from ...models.inventory import FindRestoreSessionsResult, ListBackupServersResult, ListTenantsResult
from ...services import freshness, restores, tenants
from ...services.context import EmContext
from ..state import state_of
from ._registration import ToolSpec
from ._signature import argument_tool
from .common import bounded_result

TOO_LARGE = "Ask for a narrower filter, or raise VEEAM_MCP_MAX_RESULT_CHARS."

FIND_RESTORE_SESSIONS = """\
What was restored: "what was restored this week, from which point, did it work?". One row per restore EM \
recorded (whole VMs, files; failovers too): VM, type, outcome (running while it runs), times, and the \
restore point it came from. Default window: the last 7 days. EM does not record who restored, why a \
restore failed, or where to: the result says so."""

LIST_BACKUP_SERVERS = """\
The backup servers EM shows, with their versions, and how fresh EM's data from each is: "how fresh is \
EM's data?". EM collects from every server every 15 minutes by default; a server it cannot reach keeps \
its old data in every answer. Each row: version, when EM last collected from it successfully, its age, and \
current, stale, failing or unknown."""

LIST_TENANTS = """\
MSP views, where EM has them: Cloud Connect tenants (quota and use in MB, last result, last active) and \
vCloud Director organizations with a self-service configuration (quota, use, repository)."""


async def _restores(em: EmContext, args: Any, cursor: str | None) -> CallToolResult:
    return bounded_result(em, await restores.find_restore_sessions(em, datetime.now(UTC), args, cursor), TOO_LARGE)


find_restore_sessions = argument_tool(
    "find_restore_sessions", FindRestoreSessionsArgs, FindRestoreSessionsResult, _restores
)


async def list_backup_servers(ctx: Context) -> Annotated[CallToolResult, ListBackupServersResult]:
    em = state_of(ctx)
    return bounded_result(em, await freshness.list_backup_servers(em, datetime.now(UTC)), TOO_LARGE)


async def list_tenants(ctx: Context) -> Annotated[CallToolResult, ListTenantsResult]:
    em = state_of(ctx)
    return bounded_result(em, await tenants.list_tenants(em), TOO_LARGE)

TOOLS = (
    ToolSpec(find_restore_sessions, "Find restores", FIND_RESTORE_SESSIONS),
    ToolSpec(list_backup_servers, "List backup servers and EM's freshness", LIST_BACKUP_SERVERS),
    ToolSpec(list_tenants, "List MSP tenants", LIST_TENANTS),
)
