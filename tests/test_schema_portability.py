"""Schemas every common client accepts, lists a client may cache, and the demo's pinned simulator port.

- OpenAI strict mode (openai-agents' ``convert_schemas_to_strict``, the Responses API's ``strict: true``):
  each tool's input schema is an object at the root, every object in it is closed
  (``additionalProperties: false``), and it uses only the types and keywords strict mode supports.
- Gemini's function declarations take a subset of OpenAPI 3.0's schema: every input *and* output schema
  keeps to that subset's keywords (no ``const``, ``$ref``, ``oneOf``…) and to one type per node.
- ``tools/list``, ``prompts/list`` and ``resources/templates/list`` carry a ``ttlMs`` (2026-07-28).
- ``serve --demo --demo-port N`` serves its simulator on that port.

Each check is also run on a schema it must refuse, so that none can pass vacuously.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from veeam_em_mcp.surface.server import FIXED_LISTS, LIST_TTL_MS

from .conftest import McpFactory
from .http_server import console_script, free_port

pytestmark = pytest.mark.anyio

OPENAI_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
# Structured Outputs' supported keywords (strings: pattern, format and the lengths; numbers: bounds and
# multipleOf; arrays: item counts), plus the structural ones.
OPENAI_KEYWORDS = {
    "type", "description", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
    "$ref", "$defs", "default", "pattern", "format", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
}  # fmt: skip
GEMINI_TYPES = {"object", "array", "string", "number", "integer", "boolean"}
# The Schema object of Gemini's function declarations, and additionalProperties (closed argument objects),
# which the Gemini API and google-genai accept since 2025.
GEMINI_KEYWORDS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "items", "minimum", "maximum", "additionalProperties",
}  # fmt: skip


def nodes(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node: the root, each property, items, anyOf branch and definition."""
    if not isinstance(schema, dict):
        return
    yield path or "/", schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from nodes(sub, f"{path}/{name}")
    for name, sub in (schema.get("$defs") or {}).items():
        yield from nodes(sub, f"{path}/$defs/{name}")
    if isinstance(schema.get("items"), dict):
        yield from nodes(schema["items"], f"{path}/items")
    for index, sub in enumerate(schema.get("anyOf") or []):
        yield from nodes(sub, f"{path}/anyOf{index}")


def types_of(node: dict[str, Any]) -> list[Any]:
    kind = node.get("type")
    return kind if isinstance(kind, list) else [kind] if kind is not None else []


def openai_strict_problems(schema: dict[str, Any]) -> list[str]:
    problems = []
    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("/: the root must be an object, not a union")
    for path, node in nodes(schema):
        problems += [f"{path}: keyword {key!r}" for key in sorted(set(node) - OPENAI_KEYWORDS)]
        problems += [f"{path}: type {kind!r}" for kind in types_of(node) if kind not in OPENAI_TYPES]
        if "object" in types_of(node) and node.get("additionalProperties") is not False:
            problems.append(f"{path}: an object without additionalProperties: false")
    return problems


def gemini_problems(schema: dict[str, Any]) -> list[str]:
    problems = []
    for path, node in nodes(schema):
        problems += [f"{path}: keyword {key!r}" for key in sorted(set(node) - GEMINI_KEYWORDS)]
        if isinstance(node.get("type"), list):
            problems.append(f"{path}: a list of types")
        problems += [f"{path}: type {kind!r}" for kind in types_of(node) if kind not in GEMINI_TYPES]
    return problems


async def listed_tools(mcp_session: McpFactory) -> list[Any]:
    async with mcp_session() as client:
        tools = (await client.list_tools()).tools
    assert tools
    return list(tools)


async def test_every_input_schema_is_openai_strict(mcp_session: McpFactory) -> None:
    for tool in await listed_tools(mcp_session):
        assert openai_strict_problems(tool.input_schema) == [], tool.name


async def test_every_input_and_output_schema_keeps_to_geminis_subset(mcp_session: McpFactory) -> None:
    tools = await listed_tools(mcp_session)
    assert all(tool.output_schema for tool in tools), "every tool publishes an outputSchema"
    for tool in tools:
        assert gemini_problems(tool.input_schema) == [], tool.name
        assert gemini_problems(tool.output_schema or {}) == [], tool.name


def test_the_checks_refuse_what_those_clients_refuse() -> None:
    assert openai_strict_problems({"type": "object", "properties": {}}) == [
        "/: an object without additionalProperties: false"
    ]
    assert openai_strict_problems({"anyOf": [{"type": "object"}]})
    assert openai_strict_problems({"type": "object", "additionalProperties": False, "oneOf": []})
    kind = {"type": "object", "properties": {"kind": {"type": "string", "const": "VmRestorePoint"}}}
    assert gemini_problems(kind) == ["/kind: keyword 'const'"]
    assert gemini_problems({"type": "object", "properties": {"n": {"type": ["integer", "null"]}}}) == [
        "/n: a list of types",
        "/n: type 'null'",
    ]


async def test_the_fixed_lists_may_be_cached(mcp_session: McpFactory) -> None:
    assert set(FIXED_LISTS) == {"tools/list", "prompts/list", "resources/templates/list"} and LIST_TTL_MS >= 60_000
    async with mcp_session() as client:  # the 2026-07-28 protocol, where lists carry ttlMs
        results = [
            await client.list_tools(),
            await client.list_prompts(),
            await client.list_resource_templates(),
        ]
    assert [result.ttl_ms for result in results] == [LIST_TTL_MS] * 3


async def test_serve_demo_port_pins_the_simulators_port() -> None:
    port = free_port()
    params = StdioServerParameters(
        command=console_script()[0],
        args=[*console_script()[1:], "serve", "--demo", "--demo-port", str(port)],
        env={"VEEAM_MCP_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"},
    )
    async with Client(params, read_timeout_seconds=60) as client:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the simulator listens where it was told
        result = await client.call_tool("check_connection", {})
    assert not result.is_error and result.structured_content is not None
    assert f":{port}" in result.structured_content["em_url"]


def test_a_taken_demo_port_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*console_script(), "serve", "--demo", "--demo-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.strip() == f"veeam-em-mcp: --demo-port {port}: cannot listen there (Address already in use)"
