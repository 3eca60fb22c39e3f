"""The fault matrix: every fault the simulator can inject, against every MCP tool, over a real loopback socket.

Each case states the exact outcome: success (after retries or a re-logon) or the exact ToolError text, or for
``check_connection`` (which reports rather than fails) the diagnosis it must give. Each case also asserts how
often the fault fired, so a case cannot pass because its fault never matched, and that the very next call
succeeds: a fault must never leave the server broken. Retry delays and timeouts are tiny so the matrix is fast.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client

from veeam_em_mcp.simulator.dataset import build_dataset
from veeam_em_mcp.simulator.faults.spec import Fault, FaultSpecError, parse_fault
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.simulator.runner import main as simulator_main
from veeam_em_mcp.surface.server import build_server

from .conftest import ANCHOR, SQL01_POINT, McpFactory, make_settings

pytestmark = pytest.mark.anyio
MB = 1024 * 1024
CAP = 2 * MB  # the client's response cap in the matrix: far below the huge bodies, far above real answers


_FACTS = build_dataset(anchor=ANCHOR).facts  # the same deterministic estate the simulator below serves


def sample_arguments(origin: str) -> dict[str, dict[str, Any]]:
    """Valid arguments for every tool; a tool without an entry here fails ``test_every_tool_has_samples``."""
    return {
        "get_vm_restore_point": {"restore_point_id": SQL01_POINT},
        "follow_link": {"href": f"{origin}/api/vmRestorePoints/{SQL01_POINT}"},
        "find_vm_restore_points": {"vm_name": "sql01", "page_size": 5},
        "vm_recovery_summary": {"vm_name": "sql01"},
        "check_connection": {},
        "find_job_sessions": {"job_name": "SQL Backup"},
        "get_job_session": {"session_id": _FACTS.all_failed_session_id},
        "find_task_sessions": {"vm_name": "sql01"},
        "list_jobs": {},
        "list_repositories": {},
        "protection_report": {"job_name": "SQL Backup"},
        "find_restore_sessions": {"created_after": "2020-01-01"},
        "list_backup_servers": {},
        "list_tenants": {},
    }


TOOLS = list(sample_arguments(""))


@pytest.fixture(autouse=True)
def no_faults_left(em: RunningSimulator) -> Iterator[None]:
    em.state.faults.clear()
    yield
    em.state.faults.clear()


_SERVERS: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}


@asynccontextmanager
async def session(em: RunningSimulator, **env: Any) -> AsyncIterator[Client]:
    """A fresh MCP session (so a fresh EM client, logged off) on a server built once per configuration."""
    merged = {"VEEAM_EM_TIMEOUT": "1", "VEEAM_EM_MAX_RESPONSE_BYTES": str(CAP), **{k: str(v) for k, v in env.items()}}
    key = (em.base_url, tuple(sorted(merged.items())))
    if key not in _SERVERS:
        _SERVERS[key] = build_server(make_settings(em.base_url, env=merged), retry_base_delay=0.01)
    async with Client(_SERVERS[key]) as client:
        yield client


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


_VALIDATORS: dict[str, Any] = {}


async def assert_ok(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    if tool not in _VALIDATORS:  # building a validator checks the schema itself: once per tool, not per call
        schema = next(t for t in (await client.list_tools()).tools if t.name == tool).output_schema or {}
        _VALIDATORS[tool] = jsonschema.validators.validator_for(schema)(schema)
    _VALIDATORS[tool].validate(result.structured_content)
    data = dict(result.structured_content or {})
    if tool == "check_connection":
        assert data["ok"] is True, data
    return data


# --- expected outcomes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ok:
    """The call succeeds (the client retried or logged on again)."""


@dataclass(frozen=True)
class Fails:
    """A ToolError whose whole text matches ``pattern`` ({origin} is the simulator's origin)."""

    pattern: str


@dataclass(frozen=True)
class Diagnoses:
    """check_connection's report: its first non-ok check, that check's status and summary."""

    check: str
    status: str
    summary: str
    ok: bool = False
    regex: bool = False  # summary is a pattern the whole summary must match


Outcome = Ok | Fails | Diagnoses


@dataclass(frozen=True)
class Case:
    id: str
    spec: str
    fired: int
    tools: Outcome
    check_connection: Outcome
    env: dict[str, Any] = field(default_factory=dict)
    # The tools that read whole query windows, when they fare otherwise: a page over the response cap is asked
    # for again in smaller pages (the model cannot change a cap), so a one-off huge answer is read past.
    windows: Outcome | None = None
    # The fault's COUNT stands for one request's attempts (a fault that persists): for the tools whose first
    # requests go out side by side it is limited to the runs' query, so that it meets one request, not several.
    one_request: bool = False


# Tools whose first requests go out side by side (the window's runs, its tasks or jobs, replication, the report's every read).
SIDE_BY_SIDE = frozenset({"find_job_sessions", "find_task_sessions", "list_jobs", "protection_report"})
WINDOW_TOOLS = frozenset({"find_job_sessions", "find_task_sessions", "list_jobs", "protection_report",
                          "list_repositories", "find_restore_sessions", "list_backup_servers", "list_tenants"})


PATH = r"/api/\S+"
LOGON = re.escape("/api/sessionMngr/?v=latest")
RETRY_LATER = re.escape(" It may be overloaded or restarting; try again in a minute, and check the EM server if it persists.")
TIMED_OUT = re.escape(". It may be overloaded or unreachable; try again later, or raise VEEAM_EM_TIMEOUT.")
BROKE = (
    r"The connection to Enterprise Manager at {origin} broke during the answer \(RemoteProtocolError\)\. "
    r"EM may be restarting; try again\."
)
NOT_EM = (
    r"{origin} does not behave like the Veeam Backup Enterprise Manager REST API \(%s\)\. Check VEEAM_EM_URL: EM's "
    r"REST API is on HTTPS port 9398 \(9399 for HTTP on old versions\); the Veeam Backup & Replication REST API on "
    r"port 9419 is a different API\."
)
TOO_LARGE = (
    r"Enterprise Manager's answer for %s is larger than 2097152 bytes \(at least %s\); stopped reading\. Ask for less "
    r"\(a narrower filter or a smaller page\), or raise VEEAM_EM_MAX_RESPONSE_BYTES\."
)
COMPRESSED = (
    r"Enterprise Manager's answer for %s is compressed \(Content-Encoding: gzip\) although this server asked for "
    r"none; refused, because a compressed answer can expand far beyond VEEAM_EM_MAX_RESPONSE_BYTES before its size "
    r"is known\. A proxy between this server and EM may be compressing: exempt EM's REST API \(port 9398\) from "
    r"compression\."
)
TOO_LARGE_FIRST = r"Enterprise Manager's answer for /api/ is larger than 2097152 bytes \(at least %s\); stopped reading"
DTD = re.escape("Enterprise Manager's XML declares a DTD or entities; refused to parse it.")
NOT_ENTRY = r"{origin}/api/ answered HTTP %s, not EM's entry document"
BROKE_SUMMARY = "The connection to Enterprise Manager at {origin} broke during the answer (RemoteProtocolError)"


def server_error(status: int, path: str, said: str | None) -> str:
    em_said = f" EM said: {re.escape(said)}" if said else ""
    return f"Enterprise Manager failed with HTTP {status} for {path}\\.{em_said}{RETRY_LATER}"


UNAVAILABLE = "The service is unavailable (simulated fault)."
CASES = [
    # latency: one slow answer is retried; a slow answer every time ends with the timeout error
    Case("latency-once", "latency=0.45:1,method=GET", 1, Ok(), Ok(), {"VEEAM_EM_TIMEOUT": 0.3}),
    Case(
        "latency-persistent", "latency=0.45:3,method=GET", 3,
        Fails(f"Enterprise Manager did not answer {PATH} within 0\\.3 s{TIMED_OUT}"),
        Diagnoses("reachable", "error", "Enterprise Manager did not answer /api/ within 0.3 s"),
        {"VEEAM_EM_TIMEOUT": 0.3}, one_request=True,
    ),
    # slow logon: slow is fine; slower than the timeout fails once (a logon is never retried)
    Case("slow-logon", "slow-logon=0.1:1", 1, Ok(), Ok(), {"VEEAM_EM_TIMEOUT": 0.3}),
    Case(
        "slow-logon-timeout", "slow-logon=0.45:1", 1,
        Fails(f"Enterprise Manager did not answer {LOGON} within 0\\.3 s{TIMED_OUT}"),
        Diagnoses("logon", "error", "Enterprise Manager did not answer /api/sessionMngr/?v=latest within 0.3 s"),
        {"VEEAM_EM_TIMEOUT": 0.3},
    ),
    # bursts of 502/503/504 shorter than the retry budget (3 attempts) are absorbed
    Case("503-burst-2", "status=503:2,method=GET", 2, Ok(), Ok()),
    Case("502-burst-2", "status=502:2,method=GET", 2, Ok(), Ok()),
    Case("504-burst-2", "status=504:2,method=GET", 2, Ok(), Ok()),
    Case(
        "503-burst-3", "status=503:3,method=GET", 3,
        Fails(server_error(503, PATH, UNAVAILABLE)),
        Diagnoses("api", "error", "{origin}/api/ answered HTTP 503 (" + UNAVAILABLE + "), not EM's entry document"),
        one_request=True,
    ),
    Case(
        "504-burst-3", "status=504:3,method=GET", 3,
        Fails(server_error(504, PATH, "Gateway timeout: the upstream Enterprise Manager did not answer in time "
                                      "(simulated fault).")),
        Diagnoses("api", "error", "{origin}/api/ answered HTTP 504 (Gateway timeout: the upstream Enterprise "
                                  "Manager did not answer in time (simulated fault).), not EM's entry document"),
        one_request=True,
    ),
    Case(
        "503-http-sys-page", "status=503:3,method=GET,variant=html", 3,
        Fails(server_error(503, PATH, None)),
        Diagnoses("api", "error", "{origin}/api/ answered with an HTML page (HTTP 503): a web UI or a proxy's "
                                  "sign-in page, not the EM REST API"),
        one_request=True,
    ),
    # 500 is EM failing, not a gateway: not retried (fired exactly once)
    Case(
        "500-once", "status=500:1,method=GET", 1,
        Fails(server_error(500, PATH, "An internal error occurred on the Enterprise Manager server (simulated "
                                      "fault).")),
        Diagnoses("api", "error", "{origin}/api/ answered HTTP 500 (An internal error occurred on the Enterprise "
                                  "Manager server (simulated fault).), not EM's entry document"),
    ),
    # a 503 at logon: POST is never retried
    Case(
        "503-at-logon", "status=503:3,method=POST", 1,
        Fails(server_error(503, LOGON, UNAVAILABLE)),
        Diagnoses("logon", "error", "Enterprise Manager failed with HTTP 503 for /api/sessionMngr/?v=latest"),
    ),
    # connections cut mid-answer (chunked, or Content-Length larger than the body) are retried like 503s
    Case("drop-once", "drop:1,method=GET", 1, Ok(), Ok()),
    Case(
        "drop-persistent", "drop:3,method=GET", 3, Fails(BROKE), Diagnoses("reachable", "error", BROKE_SUMMARY),
        one_request=True,
    ),
    Case("truncate-once", "truncate:1,method=GET", 1, Ok(), Ok()),
    Case(
        "truncate-persistent", "truncate:3,method=GET", 3, Fails(BROKE), Diagnoses("reachable", "error", BROKE_SUMMARY),
        one_request=True,
    ),
    # bodies that cannot be read: never retried (a 200 is an answer), clearly reported
    Case(
        "malformed-xml", "malformed:1,method=GET", 1,
        Fails(r"Enterprise Manager sent malformed XML \((unclosed token|no element found): line \d+, column \d+\)\."),
        Diagnoses("api", "error", NOT_ENTRY % "200 (application/xml; charset=utf-8)"),
        {"VEEAM_EM_BULK_FORMAT": "xml"},  # window reads too (they ask for JSON by default)
    ),
    Case(
        "malformed-json", "malformed:1,method=GET", 1,
        Fails(r"Enterprise Manager sent malformed JSON \([^)]+ at line \d+ column \d+\)\."),
        Diagnoses("api", "error", NOT_ENTRY % "200 (application/json; charset=utf-8)"),
        {"VEEAM_EM_FORMAT": "json"},
    ),
    Case(
        "malformed-binary", "malformed=binary:1,method=GET", 1,
        Fails(re.escape("Enterprise Manager's answer is not valid UTF-8 (invalid start byte at byte 0).")),
        Diagnoses("api", "error", NOT_ENTRY % "200 (application/xml; charset=utf-8)"),
    ),
    # an HTML page with 200: a wrong port or a proxy's sign-in page, on a read or at the logon
    Case(
        "html-200", "html:1,method=GET", 1,
        Fails(NOT_EM % "it answered with an HTML page"),
        Diagnoses("api", "error", "{origin}/api/ answered with an HTML page (HTTP 200): a web UI or a proxy's "
                                  "sign-in page, not the EM REST API"),
    ),
    Case(
        "html-at-logon", "html:1,method=POST", 1,
        Fails(NOT_EM % "logon answered 200 without a session token"),
        Diagnoses("logon", "error", "{origin} does not behave like the Veeam Backup Enterprise Manager REST API "
                                    "(logon answered 200 without a session token)"),
    ),
    # hundreds of MB: the client stops at its cap; check_connection reports it as a failed api check
    Case("huge-streamed", "huge=300MB:1,method=GET", 1, Fails(TOO_LARGE % (PATH, r"\d+")),
         Diagnoses("api", "error", TOO_LARGE_FIRST % r"\d+", regex=True), windows=Ok()),
    Case("huge-declared", "huge=300MB:1,method=GET,length=declared", 1, Fails(TOO_LARGE % (PATH, "314572800")),
         Diagnoses("api", "error", TOO_LARGE_FIRST % "314572800", regex=True), windows=Ok()),
    Case("huge-gzip-bomb", "huge=1GB:1,method=GET,encoding=gzip", 1, Fails(COMPRESSED % PATH),
         Diagnoses("api", "error", "Enterprise Manager's answer for /api/ is compressed (Content-Encoding: gzip)")),
    # XML with entity declarations is refused before any parsing, wherever the DTD sits
    *[
        Case(f"entities-{variant}", f"entities={variant}:1,method=GET", 1, Fails(DTD),
             Diagnoses("api", "error", NOT_ENTRY % "200 (application/xml; charset=utf-8)"))
        for variant in ("laughs", "external", "parameter", "late")
    ],
    # session expiry at any moment: one re-logon and a retry; expiring again at once is reported
    Case("expire-once", "expire:1", 1, Ok(), Ok()),
    Case(
        "expire-twice", "expire:2", 2,
        Fails(re.escape("Enterprise Manager rejected a freshly created session (401). The account may have lost its "
                        "role, or EM is restarting; check the account and try again.")),
        Diagnoses("access", "warning", "querying restore points failed: Enterprise Manager rejected a freshly "
                                       "created session (401)", ok=True),
        one_request=True,
    ),
]


async def test_every_tool_has_samples(em: RunningSimulator) -> None:
    async with session(em) as client:
        present = {tool.name for tool in (await client.list_tools()).tools}
    assert present <= set(TOOLS), f"add sample arguments for {sorted(present - set(TOOLS))}"


def test_every_fault_kind_is_in_the_matrix() -> None:
    kinds = {parse_fault(case.spec).kind for case in CASES}
    assert kinds == {"latency", "slow-logon", "status", "drop", "truncate", "malformed", "html", "huge", "entities",
                     "expire"}


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_fault_matrix(em: RunningSimulator, case: Case, tool: str) -> None:
    arguments = sample_arguments(em.base_url)[tool]
    expected = case.check_connection if tool == "check_connection" else case.tools
    if tool in WINDOW_TOOLS and case.windows is not None:
        expected = case.windows
    async with session(em, **case.env) as client:
        assert tool in {t.name for t in (await client.list_tools()).tools}, f"{tool} is not registered"
        spec = f"{case.spec},type=BackupJobSession" if case.one_request and tool in SIDE_BY_SIDE else case.spec
        (fault,) = em.state.faults.set(spec)
        with anyio.fail_after(15):
            result = await client.call_tool(tool, arguments)
        assert fault.fired == case.fired, f"{spec} fired {fault.fired} times"
        text = text_of(result)
        if isinstance(expected, Fails):
            assert result.is_error, text
            pattern = re.escape(f"Error executing tool {tool}: ") + expected.pattern.replace(
                "{origin}", re.escape(em.base_url)
            )
            assert re.fullmatch(pattern, text), f"\n{text}\n!~\n{pattern}"
        elif isinstance(expected, Diagnoses):
            assert not result.is_error, text
            report = result.structured_content or {}
            assert report["ok"] is expected.ok
            first = next(c for c in report["checks"] if c["status"] != "ok")
            summary = expected.summary.replace("{origin}", em.base_url)
            assert (first["name"], first["status"]) == (expected.check, expected.status)
            if expected.regex:
                assert re.fullmatch(summary, first["summary"]), first["summary"]
            else:
                assert first["summary"] == summary
        else:
            assert not result.is_error, text
            if tool == "check_connection":
                assert (result.structured_content or {})["ok"] is True
        em.state.faults.clear()  # a fault never outlives its case, even if it fired fewer times than allowed
        with anyio.fail_after(10):
            await assert_ok(client, tool, arguments)


# --- the rules behind the matrix ----------------------------------------------------------------------------


async def test_logon_is_never_retried(em: RunningSimulator) -> None:
    async with session(em) as client:
        em.state.faults.set("status=503,method=POST")
        before = len(em.state.request_log)
        result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        assert result.is_error
        posts = [entry for entry in em.state.request_log[before:] if entry[0] == "POST"]
        assert len(posts) == 1


async def test_wrong_password_is_tried_once(em: RunningSimulator) -> None:
    async with session(em, VEEAM_EM_PASSWORD="wrong-password") as client:
        before = em.state.failed_logons
        results = {tool: await client.call_tool(tool, sample_arguments(em.base_url)[tool]) for tool in TOOLS}
    # Then the logon backs off (docs/resilience.md): every tool, check_connection included, gets the same answer.
    for tool, result in results.items():
        if tool == "check_connection":
            assert (result.structured_content or {})["ok"] is False
        else:
            assert result.is_error and "rejected the logon" in text_of(result)
            assert "no logon is tried before" in text_of(result)
    assert em.state.failed_logons == before + 1


async def test_retry_budget_is_configurable(em: RunningSimulator) -> None:
    async with session(em, VEEAM_EM_RETRIES=5) as client:
        (fault,) = em.state.faults.set("status=503:4,method=GET")
        await assert_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        assert fault.fired == 4
    async with session(em, VEEAM_EM_RETRIES=1) as client:
        (fault,) = em.state.faults.set("drop:1,method=GET")
        result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        assert result.is_error and "broke during the answer" in text_of(result)
        assert fault.fired == 1


async def test_concurrent_requests_are_limited(em: RunningSimulator) -> None:
    async with session(em, VEEAM_EM_MAX_CONCURRENCY=2) as client:
        await assert_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT})  # logged on
        em.state.faults.set("latency=0.15,method=GET")
        em.state.faults.max_in_flight = 0
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                for _ in range(8):
                    group.start_soon(assert_ok, client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT})
    # Exactly the limit: more would overload EM, fewer would mean the calls did not run concurrently at all.
    assert em.state.faults.max_in_flight == 2


