"""Property-based fuzzing of every tool's arguments through the official MCP client, in-process.

An assistant will send odd arguments: wrong types, huge strings, control characters, hostile hrefs, forged
cursors, impossible dates. Whatever arrives, each call must end in one of two ways: a result whose
structuredContent validates against the tool's outputSchema, or an isError result with a message the model can
act on; never an "internal error" (an exception the tool did not anticipate), never a hang (each call runs under
anyio.fail_after), and the server keeps answering valid calls afterwards. Arguments are drawn both from each
tool's inputSchema (so new tools are fuzzed without edits here) and from a list of known-interesting values.

The bad days of issue 10 have their own strategies, so that a regression fails here: extreme dates and offsets
on every date argument (years 1 and 9999 at ±14:00, which leave datetime's range when converted to UTC), cursors
forged with the product's own ``encode_cursor`` (lone surrogates, wrong types, other tools' cursors, huge values),
and completion prefixes up to 1 MB plus bursts of random prefixes, whose cost in EM range queries must stay
bounded (counted in the simulator's ``request_log``). No case may reach the model as an internal error, and no
request may end in a JSON-RPC error (-32603 is what an exception escaping a completion handler becomes).

Hypothesis runs derandomized (the same cases in CI every time); set FUZZ_EXAMPLES to explore more.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import jsonschema
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client, MCPError
from mcp.types import CallToolResult, CompleteResult, PromptReference, Tool

from veeam_em_mcp.services.completion import MAX_COMPLETIONS, MAX_PREFIX_CHARS, RANGE_QUERIES_PER_MINUTE
from veeam_em_mcp.services.cursor import encode_cursor
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import build_dataset
from veeam_em_mcp.surface.server import build_server

from .conftest import ANCHOR, SIM_ORIGIN, SQL01_POINT, make_settings
from .hostile_hrefs import HOSTILE_HREFS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))  # per tool: 1,700 cases in CI (about 15 s)
CALL_TIMEOUT = 10.0
INTERNAL_ERROR = "hit an internal error"
# Fuzz cases per (tool, outcome), printed at the end (docs/faults.md quotes them). Both outcomes must occur for
# every tool: a fuzzer that only ever hits validation errors would not be exercising the tools at all.
CASES: Counter[tuple[str, str]] = Counter()
# Fuzz cases that met the product bug reported in test_dates_before_year_1000_reach_the_model_cleanly (printed too).

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

    def __init__(self, portal: BlockingPortal, client: Client, app: Any) -> None:
        self.portal = portal
        self.client = client
        self.app = app  # the simulator: its request_log says what reached EM
        self.tools = {tool.name: tool for tool in portal.call(client.list_tools).tools}
        self.cursors: list[str] = []  # real cursors and damaged copies, mixed into find_vm_restore_points' values
        self.real_cursors: dict[str, str] = {}  # one real next_cursor per tool that takes a cursor
        self.hrefs: list[str] = []  # real links from a result, mixed into follow_link's values

    def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        async def bounded() -> CallToolResult:
            with anyio.fail_after(CALL_TIMEOUT):  # a hang fails the test instead of the whole run
                return await self.client.call_tool(name, arguments)

        try:
            return self.portal.call(bounded)
        except MCPError as exc:  # a protocol error instead of a tool result: -32603 is an exception that escaped
            pytest.fail(f"{name}({arguments!r}) -> JSON-RPC error {exc.error.code}: {exc.error.message}")

    def complete(self, prefix: str) -> CompleteResult:
        async def bounded() -> CompleteResult:
            with anyio.fail_after(CALL_TIMEOUT):
                return await self.client.complete(RECOVERABILITY, {"name": "vm_name", "value": prefix})

        try:
            return self.portal.call(bounded)
        except MCPError as exc:  # the README promises that a completion failure is never an error
            pytest.fail(f"completion of {prefix[:40]!r}… ({len(prefix)} chars) -> JSON-RPC error {exc.error.code}")

    @property
    def requests(self) -> list[tuple[str, str]]:
        return list(self.app.state.sim.request_log)


def hrefs_in(value: Any) -> Iterator[str]:
    """Every EM path in a result (links, references, collections)."""
    if isinstance(value, str) and value.startswith("/api/"):
        yield value
    elif isinstance(value, dict | list):
        for child in value.values() if isinstance(value, dict) else value:
            yield from hrefs_in(child)


RECOVERABILITY = PromptReference(type="ref/prompt", name="vm_recoverability_report")  # a prompt with vm_name


def open_harness(portal: BlockingPortal, dataset: Any) -> Any:
    app = create_app(SimulatorConfig(), dataset)
    server = build_server(
        make_settings(env={"VEEAM_EM_TIMEOUT": 5}), transport=httpx.ASGITransport(app=app), retry_base_delay=0.01
    )
    return app, portal.wrap_async_context_manager(Client(server))


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with start_blocking_portal() as portal:
        app, session = open_harness(portal, build_dataset(anchor=ANCHOR))
        with session as client:
            harness = Harness(portal, client, app)
            if "find_vm_restore_points" in harness.tools:
                # Real cursors, and damaged copies of them: the cursor is the argument most likely to be forged.
                first = harness.call("find_vm_restore_points", {"vm_name": "sql01", "page_size": 2})
                cursor = (first.structured_content or {}).get("next_cursor")
                assert isinstance(cursor, str)
                harness.cursors = [cursor, cursor[:-3], cursor[::-1], cursor + "A", cursor.replace(cursor[5], "_", 1)]
                harness.real_cursors["find_vm_restore_points"] = cursor
            if "get_vm_restore_point" in harness.tools:
                # Real links: without them, follow_link's fuzzing would rarely get past the link policy.
                point = harness.call("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
                harness.hrefs = sorted(set(hrefs_in(point.structured_content)))
                assert harness.hrefs, point.content
            if "follow_link" in harness.tools:
                # A top-level collection longer than one query page: follow_link pages it with its own cursor.
                listing = harness.call("follow_link", {"href": f"{SIM_ORIGIN}/api/vmRestorePoints"})
                cursor = (listing.structured_content or {}).get("next_cursor")
                assert isinstance(cursor, str), listing.content
                harness.real_cursors["follow_link"] = cursor
            # Every other tool that takes a cursor: a real one each, from a page small enough to have a next.
            for tool, arguments in PAGED_FIRST_PAGES.items():
                if tool in harness.tools:
                    page = harness.call(tool, arguments)
                    cursor = (page.structured_content or {}).get("next_cursor")
                    assert isinstance(cursor, str), (tool, page.content)
                    harness.real_cursors[tool] = cursor
            yield harness
    print("\nfuzz cases (tool, outcome):", dict(CASES), "total:", sum(CASES.values()))


@pytest.fixture(scope="module")
def large_estate() -> Iterator[Harness]:
    """An estate with more restore points than completion samples (1,000), so range queries are asked for."""
    with start_blocking_portal() as portal:
        app, session = open_harness(portal, build_dataset(anchor=ANCHOR, vm_count=100))
        with session as client:
            yield Harness(portal, client, app)


# First pages of the estate tools that have a next page (so their real cursors can be forged from).
PAGED_FIRST_PAGES: dict[str, dict[str, Any]] = {
    "find_job_sessions": {"created_after": "2000-01-01", "newest_per_job": False, "page_size": 3},
    "find_task_sessions": {"created_after": "2000-01-01", "page_size": 3},
    "list_jobs": {"page_size": 2},
    "protection_report": {"page_size": 3},
    "get_job_session": {"session_id": build_dataset(anchor=ANCHOR).facts.all_failed_session_id, "page_size": 1},
    "find_restore_sessions": {"created_after": "2000-01-01", "page_size": 1},
}
CURSOR_TOOLS = ["find_vm_restore_points", "follow_link", *PAGED_FIRST_PAGES]

# A real job session id in the forms a model may send it, and damaged copies: random text never finds one.
_SESSION = build_dataset(anchor=ANCHOR).facts.all_failed_session_id
SESSION_IDS = [_SESSION, f"urn:veeam:BackupJobSession:{_SESSION}", _SESSION.upper(), _SESSION[:-1], f"{_SESSION}\x00"]


def tool_names() -> list[str]:
    # The tools are discovered at run time; this is the list the ids are made from, and test_all_tools_fuzzed
    # fails if a registered tool is missing from it.
    return [
        "get_vm_restore_point", "follow_link", "find_vm_restore_points", "vm_recovery_summary", "check_connection",
        "find_job_sessions", "get_job_session", "find_task_sessions", "list_jobs", "list_repositories",
        "protection_report", "find_restore_sessions", "list_backup_servers", "list_tenants",
    ]


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="FUZZ_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def output_validator(tool: Tool) -> Any:
    schema = tool.output_schema or {}
    return jsonschema.validators.validator_for(schema)(schema)  # checks the schema once, not per case


def result_text(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def check_outcome(name: str, arguments: dict[str, Any], result: CallToolResult, validator: Any) -> None:
    """A result that validates against the output schema, or an error the model can act on: never an internal one."""
    CASES[name, "error" if result.is_error else "ok"] += 1
    text = result_text(result)
    if result.is_error:
        assert text.strip(), f"empty error for {arguments!r}"
        assert INTERNAL_ERROR not in text, f"{arguments!r} -> {text}"
    else:
        assert result.structured_content is not None, f"{arguments!r} -> no structured content"
        validator.validate(result.structured_content)


def test_all_tools_fuzzed(harness: Harness) -> None:
    assert set(harness.tools) <= set(tool_names()), f"add {sorted(set(harness.tools) - set(tool_names()))}"


@pytest.mark.parametrize("name", tool_names())
def test_fuzz_tool_arguments(harness: Harness, name: str) -> None:
    assert name in harness.tools, f"{name} is not registered"  # every tool is: a missing one is a defect
    tool = harness.tools[name]
    extra = {"find_vm_restore_points": harness.cursors, "follow_link": harness.hrefs, "get_job_session": SESSION_IDS}.get(
        name, []
    )
    validator = output_validator(tool)

    @FUZZ_SETTINGS
    @given(arguments=arguments_for(tool, extra))
    def fuzz(arguments: dict[str, Any]) -> None:
        check_outcome(name, arguments, harness.call(name, arguments), validator)

    fuzz()
    if tool.input_schema.get("properties"):
        assert CASES[name, "ok"] and CASES[name, "error"], dict(CASES)
    # The server is still serving after everything it was sent.
    after = harness.call("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
    assert not after.is_error


# --- issue 10: extreme dates ---------------------------------------------------------------------------------

# Years 1 and 9999 at the widest offsets: converting them to UTC leaves datetime's range (OverflowError).
ISSUE_10_DATES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
EDGE_DATES = [
    *ISSUE_10_DATES,
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59.9999999Z",
    "9999-12-31T23:59:59.999999+14:00",
    "9999-12-31T23:59:59-00:01",
    "0001-01-01T00:00:00+00:01",
]
OFFSETS = ["", "Z", "z", "+00:00", "-00:00", "+14:00", "-14:00", "+1400", "-1400", "+14", "+23:59", "-23:59",
           "+24:00", "+05:45", "-03:30"]
WIDE_ZONES = [timezone(timedelta(hours=14)), timezone(timedelta(hours=-14)), timezone(timedelta(hours=23, minutes=59)),
              timezone(-timedelta(hours=23, minutes=59)), UTC]


@st.composite
def iso_times(draw: st.DrawFn) -> str:
    """ISO 8601 text at and around the edges: years 1 and 9999, day 31 of short months, hour 24, odd offsets."""
    year = draw(st.sampled_from([1, 2, 99, 999, 1000, 1969, 1970, 2026, 2038, 9998, 9999]) | st.integers(1, 9999))
    month = draw(st.sampled_from([1, 2, 12]) | st.integers(1, 12))
    day = draw(st.sampled_from([1, 28, 29, 30, 31]) | st.integers(1, 31))
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if draw(st.booleans()):
        return text
    hour = draw(st.sampled_from([0, 23, 24]) | st.integers(0, 23))
    minute, second = draw(st.sampled_from([0, 59]) | st.integers(0, 59)), draw(st.sampled_from([0, 59, 60]))
    fraction = draw(st.sampled_from(["", ".0", ".123456", ".9999999", ".12345678901"]))
    separator = draw(st.sampled_from(["T", "t", " "]))
    return f"{text}{separator}{hour:02d}:{minute:02d}:{second:02d}{fraction}{draw(st.sampled_from(OFFSETS))}"


extreme_times = st.one_of(
    st.sampled_from(EDGE_DATES),
    iso_times(),
    st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=st.sampled_from(WIDE_ZONES)).map(
        datetime.isoformat
    ),
)
EM_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$")  # EM: yyyy-MM-ddTHH:mm:ssZ
FILTER_TIME = re.compile(r'CreationTime[<>=!]+"([^"]*)"')


def date_arguments(tool: Tool) -> list[str]:
    """The arguments that take a date or time: created_after/created_before, or described as ISO 8601."""
    properties: dict[str, Any] = tool.input_schema.get("properties", {})
    return [
        name
        for name, schema in properties.items()
        if name.startswith("created_") or "ISO 8601" in str(schema.get("description", ""))
    ]


def utc_year(text: Any) -> int | None:
    """The UTC year a date argument stands for, read the way the tools document it (no offset means UTC)."""
    if not isinstance(text, str):
        return None
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw + "T00:00:00" if len(raw) == 10 else raw)
        return (value if value.tzinfo is None else value.astimezone(UTC)).year
    except (ValueError, OverflowError):
        return None


def times_sent(requests: list[tuple[str, str]]) -> list[str]:
    """Every time a request put into an EM filter."""
    from urllib.parse import unquote

    return [found for _, path in requests for found in FILTER_TIME.findall(unquote(path))]


def test_date_arguments_are_found(harness: Harness) -> None:
    # The discovery the date fuzzer relies on: a tool whose dates it missed would go unfuzzed.
    assert date_arguments(harness.tools["find_vm_restore_points"]) == ["created_after", "created_before"]


@pytest.mark.parametrize("name", tool_names())
def test_fuzz_extreme_dates(harness: Harness, name: str) -> None:
    if name not in harness.tools or not (dates := date_arguments(harness.tools[name])):
        pytest.skip(f"{name} takes no date argument")
    tool = harness.tools[name]
    validator = output_validator(tool)
    required = [arg for arg in tool.input_schema.get("required", []) if arg not in dates]
    # Besides the dates, a VM that has points (so that valid windows reach EM and come back with results).
    others = {arg: st.just("sql01") for arg in required}
    optional: dict[str, st.SearchStrategy[Any]] = {arg: extreme_times for arg in dates}
    if "vm_name" in tool.input_schema.get("properties", {}) and "vm_name" not in required:
        optional["vm_name"] = st.sampled_from(["sql01", "exchange01"])
    cases = st.fixed_dictionaries(others, optional=optional).filter(lambda a: any(arg in a for arg in dates))

    @FUZZ_SETTINGS
    @given(arguments=cases)
    def fuzz(arguments: dict[str, Any]) -> None:
        before = len(harness.requests)
        check_outcome(name, arguments, harness.call(name, arguments), validator)
        # Whatever reached EM carries its times in EM's format (a year is four digits).
        for sent in times_sent(harness.requests[before:]):
            assert EM_TIME.match(sent), f"{arguments!r} sent {sent!r} to EM"

    fuzz()
    assert CASES[name, "ok"] and CASES[name, "error"], dict(CASES)


@pytest.mark.parametrize("value", ISSUE_10_DATES)
@pytest.mark.parametrize("argument", ["created_after", "created_before"])
def test_issue_10_dates_are_refused_before_any_request(harness: Harness, argument: str, value: str) -> None:
    before = len(harness.requests)
    result = harness.call("find_vm_restore_points", {"vm_name": "sql01", argument: value})
    text = result_text(result)
    assert result.is_error and INTERNAL_ERROR not in text, text
    assert argument in text and value in text, text  # says which argument, and what was wrong with it
    assert harness.requests[before:] == [], "refused before anything is sent to EM"


# Found by this suite: em_time() wrote years before 1000 with strftime("%Y"), which glibc does not pad
# ("1-01-02T00:00:00Z"): an internal error, or a filter EM cannot read (400 "Cannot convert ... to DateTime").


def test_dates_before_year_1000_reach_the_model_cleanly(harness: Harness) -> None:
    result = harness.call("find_vm_restore_points", {"created_after": "0001-01-02", "created_before": "0002-01-01"})
    assert INTERNAL_ERROR not in result_text(result), result_text(result)


def test_dates_before_year_1000_reach_em_in_its_format(harness: Harness) -> None:
    before = len(harness.requests)
    harness.call("find_vm_restore_points", {"vm_name": "sql01", "created_after": "0999-06-01T00:00:00Z"})
    sent = times_sent(harness.requests[before:])
    assert sent and all(EM_TIME.match(time_text) for time_text in sent), sent


# --- issue 10: forged cursors --------------------------------------------------------------------------------


def read_cursor(cursor: str) -> tuple[str, dict[str, Any]]:
    """A cursor's search name and payload (what encode_cursor was given)."""
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert isinstance(data, dict) and isinstance(data.get("t"), str), data
    search = data.pop("t")
    data.pop("v")
    return search, data


