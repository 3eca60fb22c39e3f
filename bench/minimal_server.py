"""The floors: a minimal MCP server whose tools do nothing.

Used by bench/run.py as the baseline for "what the MCP protocol itself costs", in-process and over stdio.
Without a sample it declares one tool returning a fixed text (the cold-start baseline: a server that declares
one tool). Given a sample result (a JSON file) and the name of the model it is an instance of, it declares
the two floors a tool call is measured against, timed in the same rounds:

- ``noop_simple``: the simple floor, a no-op whose output schema is one string (``{"result": "ok"}``);
- ``noop``: the same-schema floor, a no-op returning exactly the sample as its structured result under the
  same (compact) output schema veeam-em-mcp publishes for it, derived from the same model, so that the
  client validates the same thing (bench/run.py checks that the two listed schemas are equal).

Run: ``python bench/minimal_server.py [SAMPLE.json [MODEL]]`` (stdio).
"""

# No ``from __future__ import annotations``: the no-op's return annotation names a local (its model).
import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.types import CallToolResult, TextContent

# The result models a sample may be an instance of: the name bench/run.py passes, and where it lives.
MODELS = {
    "VmRestorePoint": "veeam_em_mcp.models.resources:VmRestorePoint",
    "FindVmRestorePointsResult": "veeam_em_mcp.models.results:FindVmRestorePointsResult",
}


def load_model(name: str) -> Any:
    """A model by its short name (``MODELS``) or as ``package.module:Name``."""
    module_name, _, attribute = MODELS.get(name, name).partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def build_minimal_server(sample: dict[str, Any] | None = None, model: str = "VmRestorePoint") -> MCPServer:
    server = MCPServer("minimal")
    if sample is None:

        @server.tool(name="noop", description="Does nothing; returns a fixed payload.")
        async def noop_text() -> CallToolResult:
            return CallToolResult(content=[TextContent(type="text", text="ok")])

        return server

    @server.tool(name="noop_simple", description="Does nothing; returns one string.")
    async def noop_simple() -> str:
        return "ok"

    output_model = load_model(model)
    text = json.dumps(sample, separators=(",", ":"))

    @server.tool(name="noop", description="Does nothing; returns a fixed result.")
    async def noop() -> Annotated[CallToolResult, output_model]:
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=sample)

    return server


if __name__ == "__main__":
    given = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")) if len(sys.argv) > 1 else None
    build_minimal_server(given, *sys.argv[2:3]).run("stdio")
