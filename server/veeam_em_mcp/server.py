"""The MCP server: the surface that wires tools, prompts and resources over the services.

``build_server`` wires the pieces: the lifespan opens one ``EnterpriseManagerClient`` for the whole
process (one EM logon session for every call) inside one ``EmContext`` and logs it out on shutdown;
the tools of ``tools.ALL_TOOLS`` are registered by one helper. Tests pass an httpx ``transport`` to
talk to the simulator in-process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from mcp.server import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus

from . import __version__, prompts, protocol, resources
from .client import EnterpriseManagerClient
from .config import Settings
from .services.budget import DEMO_BANNER
from .services.context import EmContext
from .tools import ALL_TOOLS
from .tools._registration import register_tools

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


def build_server(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry_base_delay: float = 0.25,
) -> MCPServer[EmContext]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[EmContext]) -> AsyncIterator[EmContext]:
        client = EnterpriseManagerClient(settings, transport=transport, retry_base_delay=retry_base_delay)
        async with client:
            yield EmContext(settings, client)

    instructions = INSTRUCTIONS
    if settings.demo:
        instructions = f"{DEMO_BANNER} Say so when you present any of it.\n\n{INSTRUCTIONS}"
    bus = InMemorySubscriptionBus()  # subscriptions/listen (2026-07-28) and resources/subscribe share it
    server: MCPServer[EmContext] = MCPServer(
        "veeam-em-mcp",
        title="Veeam Backup Enterprise Manager",
        instructions=instructions,
        version=__version__,
        lifespan=lifespan,
        subscriptions=bus,
    )
    tools = register_tools(server, ALL_TOOLS, settings.enabled_tools)
    prompts.register(server)  # prompt files from prompts/ (shipped in the wheel)
    resources.register(server)  # restore-point and EM resources, vm_name completions
    protocol.install(server, bus, tools)  # logging, subscriptions, truthful capabilities, protocol errors, icon
    return server