async def test_huge_body_stops_being_read_at_the_default_cap(em: RunningSimulator) -> None:
    settings = make_settings(em.base_url)  # the default 16 MB cap
    async with Client(build_server(settings, retry_base_delay=0.01)) as client:
        (fault,) = em.state.faults.set("huge=400MB:1,method=GET")
        with anyio.fail_after(20):
            result = await client.call_tool("follow_link", {"href": f"{em.base_url}/api/vmRestorePoints"})
    assert result.is_error and "larger than 16777216 bytes" in text_of(result)
    # The client closed the connection at its cap; the server generated little beyond it, never 400 MB.
    assert 16 * MB < fault.bytes_sent < 64 * MB


async def test_session_expiring_between_pages_of_a_query(em: RunningSimulator) -> None:
    async with session(em) as client:
        first = await assert_ok(client, "find_vm_restore_points", {"vm_name": "sql01", "page_size": 5})
        assert first["next_cursor"]
        logons = em.state.logons
        (fault,) = em.state.faults.set("expire:1")
        second = await assert_ok(client, "find_vm_restore_points", {"cursor": first["next_cursor"]})
    assert fault.fired == 1 and em.state.logons == logons + 1
    assert second["page"] == 2
    assert {p["id"] for p in first["restore_points"]}.isdisjoint({p["id"] for p in second["restore_points"]})


