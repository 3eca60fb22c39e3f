"""The floor: a minimal MCP server with one no-op tool.

Used by bench/run.py as the baseline for "what the MCP protocol itself costs", in-process and over
stdio. Given a sample result (a JSON file), the no-op tool returns exactly that structured result
under the same output schema as ``get_vm_restore_point`` (so the client's schema validation, which
every MCP client does for structured tools, is part of the floor too); without one, it returns a
fixed text payload (the cold-start baseline: a server that declares one tool).
"""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.types import CallToolResult, TextContent


def build_minimal_server(sample: dict[str, Any] | None = None, model: str = "VmRestorePoint") -> MCPServer:
    server = MCPServer("minimal")
    if sample is None:

        @server.tool(name="noop", description="Does nothing; returns a fixed payload.")
        async def noop_text() -> CallToolResult:
            return CallToolResult(content=[TextContent(type="text", text="ok")])

        return server

    from veeam_em_mcp.models.resources import VmRestorePoint
    from veeam_em_mcp.models.results import FindVmRestorePointsResult

    output_model: Any = FindVmRestorePointsResult if model == "FindVmRestorePointsResult" else VmRestorePoint
    text = json.dumps(sample, separators=(",", ":"))

    @server.tool(name="noop", description="Does nothing; returns a fixed result.")
    async def noop() -> Annotated[CallToolResult, output_model]:
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=sample)

    # The same (compact) schema veeam-em-mcp publishes, derived from the same model, so clients
    # validate the same thing.
    return server


if __name__ == "__main__":
    sample = json.loads(Path(sys.argv[1]).read_text()) if len(sys.argv) > 1 else None
    build_minimal_server(sample).run("stdio")
