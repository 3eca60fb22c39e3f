"""Property-based fuzzing of every tool's arguments through the official MCP client, in-process.

An assistant will send odd arguments: wrong types, huge strings, control characters, hostile hrefs, forged
cursors, impossible dates. Whatever arrives, each call must end in one of two ways: a result whose
structuredContent validates against the tool's outputSchema, or an isError result with a message the model can
act on; never an "internal error" (an exception the tool did not anticipate), never a hang (each call runs under
anyio.fail_after), and the server keeps answering valid calls afterwards. Arguments are drawn both from each
tool's inputSchema (so new tools are fuzzed without edits here) and from a list of known-interesting values.

Hypothesis runs derandomized (the same cases in CI every time); set FUZZ_EXAMPLES to explore more.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import jsonschema
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.types import CallToolResult, Tool

from veeam_em_mcp.server import build_server
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import build_dataset

from .conftest import ANCHOR, SIM_ORIGIN, SQL01_POINT, make_settings
from .hostile_hrefs import HOSTILE_HREFS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "250"))
CALL_TIMEOUT = 10.0
INTERNAL_ERROR = "hit an internal error"
# Fuzz cases per (tool, outcome), printed at the end (docs/faults.md quotes them). Both outcomes must occur for
# every tool: a fuzzer that only ever hits validation errors would not be exercising the tools at all.
CASES: Counter[tuple[str, str]] = Counter()

INTERESTING_TEXT = [
    SQL01_POINT,
    SQL01_POINT.upper(),
    f"urn:veeam:VmRestorePoint:{SQL01_POINT}",
    f"{SIM_ORIGIN}/api/vmRestorePoints/{SQL01_POINT}",
    f"{SIM_ORIGIN}/api/vmRestorePoints/{SQL01_POINT}?format=Entity",
    f"{SIM_ORIGIN}/api/vmRestorePoints",
    f"{SIM_ORIGIN}/api/query?type=VmRestorePoint&pageSize=1",
    f"{SIM_ORIGIN}/api/query?type=VmRestorePoint&filter=VmName%3D%3D%22sql01%22&pageSize=1000000",
    f"{SIM_ORIGIN}/api/backupServers",
    "/api/jobs",
    "00000000-0000-0000-0000-000000000000",
    "sql01",
    "SQL01",
    "sql01\u202e",
    'sql01" or VmName=="x',
    "sql01;VmName==*",
    "%",
    "*",
    "2026-11-20",
    "2026-11-20T06:00:00Z",
    "2026-11-20T06:00:00+14:00",
    "2026-02-30",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "yesterday",
    "Full",
    "Increment",
    "",
    " ",
    "null",
    "\x00",
    "a" * 5000,
    "eyJ2IjoxfQ",  # base64 of {"v":1}: a forged cursor
    "!!!not-base64!!!",
    *HOSTILE_HREFS[::4],
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
any_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
texts = st.one_of(
    st.sampled_from(INTERESTING_TEXT),
    st.text(max_size=60),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=600),
)


def _types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a property accepts (``anyOf`` of a type and null is how optional ones look)."""
    found: set[str] = set()
    kind = schema.get("type")
    if isinstance(kind, str):
        found.add(kind)
    elif isinstance(kind, list):
        found.update(kind)
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= _types(option)
    if "enum" in schema or "const" in schema:
        found.add("enum")
    return found


def _enum_values(schema: dict[str, Any]) -> list[Any]:
    values = list(schema.get("enum", []))
    if "const" in schema:
        values.append(schema["const"])
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        values += _enum_values(option)
    return values


