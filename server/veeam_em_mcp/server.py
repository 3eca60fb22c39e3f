"""The MCP server: tools over one shared Enterprise Manager client.

``build_server`` wires the pieces: the lifespan opens one ``EnterpriseManagerClient`` for the
whole process (one EM logon session for every call) and logs it out on shutdown; each tool family
registers itself from ``tools/``. Tests pass an httpx ``transport`` to talk to the simulator
in-process.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp.server import MCPServer

from . import __version__, prompts, protocol, resources
from .client import EnterpriseManagerClient
from .config import Settings
from .links import LinkPolicy
from .models import compact_output_schema
from .tools import diagnostics, query, restore_points
from .tools.common import DEMO_BANNER, AppState

log = logging.getLogger("veeam_em_mcp.server")

INSTRUCTIONS = """\
This server reads Veeam Backup Enterprise Manager (EM) through its REST API, read-only. Use it to \
answer questions about VM backups: when a restore point was taken, whether it is a full or an \
increment, which backup file holds it and which backup server made it.

Start with get_vm_restore_point when you have a restore point id (GUID, UID or href). Every result \
carries 'links'; pass a link's href to follow_link to reach the backup file, the job-level restore \
point, the backup server, the backup or the job. Report times as UTC. Never guess values that a \
result does not contain: a missing field means EM did not report it.

When you only know a VM's name, use vm_recovery_summary for "is it protected / within its RPO / what \
is its newest point", and find_vm_restore_points to list its points by time window, type or backup \
server (page with next_cursor). If a result says truncated, fetch the rest with its cursor."""

# Each tool family registers itself; the allow-list (VEEAM_MCP_TOOLS) is applied afterwards.
TOOL_FAMILIES: list[Callable[[MCPServer[Any]], None]] = [
    restore_points.register,
    query.register,
    diagnostics.register,
]


def build_server(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry_base_delay: float = 0.25,
) -> MCPServer[AppState]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        client = EnterpriseManagerClient(settings, transport=transport, retry_base_delay=retry_base_delay)
        async with client:
            yield AppState(settings=settings, client=client, policy=LinkPolicy(settings.base_url))

    instructions = INSTRUCTIONS
    if settings.demo:
        instructions = f"{DEMO_BANNER} Say so when you present any of it.\n\n{INSTRUCTIONS}"
    server: MCPServer[AppState] = MCPServer(
        "veeam-em-mcp",
        title="Veeam Backup Enterprise Manager",
        instructions=instructions,
        version=__version__,
        lifespan=lifespan,
    )
    for register in TOOL_FAMILIES:
        register(server)
    compact_output_schemas(server)
    if settings.enabled_tools is not None:
        apply_tool_allow_list(server, settings.enabled_tools)
    prompts.register(server)  # prompt files from prompts/ (shipped in the wheel)
    resources.register(server)  # restore-point and EM resources, vm_name completions
    protocol.install(server)  # logging, subscriptions, truthful capabilities, protocol errors, icon
    return server


def compact_output_schemas(server: MCPServer[Any]) -> None:
    # MCPServer derives each outputSchema from the return annotation when the tool is added; the
    # compact form matches what the tools actually send (absent values left out, never null).
    for tool in server._tool_manager.list_tools():
        metadata = tool.fn_metadata
        if metadata.output_schema is not None:
            metadata.output_schema = compact_output_schema(metadata.output_schema)


def apply_tool_allow_list(server: MCPServer[Any], allowed: frozenset[str]) -> None:
    names = {tool.name for tool in server._tool_manager.list_tools()}
    unknown = allowed - names
    if unknown:
        log.warning("VEEAM_MCP_TOOLS names unknown tools: %s", ", ".join(sorted(unknown)))
    for name in names - allowed:
        server.remove_tool(name)
