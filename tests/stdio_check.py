"""The one check for every way of starting the server from outside (a client entry, the bundle, the image).

Through the official MCP client over stdio: ``tools/list`` has every tool, and ``vm_recovery_summary`` of
sql01 answers from Enterprise Manager (the demo's simulator or the loopback one). ``while_serving`` runs
while the server is up, for checks of the running process (the container's user).
"""

from __future__ import annotations

from collections.abc import Callable

from mcp import Client, StdioServerParameters

from veeam_em_mcp.surface.tools import ALL_TOOLS


async def serves_every_tool(
    params: StdioServerParameters, read_timeout: float = 60, while_serving: Callable[[], None] | None = None
) -> None:
    async with Client(params, read_timeout_seconds=read_timeout) as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool("vm_recovery_summary", {"vm_name": "sql01"})
        if while_serving is not None:
            while_serving()
    assert len(tools) == len(ALL_TOOLS), [tool.name for tool in tools]
    assert not result.is_error and result.structured_content is not None, result.content
    assert result.structured_content["vm_name"] == "sql01"