def value_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly values of the declared type (to get past validation into the tool), sometimes anything."""
    typed: list[st.SearchStrategy[Any]] = []
    kinds = _types(schema)
    if "string" in kinds:
        typed.append(texts)
    if "integer" in kinds:
        typed.append(st.one_of(st.sampled_from([0, 1, -1, 100, 101, 2**31, -(2**31)]), st.integers()))
    if "number" in kinds:
        typed.append(st.one_of(st.sampled_from([0, 0.001, -1, 8760, 8760.5, 1e308]), st.floats(allow_nan=False)))
    if "boolean" in kinds:
        typed.append(st.booleans())
    if "enum" in kinds:
        typed.append(st.sampled_from(_enum_values(schema) or [None]))
    if not typed:
        return any_json
    return st.one_of(st.one_of(*typed), st.one_of(*typed), st.one_of(*typed), any_json)


def arguments_for(tool: Tool, extra_texts: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = dict(tool.input_schema.get("properties", {}))
    strategies = {
        name: st.one_of(value_for(schema), st.sampled_from(extra_texts)) if extra_texts else value_for(schema)
        for name, schema in properties.items()
    }
    known = st.fixed_dictionaries({}, optional=strategies)
    unknown = st.dictionaries(st.text(max_size=12), any_json, max_size=2)
    return st.one_of(known, known, known, st.builds(lambda a, b: {**b, **a}, known, unknown))


class Harness:
    """One MCP server (and its simulator) for the whole module, driven from hypothesis' synchronous tests."""

    def __init__(self, portal: BlockingPortal, client: Client, tools: dict[str, Tool], cursors: list[str]) -> None:
        self.portal = portal
        self.client = client
        self.tools = tools
        self.cursors = cursors

    def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        async def bounded() -> CallToolResult:
            with anyio.fail_after(CALL_TIMEOUT):  # a hang fails the test instead of the whole run
                return await self.client.call_tool(name, arguments)

        return self.portal.call(bounded)


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    app = create_app(SimulatorConfig(), build_dataset(anchor=ANCHOR))
    server = build_server(
        make_settings(env={"VEEAM_EM_TIMEOUT": 5}), transport=httpx.ASGITransport(app=app), retry_base_delay=0.01
    )
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(Client(server)) as client:
        tools = {tool.name: tool for tool in portal.call(client.list_tools).tools}
        cursors: list[str] = []
        if "find_vm_restore_points" in tools:
            # Real cursors, and damaged copies of them: the cursor is the argument most likely to be forged.
            first = portal.call(client.call_tool, "find_vm_restore_points", {"vm_name": "sql01", "page_size": 2})
            cursor = (first.structured_content or {}).get("next_cursor")
            assert isinstance(cursor, str)
            cursors = [cursor, cursor[:-3], cursor[::-1], cursor + "A", cursor.replace(cursor[5], "_", 1)]
        yield Harness(portal, client, tools, cursors)
    print("\nfuzz cases (tool, outcome):", dict(CASES), "total:", sum(CASES.values()))


# A real job session id in the forms a model may send it, and damaged copies: random text never finds one.
_SESSION = build_dataset(anchor=ANCHOR).facts.all_failed_session_id
SESSION_IDS = [_SESSION, f"urn:veeam:BackupJobSession:{_SESSION}", _SESSION.upper(), _SESSION[:-1], f"{_SESSION}\x00"]


def tool_names() -> list[str]:
    # The tools are discovered at run time; this is the list the ids are made from, and test_all_tools_fuzzed
    # fails if a registered tool is missing from it.
    return [
        "get_vm_restore_point", "follow_link", "find_vm_restore_points", "vm_recovery_summary", "check_connection",
        "find_job_sessions", "get_job_session", "find_task_sessions", "list_jobs", "list_repositories",
        "protection_report",
    ]


def test_all_tools_fuzzed(harness: Harness) -> None:
    assert set(harness.tools) <= set(tool_names()), f"add {sorted(set(harness.tools) - set(tool_names()))}"


@pytest.mark.parametrize("name", tool_names())
def test_fuzz_tool_arguments(harness: Harness, name: str) -> None:
    if name not in harness.tools:
        pytest.skip(f"{name} is not registered (yet)")
    tool = harness.tools[name]
    extra = harness.cursors if name == "find_vm_restore_points" else SESSION_IDS if name == "get_job_session" else []
    schema = tool.output_schema or {}
    validator = jsonschema.validators.validator_for(schema)(schema)  # checks the schema once, not per case

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize="FUZZ_EXAMPLES" not in os.environ,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(arguments=arguments_for(tool, extra))
    def fuzz(arguments: dict[str, Any]) -> None:
        result = harness.call(name, arguments)
        CASES[name, "error" if result.is_error else "ok"] += 1
        text = "".join(block.text for block in result.content if block.type == "text")
        if result.is_error:
            assert text.strip(), f"empty error for {arguments!r}"
            assert INTERNAL_ERROR not in text, f"{arguments!r} -> {text}"
        else:
            assert result.structured_content is not None, f"{arguments!r} -> no structured content"
            validator.validate(result.structured_content)

    fuzz()
    if tool.input_schema.get("properties"):
        assert CASES[name, "ok"] and CASES[name, "error"], dict(CASES)
    # The server is still serving after everything it was sent.
    after = harness.call("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
    assert not after.is_error
