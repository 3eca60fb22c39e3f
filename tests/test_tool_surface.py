"""The tool surface the model sees (names, descriptions, schemas, annotations) is snapshot-tested, one file per
tool (``tests/snapshots/tools/<name>.json``), so a failure and a diff name the tools that changed.

Any change to it must be deliberate: regenerate with ``UPDATE_SNAPSHOTS=1 pytest tests/test_tool_surface.py``
and review the diff of ``tests/snapshots/tools/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import McpFactory

pytestmark = pytest.mark.anyio
SNAPSHOTS = Path(__file__).parent / "snapshots" / "tools"


async def test_each_tool_matches_its_snapshot(mcp_session: McpFactory) -> None:
    async with mcp_session() as client:
        tools = (await client.list_tools()).tools
    surface = {
        tool.name: json.dumps(tool.model_dump(by_alias=True, exclude_none=True, mode="json"), indent=2, sort_keys=True)
        + "\n"
        for tool in tools
    }
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        for stale in SNAPSHOTS.glob("*.json"):
            if stale.stem not in surface:
                stale.unlink()
        for name, text in surface.items():
            (SNAPSHOTS / f"{name}.json").write_text(text, encoding="utf-8")
    kept = {path.stem: path.read_text(encoding="utf-8") for path in SNAPSHOTS.glob("*.json")}
    changed = sorted(name for name in surface.keys() & kept.keys() if surface[name] != kept[name])
    new, removed = sorted(surface.keys() - kept.keys()), sorted(kept.keys() - surface.keys())
    assert not (changed or new or removed), (
        f"tool surface changed (see module docstring): changed {changed}, new {new}, removed {removed}"
    )


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
