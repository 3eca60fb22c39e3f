"""Mistakes answered in words a client or a model can act on.

- **Protocol mistakes, protocol errors.** An unknown prompt name (in ``prompts/get`` or as a completion
  reference) is ``-32602`` naming the prompts that exist, instead of the SDK's ``MCP error 0`` / ``-32603``
  with a traceback; an unknown resource URI is ``-32602`` naming the resources and templates that exist.
- **Tool mistakes a model can correct.** A call with invalid arguments stays an ``isError`` result (the
  specification's "tool execution error", so the model sees it), but its text says which argument, what was
  wrong and what is accepted, without pydantic's "For further information visit
  https://errors.pydantic.dev/..." lines. An unknown tool name, also an ``isError`` result from the SDK, now
  lists the tools that exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.tools.base import Tool
from mcp.shared.exceptions import MCPError
from mcp.shared.uri_template import UriTemplate
from mcp.types import INVALID_PARAMS
from pydantic import ValidationError

# Argument values quoted back in a validation error are cut to this many characters.
MAX_QUOTED_VALUE = 80


@dataclass
class NameChecks:
    """Middleware: unknown prompts and resources become -32602 with the valid names; tool mistakes are explained."""

    server: MCPServer[Any]
    tools: Mapping[str, Tool]

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params: Mapping[str, Any] = ctx.params or {}
        if ctx.method == "prompts/get":
            try:
                return await call_next(ctx)
            except ValueError:  # what the SDK raises for an unknown prompt (and for bad params)
                await self._reject_unknown_prompt(params.get("name"))
                raise
        if ctx.method == "completion/complete":
            await self._check_completion_reference(params.get("ref"))
            return await call_next(ctx)
        if ctx.method == "resources/read":
            try:
                return await call_next(ctx)
            except MCPError as exc:
                if exc.error.code == INVALID_PARAMS:
                    await self._reject_unknown_resource(params.get("uri"))
                raise
        if ctx.method == "tools/call":
            result = await call_next(ctx)
            if isinstance(result, dict) and result.get("isError"):
                return await self._explain_tool_error(result, params)
            return result
        return await call_next(ctx)

    async def _reject_unknown_prompt(self, name: Any) -> None:
        prompts = [prompt.name for prompt in await self.server.list_prompts()]
        if isinstance(name, str) and name not in prompts:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Unknown prompt {name!r}. Prompts on this server: {listed(prompts)}.",
                data={"name": name, "prompts": prompts},
            ) from None

    async def _check_completion_reference(self, ref: Any) -> None:
        if not isinstance(ref, Mapping):
            return  # malformed: the SDK's params validation answers it
        if ref.get("type") == "ref/prompt":
            await self._reject_unknown_prompt(ref.get("name"))
        elif ref.get("type") == "ref/resource":
            templates = [template.uri_template for template in await self.server.list_resource_templates()]
            uri = ref.get("uri")
            if isinstance(uri, str) and uri not in templates:
                raise MCPError(
                    code=INVALID_PARAMS,
                    message=f"Unknown resource template {uri!r}. Templates on this server: {listed(templates)}.",
                    data={"uri": uri, "resourceTemplates": templates},
                )

    async def _reject_unknown_resource(self, uri: Any) -> None:
        if not isinstance(uri, str):
            return
        resources = [str(resource.uri) for resource in await self.server.list_resources()]
        templates = [template.uri_template for template in await self.server.list_resource_templates()]
        if uri in resources or any(UriTemplate.parse(t).match(uri) is not None for t in templates):
            return  # a served URI whose resource said "not found" itself: its message is the specific one
        raise MCPError(
            code=INVALID_PARAMS,
            message=f"Unknown resource {uri!r}. This server serves {listed([*resources, *templates])}; "
            "resources/list and resources/templates/list describe them.",
            data={"uri": uri, "resources": resources, "resourceTemplates": templates},
        ) from None

    async def _explain_tool_error(self, result: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        arguments = params.get("arguments")
        tool = self.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            tools = [listed.name for listed in await self.server.list_tools()]
            if name in tools:
                return result  # a tool added outside register_tools: its own error stands
            text = f"Unknown tool {name!r}. Tools on this server: {listed(tools)}."
            return {**result, "content": [{"type": "text", "text": text}]}
        try:
            # Only a failed call is validated again: the exact errors the SDK saw, as data.
            tool.fn_metadata.validate_arguments(arguments if isinstance(arguments, dict) else {})
        except ValidationError as exc:
            text = explain_invalid_arguments(tool.name, tool.parameters, arguments, exc)
            return {**result, "content": [{"type": "text", "text": text}]}
        return result


def explain_invalid_arguments(tool: str, schema: Mapping[str, Any], arguments: Any, error: ValidationError) -> str:
    """A validation failure as a model can act on it: each argument, what was wrong, what is accepted."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    given = arguments if isinstance(arguments, Mapping) else {}
    lines = [f"{tool} was not run: its arguments are invalid. Correct them and call it again."]
    for problem in error.errors(include_url=False):
        location = ".".join(str(part) for part in problem["loc"]) or "arguments"
        top = str(problem["loc"][0]) if problem["loc"] else ""
        if problem["type"] == "missing":
            what = "required, but missing"
        else:
            what = str(problem["msg"]).removeprefix("Value error, ")
            if "input" in problem and top in given:
                what += f" (you sent {_quoted(problem['input'])})"
        accepted = describe_schema(properties[top]) if top in properties else ""
        lines.append(f"- {location}: {what}." + (f" Accepted: {accepted}." if accepted else ""))
    unknown = sorted(set(given) - set(properties))
    if unknown:
        lines.append(
            f"- {', '.join(unknown)}: not an argument of {tool} (ignored); its arguments are {listed(properties)}."
        )
    return "\n".join(lines)


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED_VALUE else f"{text[: MAX_QUOTED_VALUE - 3]}... ({len(text)} characters)"


def describe_schema(schema: Mapping[str, Any]) -> str:
    """A JSON Schema property in a few words: type, bounds, choices, default, description."""
    alternatives = [a for a in schema.get("anyOf", [schema]) if isinstance(a, Mapping)]
    kinds = [_describe_type(a) for a in alternatives if a.get("type") != "null"]
    text = " or ".join(kind for kind in kinds if kind) or "any value"
    if any(a.get("type") == "null" for a in alternatives):
        text += ", or null to leave it out"
    if schema.get("default") is not None:
        text += f" (default {schema['default']!r})"
    description = schema.get("description")
    return f"{text}: {description}" if isinstance(description, str) and description else text


def _describe_type(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(repr(choice) for choice in schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return "text" + _bounds(schema.get("minLength"), schema.get("maxLength"), " characters")
    if kind in ("integer", "number"):
        noun = "an integer" if kind == "integer" else "a number"
        return noun + _bounds(schema.get("minimum"), schema.get("maximum"), "")
    if kind == "boolean":
        return "true or false"
    return str(kind) if isinstance(kind, str) else ""


def _bounds(low: Any, high: Any, unit: str) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}{unit}"
    if low is not None:
        return f" of at least {low}{unit}"
    if high is not None:
        return f" of at most {high}{unit}"
    return ""


def listed(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"
