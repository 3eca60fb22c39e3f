"""The one helper that puts tools on the server: title, annotations, error translation, allow-list.

Each tool is a module-level async function in ``tools/<family>.py`` whose return annotation
(``Annotated[CallToolResult, Model]``) gives the MCP ``outputSchema`` (compact, see ``models.base``).
A family lists its tools as ``ToolSpec`` rows; ``register_tools`` adds them all the same way: the title
once (tool and annotations), every tool annotated read-only, every call inside ``em_errors``, and only
the tools ``VEEAM_MCP_TOOLS`` allows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.tools.base import Tool
from mcp.types import ListToolsResult, ToolAnnotations

from ...models.base import compact_schema
from .. import apps
from .common import READ_ONLY, Deadline, em_errors

log = logging.getLogger("veeam_em_mcp.server")


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its function (the name is the function's), a title for people, a description for the model."""

    fn: Callable[..., Any]
    title: str
    description: str
    deadline: Deadline | None = None  # seconds, or from the client; default: the client's default_deadline
    own_progress: bool = False  # reports progress itself (in its own units), not the EM pages it reads

    @property
    def name(self) -> str:
        return self.fn.__name__


def register_tools(
    server: MCPServer[Any], tools: Iterable[ToolSpec], allowed: frozenset[str] | None = None
) -> dict[str, Tool]:
    """Register the allowed tools; returns them by name (their argument models explain a failed call)."""
    specs = list(tools)
    if allowed is not None:
        unknown = allowed - {spec.name for spec in specs}
        if unknown:
            log.warning("VEEAM_MCP_TOOLS names unknown tools: %s", ", ".join(sorted(unknown)))
        specs = [spec for spec in specs if spec.name in allowed]
    server.middleware.append(compact_input_schemas)
    registered: dict[str, Tool] = {}
    for spec in specs:
        guarded = em_errors(deadline=spec.deadline, page_progress=not spec.own_progress)(spec.fn)
        server.add_tool(
            guarded,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=ToolAnnotations(title=spec.title, **READ_ONLY),
            # The MCP Apps view that draws this tool's result (apps/): hosts without the extension ignore it.
            meta=apps.tool_meta(spec.name),
        )
        # The same Tool the SDK builds for it (its public constructor), kept for our own use.
        registered[spec.name] = Tool.from_function(
            guarded, name=spec.name, title=spec.title, description=spec.description
        )
    return registered


async def compact_input_schemas(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """``tools/list`` with compact input schemas: what the model reads of every tool, on every turn.

    pydantic writes an optional argument as ``anyOf [X, null]`` with ``default: null`` and a title made from
    its name; a model needs none of it (leaving an argument out is how it is left unset). Validation of the
    arguments a call brings is untouched: it is pydantic's, on the server, with every constraint.
    """
    result = await call_next(ctx)
    if ctx.method != "tools/list":
        return result
    if isinstance(result, ListToolsResult):
        tools = [tool.model_copy(update={"input_schema": input_schema(tool.input_schema)}) for tool in result.tools]
        return result.model_copy(update={"tools": tools})
    if isinstance(result, dict) and isinstance(result.get("tools"), list):  # the SDK hands results on as dicts
        for tool in result["tools"]:
            if isinstance(tool, dict) and isinstance(tool.get("inputSchema"), dict):
                tool["inputSchema"] = input_schema(tool["inputSchema"])
    return result


def input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The compact schema, closed: ``additionalProperties: false`` on the arguments object.

    OpenAI's strict mode (openai-agents' ``convert_schemas_to_strict``) wants every object closed; a tool
    without it falls back to non-strict calls. The arguments are flat (scalars and lists of scalars), so
    the top level is the only object. The server itself still ignores an unknown argument, as before (and a
    failed call's explanation names it: ``mistakes.explain_invalid_arguments``).
    """
    compact: dict[str, Any] = compact_schema(schema)
    compact.setdefault("properties", {})
    compact["additionalProperties"] = False
    return compact
