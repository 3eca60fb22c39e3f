"""The tool surface the model sees (names, descriptions, schemas, annotations) is snapshot-tested.

Any change to it must be deliberate: regenerate with ``UPDATE_SNAPSHOTS=1 pytest tests/test_tool_surface.py``
and review the diff of ``tests/snapshots/tools.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import McpFactory

pytestmark = pytest.mark.anyio
SNAPSHOT = Path(__file__).parent / "snapshots" / "tools.json"


async def test_tools_list_matches_snapshot(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        tools = (await client.list_tools()).tools
    surface = [tool.model_dump(by_alias=True, exclude_none=True, mode="json") for tool in tools]
    surface.sort(key=lambda tool: tool["name"])
    text = json.dumps(surface, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(text, encoding="utf-8")
        if not os.environ.get("UPDATE_SNAPSHOTS"):
            pytest.fail("snapshot was missing and has been written; review and commit it")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), "tool surface changed: see module docstring"


async def test_wire_names_are_snake_case_without_aliases(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        tools = (await client.list_tools()).tools

    def keys(schema: object) -> set[str]:
        found: set[str] = set()
        if isinstance(schema, dict):
            for key, value in schema.items():
                if key == "properties" and isinstance(value, dict):
                    found |= set(value)
                found |= keys(value)
        elif isinstance(schema, list):
            for item in schema:
                found |= keys(item)
        return found

    for tool in tools:
        for name in keys(tool.output_schema) | keys(tool.input_schema):
            assert name == name.lower(), (tool.name, name)