async def test_external_entities_are_never_fetched(em: RunningSimulator) -> None:
    with RunningSimulator(dataset=build_dataset(vm_count=1, days=1)) as other:
        async with session(em) as client:
            for variant in ("external", "parameter"):
                em.state.faults.set(f"entities={variant}:1,method=GET,url={other.base_url}/api/")
                result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
                assert result.is_error and "declares a DTD or entities" in text_of(result)
        assert other.state.request_log == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("status=503:3,method=GET", "failed with HTTP 503"),
        ("status=503:2,method=GET", None),
        ("latency=0.05:1,method=GET", None),
        ("expire:1", None),
        ("html:1,method=GET", "answered with an HTML page"),
        ("malformed:1,method=GET", "sent malformed XML"),
        ("entities=laughs:1,method=GET", "declares a DTD or entities"),
    ],
)
async def test_faults_in_process_through_asgi(mcp_session: McpFactory, sim_app: Any, spec: str,
                                              expected: str | None) -> None:
    """The same faults without a socket (tests that use the in-process simulator can inject them too)."""
    async with mcp_session() as client:
        (fault,) = sim_app.state.sim.faults.set(spec)
        result = await client.call_tool("get_vm_restore_point", {"restore_point_id": SQL01_POINT})
        assert fault.fired >= 1
        if expected is None:
            assert not result.is_error, text_of(result)
        else:
            assert result.is_error and expected in text_of(result)
        sim_app.state.sim.faults.clear()
        await assert_ok(client, "get_vm_restore_point", {"restore_point_id": SQL01_POINT})