def forge(search: str, payload: dict[str, Any]) -> str:
    """A cursor made with the product's own encode_cursor; one holding a lone surrogate, as a forger writes it.

    encode_cursor writes UTF-8, which cannot hold a lone surrogate; JSON can (``"\\ud800"``), and that is what
    a client that decodes, edits and re-encodes a cursor sends back.
    """
    try:
        return encode_cursor(search, payload)
    except UnicodeEncodeError:
        raw = json.dumps({"v": 1, "t": search, **payload}, separators=(",", ":"))  # ASCII, surrogates escaped
        return base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii").rstrip("=")


lone_surrogates = st.builds(
    lambda before, surrogate, after: before + surrogate + after,
    st.text(max_size=4),
    st.characters(categories=["Cs"]),
    st.text(max_size=4),
)
crafted_values = st.one_of(
    lone_surrogates,
    st.sampled_from([2**31, 2**63, -(2**63), 10**30, 10**300, -1, 0, 1, 1.5, 1e308, -1e308, True, False, None]),
    st.sampled_from(["", "sql01", "Full", "VMware", "x" * 2000, "2026-11-20T00:00:00Z", [], {}, ["Full"], [1]]),
    st.sampled_from([f"{SIM_ORIGIN}/api/backupServers", "http://evil.example/api/jobs", "/api/../etc/passwd"]),
    extreme_times,
    any_json,
)