# --- the fault specs themselves -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("latency=2.0", Fault(kind="latency", seconds=2.0)),
        ("status=503:3", Fault(kind="status", status=503, count=3)),
        ("status=502,count=2,method=get,path=/api/vmRestorePoints",
         Fault(kind="status", status=502, count=2, method="GET", path="/api/vmRestorePoints")),
        ("drop:2", Fault(kind="drop", count=2)),
        ("slow-logon=5", Fault(kind="slow-logon", seconds=5.0, method="POST", path="/api/sessionMngr")),
        ("huge=400MB,length=declared", Fault(kind="huge", size=400 * MB, declare_length=True)),
        ("huge=1GB:1,encoding=gzip", Fault(kind="huge", size=1024 * MB, gzip=True, count=1)),
        ("entities=external,url=http://127.0.0.1:1/x", Fault(kind="entities", variant="external",
                                                              url="http://127.0.0.1:1/x")),
        ("expire:1,after=10", Fault(kind="expire", count=1, after=10)),
        ("malformed=binary", Fault(kind="malformed", variant="binary")),
    ],
)
def test_fault_specs_parse(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault


@pytest.mark.parametrize(
    "spec", ["nonsense", "status=200", "status=abc", "latency=-1", "drop=5", "entities=lots", "status=503,bogus=1",
             "huge=many"]
)
def test_bad_fault_specs_are_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_fault(spec)


def test_command_line_documents_and_checks_faults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as shown:
        simulator_main(["--help"])
    assert shown.value.code == 0
    help_text = capsys.readouterr().out
    for kind in ("latency", "slow-logon", "status", "drop", "truncate", "malformed", "html", "huge", "entities",
                 "expire"):
        assert kind in help_text
    with pytest.raises(SystemExit) as refused:
        simulator_main(["--fault", "status=200"])
    assert refused.value.code == 2
    assert "--fault: status must be an HTTP error code" in capsys.readouterr().err


def test_after_lets_requests_through_first() -> None:
    from veeam_em_mcp.simulator.faults.fault_set import FaultSet

    faults = FaultSet(["status=503:1,after=2,method=GET"])
    taken = [bool(faults.take("GET", "/api/jobs", True)) for _ in range(4)]
    assert taken == [False, False, True, False]
    assert faults.take("POST", "/api/sessionMngr", False) == []