def paths_of(payload: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every key of the payload, and of the objects in it (a cursor's query ``q`` is one)."""
    found: list[tuple[str, ...]] = []
    for key, value in payload.items():
        found.append((key,))
        if isinstance(value, dict):
            found += [(key, inner) for inner in value]
    return found


@st.composite
def forged_cursors(draw: st.DrawFn, real: dict[str, str], tool: str) -> str:
    """A real cursor of ``tool`` (or of another tool), decoded, altered in one to three places, encoded again."""
    search, payload = read_cursor(real[draw(st.sampled_from(sorted(real)))] if draw(st.booleans()) else real[tool])
    payload = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(payload)
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add", "version", "search"]))
        if action in ("set", "delete") and paths:
            *parents, last = draw(st.sampled_from(paths))
            holder = payload[parents[0]] if parents else payload
            if action == "delete":
                del holder[last]
            else:
                holder[last] = draw(crafted_values)
        elif action == "version":
            payload["v"] = draw(crafted_values)  # encode_cursor lets the payload override the version
        elif action == "search":
            search = draw(st.sampled_from([read_cursor(c)[0] for c in real.values()] + ["", "jobs"]) | st.text())
        else:
            payload[draw(st.sampled_from(["q", "p", "s", "h", "o", "x"]) | st.text(max_size=4))] = draw(crafted_values)
    return forge(search, payload)


@pytest.mark.parametrize("name", CURSOR_TOOLS)
def test_fuzz_forged_cursors(harness: Harness, name: str) -> None:
    assert name in harness.real_cursors, f"{name} gave no cursor to forge"  # every cursor tool does
    tool = harness.tools[name]
    validator = output_validator(tool)

    @FUZZ_SETTINGS
    @given(cursor=forged_cursors(harness.real_cursors, name))
    def fuzz(cursor: str) -> None:
        check_outcome(name, {"cursor": cursor}, harness.call(name, {"cursor": cursor}), validator)

    fuzz()
    assert CASES[name, "error"], dict(CASES)


def issue_10_cursors(harness: Harness, name: str) -> dict[str, str]:
    """The hand-made bad cursors of issue 10 for ``name``: each must be refused before any request."""
    search, payload = read_cursor(harness.real_cursors[name])
    other = next(cursor for tool, cursor in harness.real_cursors.items() if tool != name)
    cases = {"another tool's cursor": other, "an unknown version": forge(search, {**payload, "v": 2})}
    if "q" in payload:  # find_vm_restore_points: its query travels in the cursor
        for field, value in (("vm_name", "sql01\ud800"), ("vm_name", 42), ("page_size", 10**30), ("until", [])):
            cases[f"q.{field}={value!r}"] = forge(search, {**payload, "q": {**payload["q"], field: value}})
        cases["s=10**30"] = forge(search, {**payload, "s": 10**30})
        cases["p=-1"] = forge(search, {**payload, "p": -1})
    if "a" in payload:  # the estate tools: their arguments and the kept answer's id travel in the cursor
        for value in (0, 100_000, -5, "50", None):
            cases[f"a.page_size={value!r}"] = forge(search, {**payload, "a": {**payload["a"], "page_size": value}})
        cases["a.unknown argument"] = forge(search, {**payload, "a": {**payload["a"], "x": 1}})
        cases["s unknown"] = forge(search, {**payload, "s": "A" * 24})
        cases["s short"] = forge(search, {**payload, "s": "x"})
        cases["o=-1"] = forge(search, {**payload, "o": -1})
        cases["o=10**30"] = forge(search, {**payload, "o": 10**30})
    if "h" in payload:  # follow_link: the URL to continue with travels in the cursor
        cases["h off EM"] = forge(search, {**payload, "h": "http://evil.example/api/jobs"})
        cases["h with a lone surrogate"] = forge(search, {**payload, "h": payload["h"] + "\udfff"})
        cases["o=-1"] = forge(search, {**payload, "o": -1})
        cases["o='3'"] = forge(search, {**payload, "o": "3"})
    return cases


@pytest.mark.parametrize("name", CURSOR_TOOLS)
def test_issue_10_cursors_are_refused_before_any_request(harness: Harness, name: str) -> None:
    if len(harness.real_cursors) < 2:
        pytest.skip("needs both tools' cursors")
    for case, cursor in issue_10_cursors(harness, name).items():
        before = len(harness.requests)
        result = harness.call(name, {"cursor": cursor})
        text = result_text(result)
        assert result.is_error and INTERNAL_ERROR not in text, f"{case}: {text}"
        assert "cursor" in text.lower() or "refused" in text.lower(), f"{case}: {text}"
        assert harness.requests[before:] == [], f"{case}: a request reached EM"


# --- issue 10: completion prefixes ---------------------------------------------------------------------------

long_prefixes = st.builds(
    lambda piece, length: (piece * (length // len(piece) + 1))[:length],
    st.text(min_size=1, max_size=8) | lone_surrogates,
    st.sampled_from([MAX_PREFIX_CHARS + 1, 4096, 65536, 1 << 20]) | st.integers(MAX_PREFIX_CHARS + 1, 1 << 20),
)


def check_completion(prefix: str, result: CompleteResult) -> None:
    values = result.completion.values
    assert len(values) <= MAX_COMPLETIONS
    assert all(value.casefold().startswith(prefix.casefold()) for value in values), (prefix[:40], values)


@settings(max_examples=max(10, EXAMPLES // 10), deadline=None, derandomize="FUZZ_EXAMPLES" not in os.environ,
          database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(prefix=long_prefixes)
def test_fuzz_long_completion_prefixes(harness: Harness, prefix: str) -> None:
    before = len(harness.requests)
    result = harness.complete(prefix)
    check_completion(prefix, result)
    assert result.completion.values == []  # no VM name is that long
    assert harness.requests[before:] == [], "a prefix longer than any VM name costs no EM query"


def test_issue_10_megabyte_completion_prefix(harness: Harness) -> None:
    before = len(harness.requests)
    assert harness.complete("x" * (1 << 20)).completion.values == []
    assert harness.requests[before:] == []
    assert "sql01" in harness.complete("sql").completion.values  # and completion still works


def range_queries(requests: list[tuple[str, str]]) -> int:
    return sum(1 for _, path in requests if "VmName%3E%3D" in path or "VmName>=" in path)


real_name_prefixes = st.builds(
    lambda name, length, upper: (name.upper() if upper else name)[:length],
    st.sampled_from(build_dataset(anchor=ANCHOR, vm_count=100).vm_names()),
    st.integers(1, 8),
    st.booleans(),
)
prefix_bursts = st.lists(
    st.one_of(st.text(min_size=1, max_size=12), real_name_prefixes, lone_surrogates), min_size=300, max_size=300
)


def test_fuzz_completion_bursts_cost_bounded_em_queries(large_estate: Harness) -> None:
    started = time.monotonic()
    before = len(large_estate.requests)

    @settings(max_examples=3, deadline=None, derandomize="FUZZ_EXAMPLES" not in os.environ, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(prefixes=prefix_bursts)
    def burst(prefixes: list[str]) -> None:
        for prefix in prefixes:
            check_completion(prefix, large_estate.complete(prefix))

    burst()
    elapsed = time.monotonic() - started
    sent = [entry for entry in large_estate.requests[before:] if entry[0] == "GET"]
    ranges = range_queries(sent)
    # The sample of names is one query per NAME_CACHE_SECONDS (300 s); range queries are rate-limited per minute.
    allowed = RANGE_QUERIES_PER_MINUTE * (1 + int(elapsed // 60))
    assert 1 <= ranges <= allowed, f"{ranges} range queries for 900 prefixes in {elapsed:.0f} s (at most {allowed})"
    assert len(sent) - ranges <= 1 + int(elapsed // 300), sent
